import CArcaIO
import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much an acknowledgement waits for.
public enum Durability: String, Sendable, Codable, CaseIterable {
    /// 0x0000 only once the instance's journal records are on the device (one group-committed fdatasync).
    case strict
    /// 0x0000 once the records are written and the row indexed; a background flusher makes them durable
    /// within `IngestJournal.deferredBound` (a power loss, not a process crash, can lose that window).
    case deferred
}

/// This process's ingest journal: preallocated segment files in `<archive>/.journal/<slot>/`, recycled, never
/// deleted (a deleted inode's blocks cost the next allocation on ext4 here). Each receiving stream writes
/// whole records with O_DIRECT at offsets reserved here; acknowledgements wait for one fdatasync shared by every
/// stream that wrote before it (group commit). A segment is recycled once it is full and every instance with
/// a piece in it has been materialized durably. The process holds an flock on its slot, so recovery on start
/// replays only journals whose writer is gone.
public final class IngestJournal: @unchecked Sendable {
    /// 32 MiB: 60 CT slices; a new segment is zero-filled once (so later O_DIRECT writes change no metadata
    /// and fdatasync is a device flush, not a file-system commit), then reused.
    public static let defaultSegmentSize = 32 << 20
    /// Segments a journal has from its first start: a 500-slice ingest into a new archive used three.
    static let preparedSegments = 3
    /// What deferred mode promises: an acknowledged record is on the device within this many seconds.
    public static let deferredBound: Double = 1
    /// The deferred flusher's pause between flushes (so flushes batch).
    static let deferredInterval: Double = 0.2

    public static let folder = ".journal"

    enum SegmentState: Equatable {
        case free
        case filling(next: Int)
        case full
        case recycling
    }

    final class Segment {
        let number: Int
        let path: String
        let fd: Int32
        var state: SegmentState = .free
        var header = SegmentHeader(active: false, nonce: 0, generation: 0)
        /// Streams with a piece here not yet released (discarded, or materialized durably).
        var holders = 0
        /// Found active at start: it holds what recovery could not complete, for the next start to try again.
        /// Never recycled by this process (a clean stop's `retireUnheld` freed it, and lost those instances).
        var retained = false
        init(number: Int, path: String, fd: Int32) {
            self.number = number
            self.path = path
            self.fd = fd
        }
    }

    public let directory: String
    public let segmentSize: Int
    public let durability: Durability
    /// Segments this journal may create (a quarter of the free space at start).
    let maxSegments: Int
    /// How long a store waits for a recycled segment when the journal has no room left.
    let roomWait: RoomWait
    /// Instances the materializer has put in place and let go: what a store waiting for room watches to tell a
    /// journal that drains from one that is stuck (discarded instances do not count: on a full disk every
    /// refused store discards one, and each would have kept the others waiting).
    private var placed: UInt64 = 0
    /// Stores waiting for room now.
    private var storesWaiting = 0
    private let lockFD: Int32
    private let condition = NSCondition()
    private var segments: [Segment] = []
    private var current: Int?
    private var nextGeneration: UInt64 = 1
    /// Writes registered so far, and how many of them a finished fdatasync covers.
    private var completed: UInt64 = 0
    private var synced: UInt64 = 0
    /// Since when some registered write has not been flushed (nil: all are); an upper bound on the oldest's age.
    private var unsyncedSince: ContinuousClock.Instant?
    private var dirty: Set<Int> = []
    private var syncing = false
    /// A failed fdatasync leaves the device state unknown: the journal refuses further work.
    private var broken: ArchiveError?
    private var stopping = false
    /// fdatasync calls made (for benchmarks: flushes per instance).
    public private(set) var flushCount = 0
    private var flusher: Thread?
    /// A spare segment is being zero-filled outside the lock (it counts toward `maxSegments`).
    private var preparing = false
    /// The number the next new segment file takes.
    private var nextNumber = 0
    /// One zeroed 1 MiB aligned buffer for filling new segments and writing segment headers.
    private let zeros: UnsafeMutableRawPointer
    /// The last stream id handed out: random when the journal opens, then counted, so the streams of one
    /// process never collide and those of two openings almost never (a random number per stream cost a
    /// getrandom call on every C-STORE).
    private let lastStream = NIOLockedValueBox<UInt64>(UInt64.random(in: .min ... .max))

