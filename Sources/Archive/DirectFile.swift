import CArcaIO
import DICOM
import Dispatch
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Page-aligned staging buffers for `DirectFile`, kept for reuse: a new buffer per instance would fault in
/// fresh pages each time, which on this kind of virtual machine costs as much as the copy it replaces.
public final class AlignedBufferPool: Sendable {
    /// Bytes per buffer, a multiple of `DirectFile.alignment`: one direct write each time a buffer fills.
    public let bufferSize: Int
    /// 512 KiB: also the largest journal record (a record fills one buffer).
    public static let defaultBufferSize = 512 << 10
    private let maxKept: Int
    private let free = NIOLockedValueBox<[UnsafeMutableRawPointerBox]>([])

    public init(bufferSize: Int = defaultBufferSize, maxKept: Int = 16) {
        self.bufferSize = max(DirectFile.alignment, bufferSize / DirectFile.alignment * DirectFile.alignment)
        self.maxKept = maxKept
    }

    deinit {
        free.withLockedValue { $0.forEach { $0.pointer.deallocate() } }
    }

    func take() -> UnsafeMutableRawPointer {
        if let box = free.withLockedValue({ $0.popLast() }) { return box.pointer }
        return UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: DirectFile.alignment)
    }

    func give(_ pointer: UnsafeMutableRawPointer) {
        let kept = free.withLockedValue { list -> Bool in
            guard list.count < maxKept else { return false }
            list.append(UnsafeMutableRawPointerBox(pointer: pointer))
            return true
        }
        if !kept { pointer.deallocate() }
    }
}

/// A raw pointer owned by the pool while it sits in the free list.
struct UnsafeMutableRawPointerBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// A new file written front to back with O_DIRECT: appended bytes are staged in an aligned buffer, and each
/// full buffer (or the aligned part of what is staged, when the caller has nothing more for now) goes from it to
/// the device on a background queue while the next one fills. A received image is not read again soon, so
/// caching it only costs a copy and page allocations (a third of the server's CPU, measured), and the final
/// fdatasync finds nothing left to write back. The unaligned tail is written through the cache at the end.
/// Where the file system refuses O_DIRECT (tmpfs), the file is written the ordinary way. Not thread-safe.
public struct DirectFile: ~Copyable {
    /// O_DIRECT's alignment for offsets, lengths and memory (4 KiB suits every block device in use).
    public static let alignment = 4096

    public let path: String
    public private(set) var fd: Int32
    /// Bytes appended so far.
    public private(set) var size: UInt64 = 0
    private let pool: AlignedBufferPool?
    /// The buffer being filled (nil: written through the cache).
    private var buffer: UnsafeMutableRawPointer?
    private var staged = 0
    /// File offset of the staged bytes' start (always aligned while direct).
    private var submitted: UInt64 = 0
    private let writes: BackgroundWrites?
    private let observer: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    /// Creates `path` exclusively; `pool` nil (or a file system without O_DIRECT) writes through the cache.
    /// `observer` sees every byte once, in file order, as it is written (on the background queue: a hash).
    /// `feedsTheDevice`: an acknowledgement waits for these writes (a received instance in strict mode, not
    /// the materializer's copy): its writes' queue runs short slices (`ThreadSlice`).
    public init(creating path: String, pool: AlignedBufferPool?, feedsTheDevice: Bool = false,
                observer: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil) throws {
        self.path = path
        self.pool = pool
        self.observer = observer
        var fd: Int32 = -1
        if pool != nil {
            fd = arca_create_direct(path, 0o644)
            if fd < 0 && errno != EINVAL { throw IncomingFile.error("create", path, errno) }
        }
        if fd >= 0, let pool {
            buffer = pool.take()
            writes = BackgroundWrites(pool: pool, feedsTheDevice: feedsTheDevice, observer: observer)
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IncomingFile.error("create", path, errno) }
            writes = nil
        }
        self.fd = fd
    }

    /// Whether the bytes go to the device with O_DIRECT (not through the cache).
    public var isDirect: Bool { writes != nil }

    deinit {
        writes?.waitQuietly()
        if let buffer { pool?.give(buffer) }
        if fd >= 0 { _ = systemClose(fd) }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let pool, buffer != nil, let base = bytes.baseAddress else {
            try writeThroughCache(bytes, at: size)
            // Start writing these pages back now, while the rest arrives.
            _ = arca_start_writeback(fd, Int64(clamping: size), Int64(bytes.count))
            size += UInt64(bytes.count)
            return
        }
        var offset = 0
        while offset < bytes.count, let buffer {
            let n = min(pool.bufferSize - staged, bytes.count - offset)
            (buffer + staged).copyMemory(from: base + offset, byteCount: n)
            staged += n
            offset += n
            if staged == pool.bufferSize { submit(count: staged) }
        }
        size += UInt64(bytes.count)
    }

    /// Hands the aligned part of what is staged to the device, when there is at least `minimum` of it: the
    /// writer calls this whenever no more bytes wait, so the device works while the rest is on its way.
    public mutating func writeStaged(minimum: Int) throws {
        guard buffer != nil else { return }
        let aligned = staged / Self.alignment * Self.alignment
        if aligned >= max(minimum, Self.alignment) { submit(count: aligned) }
    }

    /// Every byte written (not yet synced): waits for the background writes, then the tail through the cache.
    public mutating func writeAll() throws {
        guard let writes, buffer != nil else { return }
        let aligned = staged / Self.alignment * Self.alignment
        if aligned > 0 { submit(count: aligned) }
        try writes.wait(path: path)
        if staged > 0, let current = self.buffer {
            let tail = UnsafeRawBufferPointer(start: current, count: staged)
            guard arca_set_direct(fd, 0) == 0 else { throw IncomingFile.error("fcntl", path, errno) }
            try writeThroughCache(tail, at: submitted)
            submitted += UInt64(staged)
            staged = 0
        }
    }

    /// `writeAll`, fdatasync and close: after this the bytes (and the size) survive a crash.
    public mutating func seal() throws {
        try writeAll()
        guard fdatasync(fd) == 0 else { throw IncomingFile.error("fdatasync", path, errno) }
        close()
    }

    /// After `writeAll`: returns the buffer and hands the open descriptor to the caller (who syncs and closes it).
    public mutating func takeDescriptor() -> Int32 {
        writes?.waitQuietly()
        if let buffer { pool?.give(buffer) }
        buffer = nil
        let taken = fd
        fd = -1
        return taken
    }

    /// Closes the descriptor (once no write is in flight) and returns the buffer (after `seal`, or to give up).
    public mutating func close() {
        writes?.waitQuietly()
        if let buffer { pool?.give(buffer) }
        buffer = nil
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    /// Sends the first `count` staged bytes to the background queue in their buffer, and moves the rest into a
    /// fresh one.
    private mutating func submit(count: Int) {
        guard let writes, let pool, let full = buffer else { return }
        let next = pool.take()
        let rest = staged - count
        if rest > 0 { next.copyMemory(from: full + count, byteCount: rest) }
        writes.submit(fd: fd, buffer: full, count: count, offset: submitted, path: path)
        buffer = next
        staged = rest
        submitted += UInt64(count)
    }

    /// At an explicit offset: the background writes (pwrite) do not move the file position.
    private func writeThroughCache(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        observer?(bytes)
        do { try FileWriter.writeAll(fd, bytes, at: offset, path: path) } catch let e as FileError {
            throw IncomingFile.error("write", path, e.errno)
        }
    }
}

