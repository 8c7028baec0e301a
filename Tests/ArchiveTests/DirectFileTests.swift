import Archive
import Foundation
import Testing
import TestSupport

@Suite struct DirectFileTests {
    /// Bytes of a deterministic pattern, so a misplaced block shows as a mismatch.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Whatever the size and however the bytes arrive (odd pieces, idle writes between them), the file holds
    /// exactly the bytes appended: direct writes for the aligned part, the tail through the cache.
    @Test(arguments: [0, 1, 4095, 4096, 4097, 65_537, 1 << 20, (1 << 20) + 123, 3_000_001])
    func fileHoldsExactlyTheBytesAppended(size: Int) throws {
        let dir = try ExternalTool.temporaryDirectory("arca-direct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pool = AlignedBufferPool(bufferSize: 256 << 10)
        let expected = Self.bytes(size, seed: UInt64(size))
        let file = try IncomingFile(directory: dir.path, buffers: pool)
        var offset = 0
        var piece = 1
        while offset < size {
            let n = min(piece, size - offset)
            try expected[offset..<(offset + n)].withUnsafeBytes { try file.append($0) }
            offset += n
            piece = piece * 3 + 7
            if piece % 2 == 1 { try file.idle() }
        }
        #expect(file.size == UInt64(size))
        try file.seal()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path))) == expected)
    }

    /// Without a pool (or where O_DIRECT is refused: tmpfs) the file is written through the cache, the same.
    @Test func writesThroughTheCacheWithoutPoolOrOnTmpfs() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-direct")
        defer { try? FileManager.default.removeItem(at: dir) }
        var folders = [(dir.path, nil as AlignedBufferPool?)]
        if FileManager.default.fileExists(atPath: "/dev/shm") {
            let shm = "/dev/shm/arca-direct-\(getpid())"
            try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
            folders.append((shm, AlignedBufferPool()))
        }
        defer { try? FileManager.default.removeItem(atPath: "/dev/shm/arca-direct-\(getpid())") }
        for (folder, pool) in folders {
            let expected = Self.bytes(700_001, seed: 7)
            let file = try IncomingFile(directory: folder, buffers: pool)
            try expected.withUnsafeBytes { try file.append(UnsafeRawBufferPointer(rebasing: $0[0..<300_000])) }
            try file.idle()
            try expected.withUnsafeBytes { try file.append(UnsafeRawBufferPointer(rebasing: $0[300_000...])) }
            try file.seal()
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path))) == expected, "\(folder)")
        }
    }

    /// The observer (the eDCKV spool's hash) sees every byte once, in file order, whichever thread writes it.
    @Test func observerSeesEveryByteInOrder() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-direct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = Self.bytes(2_345_679, seed: 11)
        let seen = ObservedBytes()
        var file = try DirectFile(creating: dir.path + "/observed", pool: AlignedBufferPool(bufferSize: 64 << 10)) { seen.append($0) }
        var offset = 0
        while offset < expected.count {
            let n = min(100_003, expected.count - offset)
            try expected[offset..<(offset + n)].withUnsafeBytes { try file.append($0) }
            offset += n
            try file.writeStaged(minimum: 4096)
        }
        try file.seal()
        #expect(seen.bytes == expected)
        #expect(try [UInt8](Data(contentsOf: dir.appendingPathComponent("observed"))) == expected)
    }

    /// A discarded file leaves nothing behind, and its buffer goes back to the pool for the next file.
    @Test func discardRemovesTheFile() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-direct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pool = AlignedBufferPool()
        for _ in 0..<20 {
            let file = try IncomingFile(directory: dir.path, buffers: pool)
            try Self.bytes(10_000, seed: 1).withUnsafeBytes { try file.append($0) }
            file.discard()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

/// Bytes gathered from another thread.
final class ObservedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    func append(_ bytes: UnsafeRawBufferPointer) { lock.lock(); storage.append(contentsOf: bytes); lock.unlock() }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return storage }
}