    /// The id of a new stream (`RecordHeader.stream`).
    func nextStreamID() -> UInt64 { lastStream.withLockedValue { $0 &+= 1; return $0 } }

    /// Takes a free slot under `<root>/.journal/` (the first one no other process holds). Run recovery first.
    /// `segmentLimit`: fewer segments than the free space allows, and `roomWait` (tests).
    public init(root: String, segmentSize: Int = IngestJournal.defaultSegmentSize, durability: Durability = .strict,
                segmentLimit: Int? = nil, roomWait: RoomWait = RoomWait()) throws {
        self.durability = durability
        self.roomWait = roomWait
        try Directory.create(root + "/" + Self.folder)
        // On a small file system a segment is at most a sixteenth of the free space (at least 1 MiB, two
        // records), so the journal never takes the space the files need.
        var fs = statvfs()
        let available = statvfs(root, &fs) == 0 ? Int(clamping: UInt64(fs.f_bavail) &* UInt64(fs.f_frsize)) : Int.max
        let size = min(segmentSize, max(1 << 20, available / 16))
        self.segmentSize = size / JournalLayout.block * JournalLayout.block
        // And the journal as a whole at most a quarter of it (two segments at least), so the materializer always
        // finds room for the files that free the segments.
        maxSegments = max(2, min(segmentLimit ?? .max, available / 4 / self.segmentSize))
        var slot = 0
        var chosen: (String, Int32)?
        while chosen == nil {
            let dir = root + "/" + Self.folder + "/\(slot)"
            try Directory.create(dir)
            let fd = open(dir + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IncomingFile.error("open", dir + "/lock", errno) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { chosen = (dir, fd) } else { closeDescriptor(fd); slot += 1 }
        }
        guard let (dir, fd) = chosen else { throw ArchiveError.io("journal: no slot") }
        directory = dir
        lockFD = fd
        zeros = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: JournalLayout.block)
        zeros.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 20)
        for (number, path) in Self.segmentFiles(in: dir) {
            let sfd = arca_open_segment(path, 0)
            guard sfd >= 0 else { throw IncomingFile.error("open", path, errno) }
            cachedIfDeferred(sfd)
            let segment = Segment(number: number, path: path, fd: sfd)
            // Recovery left every segment free; one still active holds what recovery could not complete: kept
            // out of use for the next start to try again.
            if let header = Self.readHeader(sfd) {
                nextGeneration = max(nextGeneration, header.generation + 1)
                if header.active {
                    segment.state = .full
                    segment.retained = true
                }
            }
            segments.append(segment)
        }
        nextNumber = (segments.map(\.number).max() ?? -1) + 1
        // A new journal's first segments are prepared now, not by the first instances (zero-filling 32 MiB took
        // their writer 20-50 ms); the materializer keeps a spare from then on. Once made they are kept for good.
        while segments.count < min(Self.preparedSegments, maxSegments) { _ = try createSegmentLocked() }
        if durability == .deferred {
            let thread = Thread { [weak self] in self?.flushLoop() }
            thread.name = "arca.journal.flush"
            flusher = thread
            thread.start()
        }
    }

    deinit {
        for s in segments { closeDescriptor(s.fd) }
        flock(lockFD, LOCK_UN)
        closeDescriptor(lockFD)
        zeros.deallocate()
    }

    /// Stops the deferred flusher after a last flush.
    public func close() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        try? flushNow()
    }

    /// `seg-NNNNNN` files of a journal folder, by number.
    static func segmentFiles(in dir: String) -> [(Int, String)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(Int, String)] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("seg-"), let n = Int(name.dropFirst(4)) else { continue }
            out.append((n, dir + "/" + name))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static func readHeader(_ fd: Int32) -> SegmentHeader? {
        let block = UnsafeMutableRawPointer.allocate(byteCount: JournalLayout.block, alignment: JournalLayout.block)
        defer { block.deallocate() }
        guard pread(fd, block, JournalLayout.block, 0) == JournalLayout.block else { return nil }
        return SegmentHeader.decode(UnsafeRawBufferPointer(start: block, count: JournalLayout.block))
    }

    // MARK: Writing

    /// Reserves `size` bytes (a whole record) in the segment being filled, opening the next one when it does not
    /// fit, and counts `held`'s stream as a holder of that segment. Throws out-of-resources when no segment can
    /// be allocated (disk full).
    func reserve(_ size: Int, held: inout Set<Int>) throws -> (segment: Int, offset: Int, fd: Int32) {
        guard JournalLayout.block + size <= segmentSize else { throw ArchiveError.io("journal: a record of \(size) bytes") }
        condition.lock()
        defer { condition.unlock() }
        var waiting: Waiting?
        defer { if waiting != nil { storesWaiting -= 1 } }
        // Looked at again after each wait: another store may have opened a segment meanwhile (then this one
        // shares it, rather than taking a second and leaving the first half-filled for good).
        while true {
            if let broken { throw broken }
            if let c = current, case .filling(let next) = segments[c].state, next + size <= segmentSize {
                segments[c].state = .filling(next: next + size)
                if held.insert(c).inserted { segments[c].holders += 1 }
                return (c, next, segments[c].fd)
            }
            if let c = current {
                segments[c].state = .full
                current = nil
                if segments[c].holders == 0 { recycleLocked(c) }
            }
            do {
                let c = try takeFreeLocked()
                segments[c].state = .filling(next: JournalLayout.block + size)
                current = c
                if held.insert(c).inserted { segments[c].holders += 1 }
                return (c, JournalLayout.block, segments[c].fd)
            } catch ArchiveError.outOfResources(let reason) {
                // Every segment full: segments held by instances waiting for their files come back once those
                // are written (the materializer retries at once when asked); wait while the journal drains.
                try waitForRoomLocked(&waiting, reason: reason)
            }
        }
    }

    /// Whether stores are waiting for room now (one of the conditions of `mightWaitForRoom`, which commits ask;
    /// tests ask this one alone).
    public var isShortOfRoom: Bool {
        condition.lock()
        defer { condition.unlock() }
        return storesWaiting > 0
    }

    /// Whether reserving `size` bytes now might wait: stores already wait for room, or neither the segment being
    /// filled nor a free one has it (a new segment is zero-filled first, 32 MiB and a flush; and with the journal
    /// at its limit the store waits for one to drain). A commit that might wait makes its trip to its writer's
    /// thread rather than hold its association's event loop; asked before each commit, so the first store to
    /// find the journal full is no exception (`isShortOfRoom` alone knew only of the stores already waiting).
    public func mightWaitForRoom(reserving size: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if storesWaiting > 0 || broken != nil { return true }
        if let c = current, case .filling(let next) = segments[c].state, next + size <= segmentSize { return false }
        return !segments.contains { $0.state == .free }
    }

    /// Asked when the journal is short of space: the materializer retries its backlog now.
    var onPressure: (@Sendable () -> Void)?

    /// How long a store waits for room in a full journal. A journal whose instances are being put in place (one
    /// placed within `stall` of the last look) drains: the store waits for it, up to `longest`, so that a stream
    /// faster than the materializer slows to its pace. One whose instances stay (the materializer cannot write:
    /// the disk is full) refuses the store after `stall`. Measured on 7 December: a 1 GB file system, 40,000 ×
    /// 8 KB over four associations, the journal at its 7 segments of 32 MiB (2,700 small instances each) with
    /// 400 MB free: a segment took over 2 s to come back, and 6 stores were refused as "disk full" when a fixed
    /// 2 s was all (`scripts/journal-room-test`).
    public struct RoomWait: Sendable {
        public var stall: Double
        public var longest: Double
        public init(stall: Double = 2, longest: Double = 30) {
            self.stall = stall
            self.longest = longest
        }
    }

    /// One store's wait for room, across its wake-ups.
    private struct Waiting {
        let start: Date
        var placedThen: UInt64
        var deadline: Date
    }

    /// Starts the store's wait (the first call: counted, the materializer asked to hurry, the caller looks once
    /// more), then waits until something changes (the caller looks again) or the deadline passes: refuses the
    /// store when no instance was put in place since the last look, or when it has waited `longest`.
    private func waitForRoomLocked(_ waiting: inout Waiting?, reason: String) throws {
        guard var w = waiting else {
            let now = Date()
            waiting = Waiting(start: now, placedThen: placed, deadline: now.addingTimeInterval(roomWait.stall))
            storesWaiting += 1
            onPressure?()
            return
        }
        if condition.wait(until: w.deadline) { return }
        let now = Date()
        guard placed != w.placedThen else { throw ArchiveError.outOfResources(reason) }
        let last = w.start.addingTimeInterval(roomWait.longest)
        guard now < last else {
            throw ArchiveError.outOfResources("the ingest journal is full: instances arrive faster than they are put in place")
        }
        w.placedThen = placed
        w.deadline = min(now.addingTimeInterval(roomWait.stall), last)
        waiting = w
        onPressure?()  // the materializer's haste lasts 2 s: asked again while this store waits
    }

    /// A free segment activated with a new nonce and generation (its header write is covered by the next flush).
    private func takeFreeLocked() throws -> Int {
        let index: Int
        if let free = segments.firstIndex(where: { $0.state == .free }) {
            index = free
        } else if segments.count + (preparing ? 1 : 0) >= maxSegments {
            throw ArchiveError.outOfResources("disk full (the ingest journal waits for room to put its instances in place)")
        } else {
            index = try createSegmentLocked()
        }
        let s = segments[index]
        var rng = SystemRandomNumberGenerator()
        s.header = SegmentHeader(active: true, nonce: rng.next(), generation: nextGeneration)
        nextGeneration += 1
        try writeHeader(s)
        registerLocked(index)
        return index
    }

    private func writeHeader(_ s: Segment) throws {
        let block = UnsafeMutableRawBufferPointer(start: zeros, count: JournalLayout.block)
        s.header.encode(into: block)
        defer { zeros.initializeMemory(as: UInt8.self, repeating: 0, count: JournalLayout.block) }
        try Self.writeAll(s.fd, UnsafeRawBufferPointer(block), at: 0, path: s.path)
    }

    /// A new segment, zero-filled and fdatasynced. ENOSPC is out-of-resources and leaves no file behind.
    private func createSegmentLocked() throws -> Int {
        let number = nextNumber
        nextNumber += 1
        let path = directory + "/" + String(format: "seg-%06d", number)
        let fd = try makeSegmentFile(path, zeros: zeros)
        segments.append(Segment(number: number, path: path, fd: fd))
        return segments.count - 1
    }

    /// Creates, zero-fills and fdatasyncs a segment file; answers its descriptor. Touches no shared state.
    private func makeSegmentFile(_ path: String, zeros: UnsafeMutableRawPointer) throws -> Int32 {
        let fd = arca_open_segment(path, 1)
        guard fd >= 0 else { throw IncomingFile.error("create", path, errno) }
        do {
            var offset = 0
            while offset < segmentSize {
                let n = min(1 << 20, segmentSize - offset)
                try Self.writeAll(fd, UnsafeRawBufferPointer(start: zeros, count: n), at: offset, path: path)
                offset += n
            }
            guard fdatasync(fd) == 0 else { throw IncomingFile.error("fdatasync", path, errno) }
            // Zero-filled directly (through the cache, 32 MiB of zeros cost 13% of a deferred run's CPU), then
            // cached for a deferred journal's records.
            cachedIfDeferred(fd)
        } catch {
            closeDescriptor(fd)
            unlink(path)
            throw error
        }
        return fd
    }

    /// Makes sure one free segment waits, so a stream rarely pays for zero-filling one (the materializer calls
    /// this between batches and while it holds a burst back). The new file is zero-filled outside the lock (a
    /// 32 MiB fill took 20-50 ms, during which every stream's next record waited); its number is taken first, so
    /// a stream that must make a segment meanwhile makes another.
    public func prepareSpare() throws {
        condition.lock()
        guard !segments.contains(where: { $0.state == .free }), segments.count < maxSegments, !preparing else {
            condition.unlock()
            return
        }
        preparing = true
        let number = nextNumber
        nextNumber += 1
        condition.unlock()
        let path = directory + "/" + String(format: "seg-%06d", number)
        // Its own zeros: the shared buffer also serves segment headers, under the lock.
        let zeros = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: JournalLayout.block)
        zeros.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 20)
        defer { zeros.deallocate() }
        let made = Result { try makeSegmentFile(path, zeros: zeros) }
        condition.lock()
        defer { condition.unlock() }
        preparing = false
        let fd = try made.get()
        segments.append(Segment(number: number, path: path, fd: fd))
        condition.broadcast()
    }

    /// Deferred durability writes the journal through the page cache: an acknowledgement then waits for a copy
    /// into memory, not for the device (the flusher writes back within the bound), and the materializer reads the
    /// records back from memory. Strict keeps O_DIRECT: its flush must not also write the data back.
    private func cachedIfDeferred(_ fd: Int32) {
        if writesThroughCache { _ = arca_set_direct(fd, 0) }
    }

    var writesThroughCache: Bool { durability == .deferred }

    /// Counts a write into `segment` that has completed (its bytes are in the device's hands): answers its
    /// sequence number; the next flush covers it.
    func register(_ segment: Int) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return registerLocked(segment)
    }

    @discardableResult
    private func registerLocked(_ segment: Int) -> UInt64 {
        if synced == completed { unsyncedSince = .now }
        completed += 1
        let wasClean = dirty.isEmpty
        dirty.insert(segment)
        // The deferred flusher sleeps until something is dirty: a broadcast per write woke it for nothing.
        if durability == .deferred && wasClean { condition.broadcast() }
        return completed
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw IncomingFile.error("write", path, errno)
            }
            done += n
        }
    }

    // MARK: Durability

    /// Returns once the write numbered `sequence` is on the device: whoever finds no flush running flushes
    /// every segment written since the last one, for everyone waiting.
    /// Deferred mode's promise (`deferredBound`), kept when the flusher falls behind (its fdatasync waiting
    /// behind a burst's syncfs and the device): a commit waits for the flush once what is unflushed has been so
    /// for half the bound. Otherwise (the flusher on time) it does not wait.
    public func keepWithinBound(_ sequence: UInt64) throws {
        condition.lock()
        let due = Self.isOverdue(since: unsyncedSince, now: .now)
        condition.unlock()
        if due { try waitDurable(sequence) }
    }

    static func isOverdue(since: ContinuousClock.Instant?, now: ContinuousClock.Instant) -> Bool {
        guard let since else { return false }
        return now - since > .seconds(deferredBound / 2)
    }

    public func waitDurable(_ sequence: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        while synced < sequence {
            if let broken { throw broken }
            if syncing {
                condition.wait()
                continue
            }
            try flushLocked()
        }
    }

    /// Whether the write numbered `sequence` is on the device (storage commitment in deferred mode).
    public func isDurable(_ sequence: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return synced >= sequence
    }

    /// Flushes everything written so far.
    public func flushNow() throws {
        condition.lock()
        let target = completed
        condition.unlock()
        try waitDurable(target)
    }

    /// Called with the lock held and no flush running; releases the lock during the fdatasyncs.
    private func flushLocked() throws {
        syncing = true
        let target = completed
        // Writes registered after this moment are not covered by this flush: none of them is older than it.
        let started = ContinuousClock.now
        let fds = dirty.map { (segments[$0].fd, segments[$0].path) }
        dirty.removeAll()
        condition.unlock()
        var failure: ArchiveError?
        for (fd, path) in fds where fdatasync(fd) != 0 {
            failure = IncomingFile.error("fdatasync", path, errno)
        }
        condition.lock()
        syncing = false
        flushCount += fds.count
        if let failure {
            broken = failure
        } else {
            synced = max(synced, target)
            unsyncedSince = synced == completed ? nil : started
        }
        condition.broadcast()
        if let failure { throw failure }
    }

    /// Deferred mode: flushes whatever was written, then waits `deferredInterval` so flushes batch.
    private func flushLoop() {
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            if dirty.isEmpty || syncing {
                condition.wait()
                continue
            }
            try? flushLocked()
            // Broadcasts (the first write after a flush, releases) wake it: wait out the whole interval, or each
            // write would get a flush of its own.
            let next = Date(timeIntervalSinceNow: Self.deferredInterval)
            while !stopping && Date() < next { _ = condition.wait(until: next) }
        }
    }

    /// The sequence number of the last write registered (storage commitment asks whether it is durable).
    public var lastSequence: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return completed
    }

    // MARK: Release and recycling

    /// A stream's pieces are no longer needed (discarded, or materialized durably): a full segment nobody holds
    /// is recycled.
    func release(_ held: Set<Int>, placed wasPlaced: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if wasPlaced { placed &+= 1 }
        for n in held {
            segments[n].holders -= 1
            if segments[n].holders == 0 && segments[n].state == .full { recycleLocked(n) }
        }
    }

    /// A clean stop, once every instance is in place (the materializer drained): each segment no stream holds is
    /// marked free on disk, the one being filled included. Left active, that segment was replayed at every start:
    /// an instance removed from the archive since (a study deleted by hand) came back, and with another naming
    /// its file moved.
    public func retireUnheld() {
        condition.lock()
        defer { condition.unlock() }
        for n in segments.indices where segments[n].holders == 0 && !segments[n].retained {
            switch segments[n].state {
            case .filling, .full: recycleLocked(n)
            case .free, .recycling: break
            }
        }
    }

    /// Marks the segment free on disk (its header says inactive, fdatasynced, so recovery never replays what it
    /// held), then free for reuse.
    private func recycleLocked(_ n: Int) {
        let s = segments[n]
        s.state = .recycling
        s.header.active = false
        do {
            try writeHeader(s)
            guard fdatasync(s.fd) == 0 else { throw IncomingFile.error("fdatasync", s.path, errno) }
            flushCount += 1
            s.state = .free
            condition.broadcast()
        } catch {
            // Left out of use: recovery on the next start replays (idempotently) and frees it.
            s.state = .full
        }
    }

    /// The header of a segment a stream holds (stable while held: a held segment is never recycled).
    func segmentHeader(_ segment: Int) -> SegmentHeader {
        condition.lock()
        defer { condition.unlock() }
        return segments[segment].header
    }

    /// The descriptor of a segment, for reading pieces back (materializer, readers).
    func descriptor(_ segment: Int) -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        return segments[segment].fd
    }

    /// How many holds instances have on segments: 0 once every stream was placed or discarded (a stream an
    /// aborted association left behind would keep its segments from reuse for good).
    public var holds: Int {
        condition.lock()
        defer { condition.unlock() }
        return segments.reduce(0) { $0 + $1.holders }
    }

    /// Segments in use and in all (tests, metrics).
    public var segmentCounts: (used: Int, total: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (segments.filter { $0.state != .free }.count, segments.count)
    }
}

/// `close(2)` (the journal's own `close()` stops its flusher).
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
