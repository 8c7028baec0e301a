import BLAKE3
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

/// Bytes handed over while their CRC-32C and BLAKE3 are computed: `sums` holds them once a pass has ended. With
/// `expecting`, a pass whose bytes have another CRC-32C throws `Materializer.ChecksumMismatch` after the last
/// piece, before the consumer can finish with them (the eDCKV spool then discards what it wrote).
final class ChecksummedBytes<Base: InstanceBytes>: InstanceBytes {
    let base: Base
    let expecting: UInt32?
    private(set) var sums: (crc: UInt32, blake3: [UInt8])?

    init(_ base: Base, expecting: UInt32? = nil) {
        self.base = base
        self.expecting = expecting
    }

    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var crc = CRC32C()
        var hasher = BLAKE3()
        sums = nil
        try base.forEachPiece { piece in
            crc.update(piece)
            hasher.update(piece)
            try body(piece)
        }
        if let expecting, crc.value != expecting { throw Materializer.ChecksumMismatch() }
        sums = (crc.value, hasher.finalize())
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
