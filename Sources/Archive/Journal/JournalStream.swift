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
/// straight from it, and the last piece goes out with the final record at commit. Not thread-safe: one writer
/// (the instance's writer queue) at a time.
public final class JournalStream: @unchecked Sendable {
    public let journal: IngestJournal
    private let pool: AlignedBufferPool
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

    public init(journal: IngestJournal, pool: AlignedBufferPool) {
        self.journal = journal
        self.pool = pool
        var rng = SystemRandomNumberGenerator()
        stream = rng.next()
    }

    deinit {
        if let buffer { pool.give(buffer) }
        if !released { journal.release(held) }
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
            if staged == capacity { _ = try writeRecord(final: nil) }
        }
    }

    /// The writer's queue ran dry (the rest of the instance is still on the network): what is staged goes out
    /// now as a record of its own when it is worth a write, so the device works during the transfer and the
    /// commit writes only the tail. Below `idleRecordMinimum` the bytes wait (a record costs a 1 KiB header
    /// and a block's rounding).
    public func idle() throws {
        if staged >= Self.idleRecordMinimum { _ = try writeRecord(final: nil) }
    }

    /// 64 KiB: at most 1/16 of a record in header and rounding.
    static let idleRecordMinimum = 64 << 10

    /// Writes what is staged as the final record; answers the write's sequence number (wait for it with
    /// `IngestJournal.waitDurable`).
    public func finish(_ final: FinalInfo) throws -> UInt64 {
        let sequence = try writeRecord(final: final)
        // The pieces are on their way to the device: the buffer serves the next instance.
        if let buffer { pool.give(buffer) }
        buffer = nil
        return sequence
    }

    /// Gives the pieces up (a refused or cancelled instance): its segments may be recycled.
    public func discard() {
        if let buffer { pool.give(buffer) }
        buffer = nil
        releaseHeld()
    }

    /// After the instance is materialized durably.
    func releaseHeld() {
        guard !released else { return }
        released = true
        journal.release(held)
    }

    private func stagingBuffer() throws -> UnsafeMutableRawPointer {
        if let buffer { return buffer }
        let fresh = pool.take()
        buffer = fresh
        return fresh
    }

    private func writeRecord(final: FinalInfo?) throws -> UInt64 {
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
        let sequence = try journal.write(UnsafeRawBufferPointer(start: target, count: size), segment: place.segment,
                                         fd: place.fd, offset: place.offset)
        pieces.append(JournalPiece(segment: place.segment, recordOffset: place.offset, instanceOffset: written, length: staged))
        written += UInt64(staged)
        staged = 0
        return sequence
    }
}
