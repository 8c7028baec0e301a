import CArcaIO
import DICOM
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
    private let maxKept: Int
    private let free = NIOLockedValueBox<[UnsafeMutableRawPointerBox]>([])

    public init(bufferSize: Int = 1 << 20, maxKept: Int = 8) {
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

/// A new file written front to back with O_DIRECT: appended bytes are staged in an aligned buffer and each full
/// buffer goes from it to the device, bypassing the page cache. A received image is not read again soon, so
/// caching it only costs a copy and page allocations (a third of the server's CPU, measured), and the final
/// fdatasync finds nothing left to write back. The unaligned tail is written through the cache at `finish`.
/// Where the file system refuses O_DIRECT (tmpfs), the file is written the ordinary way. Not thread-safe.
public struct DirectFile: ~Copyable {
    /// O_DIRECT's alignment for offsets, lengths and memory (4 KiB suits every block device in use).
    public static let alignment = 4096

    public let path: String
    public private(set) var fd: Int32
    /// Bytes appended so far.
    public private(set) var size: UInt64 = 0
    private let pool: AlignedBufferPool?
    private var buffer: UnsafeMutableRawPointer?
    private var staged = 0
    /// File offset of the staged bytes' start (always aligned while direct).
    private var flushed: UInt64 = 0
    /// O_DIRECT turned off (for the tail, or because the file system refused a direct write).
    private var buffered = false

    /// Creates `path` exclusively; `pool` nil (or a file system without O_DIRECT) writes through the cache.
    public init(creating path: String, pool: AlignedBufferPool?) throws {
        self.path = path
        self.pool = pool
        var fd: Int32 = -1
        if pool != nil {
            fd = arca_create_direct(path, 0o644)
            if fd < 0 && errno != EINVAL { throw IncomingFile.error("create", path, errno) }
        }
        if fd >= 0 {
            buffer = pool?.take()
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IncomingFile.error("create", path, errno) }
        }
        self.fd = fd
    }

    deinit {
        if let buffer { pool?.give(buffer) }
        if fd >= 0 { _ = systemClose(fd) }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let buffer, let pool, let base = bytes.baseAddress else {
            do { try FileWriter.writeAll(fd, bytes, path: path) } catch let e as FileError { throw IncomingFile.error("write", path, e.errno) }
            // Without O_DIRECT, start writing these pages back now, while the rest arrives.
            _ = arca_start_writeback(fd, Int64(clamping: size), Int64(bytes.count))
            size += UInt64(bytes.count)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(pool.bufferSize - staged, bytes.count - offset)
            (buffer + staged).copyMemory(from: base + offset, byteCount: n)
            staged += n
            offset += n
            if staged == pool.bufferSize { try writeStaged(count: staged) }
        }
        size += UInt64(bytes.count)
    }

    /// Writes the aligned part of what is staged, when there is at least `minimum` of it: the writer calls
    /// this whenever no more bytes wait, so the device works while the rest of the object is on its way.
    public mutating func writeStaged(minimum: Int) throws {
        guard buffer != nil else { return }
        let aligned = staged / Self.alignment * Self.alignment
        if aligned >= max(minimum, Self.alignment) { try writeStaged(count: aligned) }
    }

    /// Writes what is staged: the aligned part directly, the rest through the cache (not yet synced).
    public mutating func writeAll() throws {
        guard buffer != nil, staged > 0 else { return }
        let aligned = staged / Self.alignment * Self.alignment
        if aligned > 0 { try writeStaged(count: aligned) }
        if staged > 0 {
            if !buffered {
                guard arca_set_direct(fd, 0) == 0 else { throw IncomingFile.error("fcntl", path, errno) }
                buffered = true
            }
            try writeStaged(count: staged)
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
        if let buffer { pool?.give(buffer) }
        buffer = nil
        let taken = fd
        fd = -1
        return taken
    }

    /// Closes the descriptor and returns the buffer (after `seal`, or to give up).
    public mutating func close() {
        if let buffer { pool?.give(buffer) }
        buffer = nil
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    /// Writes the first `count` staged bytes at `flushed` and moves the rest to the buffer's start.
    private mutating func writeStaged(count: Int) throws {
        guard let buffer else { return }
        var done = 0
        while done < count {
            let n = pwrite(fd, buffer + done, count - done, off_t(flushed) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                // A file system that opens with O_DIRECT but refuses its writes: through the cache, then.
                if errno == EINVAL && !buffered, arca_set_direct(fd, 0) == 0 {
                    buffered = true
                    continue
                }
                throw IncomingFile.error("write", path, errno)
            }
            done += n
        }
        flushed += UInt64(count)
        staged -= count
        if staged > 0 { buffer.copyMemory(from: buffer + count, byteCount: staged) }
    }
}

@inline(__always)
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
