import DICOM

/// An instance's Part-10 bytes handed over in order, piece by piece, without being gathered in one place: read
/// back from the ingest journal, or from a file.
public protocol InstanceBytes {
    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws
}

/// The bytes of a journaled instance, read record by record from its segments into one aligned buffer.
struct JournaledBytes: InstanceBytes {
    let pieces: [JournalPiece]
    let descriptor: (Int) -> Int32
    let pool: AlignedBufferPool

    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = pool.take()
        defer { pool.give(buffer) }
        for piece in pieces {
            try body(try Materializer.read(piece, fd: descriptor(piece.segment), into: buffer, capacity: pool.bufferSize))
        }
    }
}

/// Bytes handed over while their BLAKE3 is computed: `blake3` holds it once a pass has ended. With `expecting`,
/// a pass whose bytes have another checksum throws `Materializer.ChecksumMismatch` after the last piece, before
/// the consumer can finish with them (the eDCKV spool then discards what it wrote).
final class ChecksummedBytes<Base: InstanceBytes>: InstanceBytes {
    let base: Base
    let expecting: JournalChecksum?
    private(set) var blake3: [UInt8]?

    init(_ base: Base, expecting: JournalChecksum? = nil) {
        self.base = base
        self.expecting = expecting
    }

    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var sums = JournalSums(expecting: expecting, blake3: true)
        blake3 = nil
        try base.forEachPiece { piece in
            sums.update(piece)
            try body(piece)
        }
        blake3 = try sums.finish()
    }
}

/// The bytes of a Part-10 file, read in 1 MB pieces.
public struct FileBytes: InstanceBytes {
    public let path: String

    public init(path: String) { self.path = path }

    public func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let reader = try FileReader(path: path)
        try reader.forEachChunk(size: 1 << 20) { chunk in
            try body(chunk)
            return true
        }
    }
}
