import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one piece of an instance sits in the journal.
public struct JournalPiece: Sendable, Equatable {
    public var segment: Int
    /// The record's offset in the segment (its payload starts `recordHeaderSize` later).
    public var recordOffset: Int
    /// Where the piece starts in the instance, and its length.
    public var instanceOffset: UInt64
    public var length: Int
}

/// One instance's bytes on their way into the journal. Bytes are copied once, into a page-aligned staging
/// buffer behind room for the record header; each full buffer becomes one record written with O_DIRECT
/// straight from it, on a queue of its own (`BackgroundWrites`, two records in flight at most) while the next
/// buffer fills, and the last piece goes out with the final record at commit. Written on the writer's own
/// thread, each record held the writer up for the device's time, so when the last fragment arrived the writer
/// was still 0.6–1.1 ms behind the network (measured): the commit waited for that lag. Not thread-safe: one
/// writer (the instance's writer queue) at a time.
public final class JournalStream: @unchecked Sendable {
    public let journal: IngestJournal
    private let pool: AlignedBufferPool
    /// The records, written in order, off the writer's thread; made at the first record that needs it (a
    /// journal written through the page cache writes from the writer's thread and never does).
    private var writes: BackgroundWrites?
    /// The final record's sequence number, set on the writes' queue once it is written.
    private let finalSequence = NIOLockedValueBox<UInt64?>(nil)
    public let stream: UInt64
    private var buffer: UnsafeMutableRawPointer?
    /// Payload bytes staged after the header room.
    private var staged = 0
    private var written: UInt64 = 0
    /// Segments this stream holds a piece in.
    private(set) var held: Set<Int> = []
    public private(set) var pieces: [JournalPiece] = []
    private var released = false

    public var size: UInt64 { written + UInt64(staged) }
    private var capacity: Int { pool.bufferSize - JournalLayout.recordHeaderSize }
    /// The largest record this stream writes, its header included.
    var recordCapacity: Int { pool.bufferSize }

    public init(journal: IngestJournal, pool: AlignedBufferPool) {
        self.journal = journal
        self.pool = pool
        stream = journal.nextStreamID()
    }