/// The direct writes of one `DirectFile`, in order, on their own queue: at most two buffers in flight (the
/// appender waits for a slot), each given back to the pool once written.
final class BackgroundWrites: @unchecked Sendable {
    private let queue = DispatchQueue(label: "arca.direct-write")
    private let slots = DispatchSemaphore(value: 2)
    /// Writes submitted and not yet done.
    private let inFlight = NIOLockedValueBox(0)
    private let pool: AlignedBufferPool
    private let observer: (@Sendable (UnsafeRawBufferPointer) -> Void)?
    /// An acknowledgement waits for these writes: the queue's thread runs short slices (`ThreadSlice`).
    private let feedsTheDevice: Bool
    /// The first failure (touched only on `queue`).
    private var failure: ArchiveError?

    init(pool: AlignedBufferPool, feedsTheDevice: Bool, observer: (@Sendable (UnsafeRawBufferPointer) -> Void)?) {
        self.pool = pool
        self.feedsTheDevice = feedsTheDevice
        self.observer = observer
    }

    /// `written` runs on the queue once the write succeeded, before the next one starts (the journal counts the
    /// write there, so a flush that follows covers it).
    func submit(fd: Int32, buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64, path: String,
                written: (@Sendable () -> Void)? = nil) {
        slots.wait()
        inFlight.withLockedValue { $0 += 1 }
        let box = UnsafeMutableRawPointerBox(pointer: buffer)
        queue.async {
            if self.feedsTheDevice { ThreadSlice.shortenForTheDevice() }
            defer { self.inFlight.withLockedValue { $0 -= 1 } }
            let bytes = UnsafeRawBufferPointer(start: box.pointer, count: count)
            self.observer?(bytes)
            var succeeded = false
            if self.failure == nil {
                do throws(ArchiveError) {
                    try Self.write(fd: fd, bytes, at: offset, path: path)
                    succeeded = true
                } catch {
                    self.failure = error
                }
            }
            // The buffer and its slot go back before `written`, which may wait for a flush: the appender
            // fills the next buffers meanwhile.
            self.pool.give(box.pointer)
            self.slots.signal()
            if succeeded { written?() }
        }
    }

    /// One write with O_DIRECT, on the caller's thread; a file system that opens with O_DIRECT but refuses its
    /// writes gets them through the cache.
    static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(ArchiveError) {
        do {
            do { try FileWriter.writeAll(fd, bytes, at: offset, path: path) } catch let e as FileError where e.errno == EINVAL {
                guard arca_set_direct(fd, 0) == 0 else { throw e }
                try FileWriter.writeAll(fd, bytes, at: offset, path: path)
            }
        } catch let e as FileError {
            throw IncomingFile.error("write", path, e.errno)
        } catch {
            throw .io("\(error)")
        }
    }

    /// Whether the device has nothing of ours to write right now.
    var isIdle: Bool { inFlight.withLockedValue { $0 == 0 } }

    /// Waits for every submitted write; throws the first failure.
    func wait(path: String) throws {
        let failure = queue.sync { self.failure }
        if let failure { throw failure }
    }

    func waitQuietly() { queue.sync {} }
}

@inline(__always)
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
