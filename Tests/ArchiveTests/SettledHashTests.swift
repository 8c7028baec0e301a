import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import Archive

/// A journaled instance is acknowledged with a CRC-32C of its bytes; its row holds a placeholder until the
/// materializer, copying the bytes into place, has computed their BLAKE3 and recorded it (BLAKE3 off the
/// acknowledgement's path).
@Suite struct SettledHashTests {
    static func rows(_ index: SQLiteIndex) throws -> [String: String] {
        Dictionary(try index.allInstances().map { ($0.sopInstanceUID, $0.fileHash) }, uniquingKeysWith: { $1 })
    }

    @Test func rowsHoldAPlaceholderUntilTheBytesAreInPlace() throws {
        let f = try MaterializerHoldTests.Fixture(hold: Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1 << 30))
        defer { f.close() }
        let stored = try (0..<3).map { try MaterializerHoldTests.Fixture.store($0, in: f.archive) }
        let held = try Self.rows(f.index)
        #expect(stored.allSatisfy { held[$0.sop].map(JournalChecksum.isPlaceholder) == true }, "\(held)")
        f.materializer.drain()
        let settled = try Self.rows(f.index)
        for instance in stored {
            #expect(settled[instance.sop] == BLAKE3.hex(BLAKE3.hash(instance.bytes)))
            #expect(FileManager.default.contents(atPath: f.root + "/" + instance.path) == Data(instance.bytes))
        }
        #expect(try IndexMaintenance.check(root: f.root, index: f.index).isClean)
    }

    /// A replacement committed while the instance it replaces is still queued: the first one's BLAKE3 must not
    /// land on the replacement's row (each placeholder names its own stream).
    @Test func aReplacementQueuedBehindTheInstanceItReplacesKeepsItsOwnHash() throws {
        let root = try ExternalTool.temporaryDirectory("arca-settle").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: .replace), index: index)
        defer { archive.close() }
        let materializer = try #require(archive.materializer)
        materializer.setHold(Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1 << 30))
        var file = SampleImage.secondaryCapture(rows: 32)
        var sent: [[UInt8]] = []
        for name in ["FIRST^VERSION", "SECOND^VERSION"] {
            file.dataSet.setString(name, for: .patientName, vr: .PN)
            let bytes = try file.serialized()
            let attributes = InstanceAttributes(file.dataSet)
            let relative = try archive.relativePath(for: attributes)
            let stream = try #require(archive.journalStream())
            try bytes.withUnsafeBytes { try stream.append($0) }
            _ = try archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                      transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                      receivedAt: "20261206T120000Z", crc: CRC32C.checksum(bytes))
            sent.append(bytes)
        }
        #expect(materializer.materialized == 0)
        materializer.drain()
        let sop = InstanceAttributes(file.dataSet).sopInstanceUID
        #expect(try Self.rows(index)[sop] == BLAKE3.hex(BLAKE3.hash(sent[1])))
        let path = try #require(try index.filePathNow(ofInstance: sop))
        #expect(FileManager.default.contents(atPath: root + "/" + path) == Data(sent[1]))
    }

    @Test func crc32cMatchesTheStandardsCheckValueInAnyPieces() {
        // The check value of CRC-32C (RFC 3720 B.4; "123456789").
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<100_003).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // Bytewise, as a reference the lanes of the instruction must agree with.
        var table = [UInt32](repeating: 0, count: 256)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0x82F6_3B78 & (0 &- (c & 1))) }
            table[b] = c
        }
        let reference = ~bytes.reduce(~UInt32(0)) { ($0 >> 8) ^ table[Int(($0 ^ UInt32($1)) & 0xFF)] }
        #expect(CRC32C.checksum(bytes) == reference)
        var pieces = CRC32C(), at = 0, size = 1
        while at < bytes.count {
            let n = min(size, bytes.count - at)
            bytes[at..<(at + n)].withUnsafeBytes { pieces.update($0) }
            at += n
            size = size * 3 + 5
        }
        #expect(pieces.value == reference)
    }
}
