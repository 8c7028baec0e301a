import BLAKE3

/// The fixed-size headers of the ingest journal (docs/ARCHITECTURE.md, "Ingest journal"), encoded and decoded
/// apart from any I/O so recovery's rules are tested on bytes.
///
/// A segment file starts with one 4 KiB block (`SegmentHeader`); records follow, each starting on a 4 KiB
/// boundary (O_DIRECT's unit): a 1 KiB `RecordHeader`, then its payload, padded to the next boundary. A
/// record is a piece of one instance's bytes (`fragment`), or its last piece with what recovery needs to
/// finish the store (`final`: SOP Instance UID, transfer syntax, calling AE, reception time, the instance's
/// length and checksum). Every header carries the segment's random nonce and generation, so a record left from
/// an earlier use of a recycled segment, or bytes of a received image that imitate a header, never match.
public enum JournalLayout {
    public static let block = 4096
    public static let recordHeaderSize = 1024
    static let recordMagic: [UInt8] = Array("ARCAJRN1".utf8)
    static let segmentMagic: [UInt8] = Array("ARCASEG1".utf8)
    /// Bytes of a header covered by its checksum; the checksum (16 bytes of BLAKE3) follows.
    static let checkedPrefix = recordHeaderSize - 16
    /// Longest text field (a UID is at most 64 characters, an AE title 16).
    static let maxField = 128

    /// `n` rounded up to a whole number of blocks.
    public static func blocks(_ n: Int) -> Int { (n + block - 1) / block * block }
}

/// Block 0 of a segment: whether it holds records (`active`) and which nonce and generation they carry.
public struct SegmentHeader: Equatable, Sendable {
    public var active: Bool
    public var nonce: UInt64
    public var generation: UInt64

    public init(active: Bool, nonce: UInt64, generation: UInt64) {
        self.active = active
        self.nonce = nonce
        self.generation = generation
    }

    /// Into the first 64 bytes of `block` (the rest of the block is left as it is).
    public func encode(into block: UnsafeMutableRawBufferPointer) {
        var w = HeaderWriter(block)
        w.bytes(JournalLayout.segmentMagic)
        w.u64(active ? 1 : 0)
        w.u64(nonce)
        w.u64(generation)
        let sum = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: block[0..<32])).prefix(16)
        w.bytes(Array(sum))
    }

    public static func decode(_ block: UnsafeRawBufferPointer) -> SegmentHeader? {
        guard block.count >= 48, Array(block[0..<8]) == JournalLayout.segmentMagic else { return nil }
        let sum = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: block[0..<32])).prefix(16)
        guard Array(block[32..<48]) == Array(sum) else { return nil }
        var r = HeaderReader(block, from: 8)
        let state = r.u64(), nonce = r.u64(), generation = r.u64()
        return SegmentHeader(active: state == 1, nonce: nonce, generation: generation)
    }
}

/// What proves a journaled instance's bytes whole: a final record names its kind and value.
public enum JournalChecksum: Equatable, Sendable {
    /// CRC-32C of all the bytes (final records of kind 3, written since 2026-12-06). It costs 25 µs a 512 KB
    /// instance where BLAKE3 cost 250 µs on the acknowledgement's path; the materializer computes the BLAKE3
    /// the index keeps as it copies the bytes into place, and the row holds a placeholder until then.
    case crc32c(UInt32)
    /// BLAKE3 of all the bytes (kind 2, written before): recovery still completes such a journal.
    case blake3([UInt8])

    /// The file hash an index row holds for the instance while its bytes are only in the journal: the BLAKE3
    /// itself, or for a CRC-32C a placeholder unique to the instance's stream (so that the materializer's update
    /// of one instance never lands on the row of a replacement of it that came after).
    public func indexHash(stream: UInt64) -> String {
        switch self {
        case .blake3(let hash): return BLAKE3.hex(hash)
        case .crc32c(let crc): return Self.placeholderPrefix + Self.hex(stream, 16) + "-" + Self.hex(UInt64(crc), 8)
        }
    }

    /// Whether an index row's hash is such a placeholder: the instance is not yet in place.
    public static func isPlaceholder(_ fileHash: String) -> Bool { fileHash.hasPrefix(placeholderPrefix) }

    static let placeholderPrefix = "journal-"