    deinit {
        // No segment is released while a write into it is in flight (it could be recycled under the write).
        writes?.waitQuietly()
        if let buffer { pool.give(buffer) }
        if !released { journal.release(held, placed: false) }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let target = try stagingBuffer()
            let n = min(capacity - staged, left)
            (target + JournalLayout.recordHeaderSize + staged).copyMemory(from: base, byteCount: n)
            staged += n
            left -= n
            base += n
            if staged == capacity { try writeRecord() }
        }
        // Bytes that arrive faster than the writer takes them never leave its queue dry, so `idle` is not called
        // during the transfer: cut a record here too once enough is staged and the device has nothing of ours.
        if staged >= Self.streamRecordMinimum && writes?.isIdle != false { try writeRecord() }
    }

    /// The writer's queue ran dry (the rest of the instance is still on the network): what is staged goes out
    /// now as a record of its own when it is worth a write and the device has nothing else of ours, so the
    /// device works during the transfer and the commit writes only the tail. Below `idleRecordMinimum` the bytes
    /// wait (a record costs a 1 KiB header and a block's rounding); while a record is being written they wait
    /// too: one record per fragment (four or five per 512 KB slice) cost a write and a read each for no earlier
    /// commit.
    public func idle() throws {
        if staged >= Self.idleRecordMinimum && writes?.isIdle != false { try writeRecord() }
    }

    /// A final record this small, with no record before it, is written on the writer's thread (`submitFinal`).
    static let inlineFinalMaximum = 64 << 10

    /// 64 KiB: at most 1/16 of a record in header and rounding.
    static let idleRecordMinimum = 64 << 10

    /// 128 KiB: while bytes keep coming, the device starts on the first quarter of a 512 KB slice while the
    /// writer copies the rest, instead of taking the whole slice once it is all staged.
    static let streamRecordMinimum = 128 << 10

    /// Writes what is staged as the final record; answers the write's sequence number (wait for it with
    /// `IngestJournal.waitDurable`). In strict mode with direct writes it returns once the flush covering the
    /// record has also run (see `submitFinal`), so that wait then finds it done.
    public func finish(_ final: FinalInfo) throws -> UInt64 {
        try submitFinal(final)
        return try waitWritten()
    }

    /// Writes the final record after the records still in flight. On this thread when the journal is written
    /// through the page cache (a copy into memory is not worth a thread hop) and when this is the instance's
    /// only record and a small one (an 8 KB image: handed to the background writes, it cost a thread's wake-up
    /// and the writer's wait for it, two context switches each, to overlap a row of 0.06 ms); in strict mode it
    /// is then flushed here too. Otherwise the background writes take it and the caller does other work (the
    /// index row) while the device does, then calls `waitWritten`.
    public func submitFinal(_ final: FinalInfo) throws {
        let (place, bytes) = try stampRecord(final: final)
        guard let full = buffer else { return }
        if journal.writesThroughCache || (writes == nil && bytes.count <= Self.inlineFinalMaximum) {
            buffer = nil
            defer { pool.give(full) }
            try BackgroundWrites.write(fd: place.fd, bytes, at: UInt64(place.offset), path: journal.directory)
            let written = journal.register(place.segment)
            if journal.durability == .strict { try journal.waitDurable(written) }
            finalSequence.withLockedValue { $0 = written }
            return
        }
        buffer = nil
        let journal = self.journal, segment = place.segment, sequence = finalSequence
        backgroundWrites().submit(fd: place.fd, buffer: full, count: bytes.count, offset: UInt64(place.offset), path: journal.directory) {
            // Counted after every piece (the queue is serial), so the flush that covers it covers them all.
            let written = journal.register(segment)
            sequence.withLockedValue { $0 = written }
            // Strict: the flush starts here, as soon as the record is written, while the writer's thread records
            // the index row; the commit's own `waitDurable` then finds it done or joins it (and sees a failure,
            // which breaks the journal). Started by the commit after the row, the flush came after both.
            if journal.durability == .strict { try? journal.waitDurable(written) }
        }
    }

    /// Once every record, the final one included, is written: the final record's sequence number. In strict mode
    /// with direct writes, also once the flush the writes' queue started after the final record has run (or
    /// failed, which `IngestJournal.waitDurable` then reports).
    public func waitWritten() throws -> UInt64 {
        try writes?.wait(path: journal.directory)
        guard let sequence = finalSequence.withLockedValue({ $0 }) else {
            throw ArchiveError.io("journal: the final record was not written")
        }
        return sequence
    }

    /// Gives the pieces up (a refused or cancelled instance): its segments may be recycled.
    public func discard() {
        writes?.waitQuietly()
        if let buffer { pool.give(buffer) }
        buffer = nil
        releaseHeld(placed: false)
    }

    /// After the instance is materialized durably (`placed`), or discarded.
    func releaseHeld(placed: Bool = true) {
        guard !released else { return }
        released = true
        journal.release(held, placed: placed)
    }

    private func backgroundWrites() -> BackgroundWrites {
        if let writes { return writes }
        let fresh = BackgroundWrites(pool: pool, feedsTheDevice: writesToTheDevice, observer: nil)
        writes = fresh
        return fresh
    }

    private func stagingBuffer() throws -> UnsafeMutableRawPointer {
        if let buffer { return buffer }
        let fresh = pool.take()
        buffer = fresh
        return fresh
    }

    /// A record of what is staged, handed to the background writes in its buffer (the next bytes go into a fresh
    /// one); counted by the journal once written.
    private func writeRecord() throws {
        let (place, bytes) = try stampRecord(final: nil)
        if journal.writesThroughCache {
            // A copy into the page cache: no wait worth a thread hop; the staging buffer serves again.
            try IngestJournal.writeAll(place.fd, bytes, at: place.offset, path: journal.directory)
            _ = journal.register(place.segment)
            return
        }
        guard let full = buffer else { return }
        buffer = nil
        let journal = self.journal, segment = place.segment
        backgroundWrites().submit(fd: place.fd, buffer: full, count: bytes.count, offset: UInt64(place.offset), path: journal.directory) {
            _ = journal.register(segment)
        }
    }

    /// Reserves the record's place, writes its header in front of the staged bytes and zero-fills the rounding:
    /// the bytes to write, from the staging buffer. The pieces list and the instance offset move on.
    private func stampRecord(final: FinalInfo?) throws -> (place: (segment: Int, offset: Int, fd: Int32), bytes: UnsafeRawBufferPointer) {
        let target = try stagingBuffer()
        let header = RecordHeader(nonce: 0, generation: 0, stream: stream, offset: written, length: UInt32(staged), final: final)
        let size = header.recordSize
        let place = try journal.reserve(size, held: &held)
        var stamped = header
        let segmentHeader = journal.segmentHeader(place.segment)
        stamped.nonce = segmentHeader.nonce
        stamped.generation = segmentHeader.generation
        try stamped.encode(into: UnsafeMutableRawBufferPointer(start: target, count: JournalLayout.recordHeaderSize))
        let end = JournalLayout.recordHeaderSize + staged
        if size > end { (target + end).initializeMemory(as: UInt8.self, repeating: 0, count: size - end) }
        pieces.append(JournalPiece(segment: place.segment, recordOffset: place.offset, instanceOffset: written, length: staged))
        written += UInt64(staged)
        staged = 0
        return (place, UnsafeRawBufferPointer(start: target, count: size))
    }
}