    private static func hex(_ v: UInt64, _ digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// What recovery needs beyond the bytes to complete a store.
public struct FinalInfo: Equatable, Sendable {
    public var sopInstanceUID: String
    public var transferSyntaxUID: String
    public var callingAETitle: String
    public var receivedAt: String
    /// The instance's length (Part-10 file) and the checksum of all its bytes.
    public var totalLength: UInt64
    public var checksum: JournalChecksum

    public init(sopInstanceUID: String, transferSyntaxUID: String, callingAETitle: String, receivedAt: String,
                totalLength: UInt64, checksum: JournalChecksum) {
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        self.callingAETitle = callingAETitle
        self.receivedAt = receivedAt
        self.totalLength = totalLength
        self.checksum = checksum
    }
}

/// The 1 KiB header at the start of every record.
public struct RecordHeader: Equatable, Sendable {
    public var nonce: UInt64
    public var generation: UInt64
    /// The instance's stream (counted from a random start per journal opening, so streams of one process never
    /// collide).
    public var stream: UInt64
    /// Where this piece starts in the instance, and its length.
    public var offset: UInt64
    public var length: UInt32
    /// Present on the last piece only.
    public var final: FinalInfo?

    public init(nonce: UInt64, generation: UInt64, stream: UInt64, offset: UInt64, length: UInt32, final: FinalInfo?) {
        self.nonce = nonce
        self.generation = generation
        self.stream = stream
        self.offset = offset
        self.length = length
        self.final = final
    }

    /// The whole record's size on disk: header, payload, padding.
    public var recordSize: Int { JournalLayout.blocks(JournalLayout.recordHeaderSize + Int(length)) }

    /// Into the first `recordHeaderSize` bytes of `buffer`. Text longer than a DICOM field can be is refused.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) throws {
        var w = HeaderWriter(buffer)
        w.bytes(JournalLayout.recordMagic)
        // Kind 1: a piece; 2: a final piece with BLAKE3; 3: a final piece with CRC-32C.
        switch final?.checksum {
        case nil: w.u64(1)
        case .blake3: w.u64(2)
        case .crc32c: w.u64(3)
        }
        w.u64(nonce)
        w.u64(generation)
        w.u64(stream)
        w.u64(offset)
        w.u64(UInt64(length))
        if let final {
            w.u64(final.totalLength)
            // 32 bytes: the BLAKE3, or the CRC-32C (little-endian) and zeros.
            switch final.checksum {
            case .blake3(let hash):
                guard hash.count == 32 else { throw ArchiveError.io("journal: a hash of \(hash.count) bytes") }
                w.bytes(hash)
            case .crc32c(let crc):
                w.u64(UInt64(crc))
                w.u64(0)
                w.u64(0)
                w.u64(0)
            }
            for text in [final.sopInstanceUID, final.transferSyntaxUID, final.callingAETitle, final.receivedAt] {
                let utf8 = Array(text.utf8)
                guard utf8.count <= JournalLayout.maxField else { throw ArchiveError.io("journal: field too long: \(text.prefix(40))…") }
                w.u64(UInt64(utf8.count))
                w.bytes(utf8)
            }
        }
        w.zero(upTo: JournalLayout.checkedPrefix)
        let sum = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: buffer[0..<JournalLayout.checkedPrefix])).prefix(16)
        w.bytes(Array(sum))
    }

    /// The header at the start of `bytes` when it is one (magic, checksum and the expected segment), else nil.
    public static func decode(_ bytes: UnsafeRawBufferPointer, nonce: UInt64, generation: UInt64) -> RecordHeader? {
        guard bytes.count >= JournalLayout.recordHeaderSize,
              Array(bytes[0..<8]) == JournalLayout.recordMagic else { return nil }
        let sum = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<JournalLayout.checkedPrefix])).prefix(16)
        guard Array(bytes[JournalLayout.checkedPrefix..<JournalLayout.recordHeaderSize]) == Array(sum) else { return nil }
        var r = HeaderReader(bytes, from: 8)
        let kind = r.u64()
        guard r.u64() == nonce, r.u64() == generation, (1...3).contains(kind) else { return nil }
        let stream = r.u64(), offset = r.u64(), length = r.u64()
        guard length <= UInt64(UInt32.max) else { return nil }
        var final: FinalInfo?
        if kind != 1 {
            let total = r.u64()
            let hash = r.bytes(32)
            let checksum: JournalChecksum
            if kind == 2 {
                checksum = .blake3(hash)
            } else {
                guard hash.count == 32, hash[4...].allSatisfy({ $0 == 0 }) else { return nil }
                checksum = .crc32c(hash[0..<4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
            }
            var texts: [String] = []
            for _ in 0..<4 {
                let n = r.u64()
                guard n <= UInt64(JournalLayout.maxField) else { return nil }
                texts.append(String(decoding: r.bytes(Int(n)), as: UTF8.self))
            }
            final = FinalInfo(sopInstanceUID: texts[0], transferSyntaxUID: texts[1], callingAETitle: texts[2],
                              receivedAt: texts[3], totalLength: total, checksum: checksum)
        }
        return RecordHeader(nonce: nonce, generation: generation, stream: stream, offset: offset, length: UInt32(length), final: final)
    }
}

/// Little-endian fields into a buffer known to be large enough (a header's fields are bounded above).
private struct HeaderWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var at = 0
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes($0) }
    }
    mutating func bytes<C: Collection<UInt8>>(_ b: C) {
        for byte in b where at < buffer.count {
            buffer[at] = byte
            at += 1
        }
    }
    mutating func zero(upTo end: Int) {
        while at < min(end, buffer.count) {
            buffer[at] = 0
            at += 1
        }
    }
}

/// Reads within the checked prefix; past its end it answers zeros (the caller's checks then fail).
private struct HeaderReader {
    let bytes: UnsafeRawBufferPointer
    var at: Int
    init(_ bytes: UnsafeRawBufferPointer, from: Int) {
        self.bytes = bytes
        at = from
    }
    mutating func u64() -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 where at + i < JournalLayout.checkedPrefix && at + i < bytes.count {
            v |= UInt64(bytes[at + i]) << (8 * UInt64(i))
        }
        at += 8
        return v
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        let end = min(at + n, JournalLayout.checkedPrefix, bytes.count)
        let out = at < end ? Array(bytes[at..<end]) : []
        at += n
        return out
    }
}
