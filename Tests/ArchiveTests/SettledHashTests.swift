import BLAKE3
import CArcaIO
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

    /// The update lands only on the row that still holds the placeholder it names, at the path it names.
    @Test func aSettledHashReplacesOnlyItsOwnPlaceholder() throws {
        let (index, dir) = try SQLiteIndexTests.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        var record = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.6", series: "1.6.0", sop: "1.6.1"))
        record.fileHash = "journal-0000000000000002-0badf00d"
        try index.recordNow(record)
        func hash() throws -> String? { try index.allInstances().first?.fileHash }
        try index.settleHashes([SettledHash(sopInstanceUID: "1.6.1", filePath: record.filePath,
                                            placeholder: "journal-0000000000000001-0badf00d", hash: "earlier")])
        #expect(try hash() == record.fileHash)
        try index.settleHashes([SettledHash(sopInstanceUID: "1.6.1", filePath: "elsewhere.dcm",
                                            placeholder: record.fileHash, hash: "elsewhere")])
        #expect(try hash() == record.fileHash)
        try index.settleHashes([SettledHash(sopInstanceUID: "1.6.1", filePath: record.filePath,
                                            placeholder: record.fileHash, hash: "b3")])
        #expect(try hash() == "b3")
    }

    /// `arca index check` on a running server: a row read with its placeholder, whose instance the materializer
    /// puts in place and settles (and whose journal record it lets go) while the check goes through the rows, is
    /// read again and found in order, not reported as a row without its file. The same row never settled is.
    /// The row is read again in the engine's own SQL (its parameter placeholder), so each engine runs it
    /// (PostgreSQL's case in `OnPostgreSQL`).
    @Test(arguments: IndexEngine.embedded) func aRowSettledWhileTheCheckRunsIsReadAgain(engine: IndexEngine) throws {
        for settles in [true, false] {
            let (index, dir) = try SQLiteIndexTests.index(engine)
            defer { try? FileManager.default.removeItem(at: dir) }
            let bytes = [UInt8](repeating: 0x5A, count: 10)
            var record = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.7", series: "1.7.0", sop: "1.7.1"))
            record.fileHash = "journal-0000000000000003-0badf00d"
            try index.recordNow(record)
            var settled = false
            let report = try IndexMaintenance.check(root: dir.path, index: index) { done, _ in
                // After the check has read every row and listed the files (its progress starts with the first row
                // it checks): the server's materializer at work.
                guard settles, !settled, done >= 1 else { return }
                settled = true
                let path = dir.path + "/" + record.filePath
                try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                         withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
                try? index.settleHashes([SettledHash(sopInstanceUID: "1.7.1", filePath: record.filePath,
                                                     placeholder: record.fileHash, hash: BLAKE3.hex(BLAKE3.hash(bytes)))])
            }
            if settles {
                #expect(settled)
                #expect(report.isClean, "\(report)")
            } else {
                #expect(report.rowsWithoutFiles == [record.filePath])
            }
        }
    }

    /// Bytes damaged in the journal after their acknowledgement are not placed, and do not stop the instances
    /// behind them: set aside, reported, their row left with its placeholder (a row without its file).
    @Test func anInstanceDamagedInTheJournalIsSetAsideAndTheRestPlaced() throws {
        let f = try MaterializerHoldTests.Fixture(hold: Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1 << 30))
        defer { f.close() }
        let reports = ReportLog()
        f.materializer.setReporter { reports.append($0) }
        var stored: [(path: String, bytes: [UInt8], sop: String, piece: JournalPiece)] = []
        for n in 0..<3 {
            let file = SampleImage.secondaryCapture(rows: UInt16(80 + n))
            let bytes = try file.serialized()
            let attributes = InstanceAttributes(file.dataSet)
            let relative = try f.archive.relativePath(for: attributes)
            let stream = try #require(f.archive.journalStream())
            try bytes.withUnsafeBytes { try stream.append($0) }
            _ = try f.archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                        transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                        receivedAt: "20261206T130000Z", crc: CRC32C.checksum(bytes))
            stored.append((relative, bytes, attributes.sopInstanceUID, try #require(stream.pieces.first { $0.length > 200 })))
        }
        // One byte of the second instance flipped on the device.
        let journal = try #require(f.archive.journal)
        let segment = journal.directory + "/" + String(format: "seg-%06d", stored[1].piece.segment)
        let handle = try #require(FileHandle(forUpdatingAtPath: segment))
        let at = UInt64(stored[1].piece.recordOffset + JournalLayout.recordHeaderSize + 200)
        try handle.seek(toOffset: at)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: [byte ^ 0x20])
        try handle.synchronize()
        try handle.close()

        f.materializer.drain()
        #expect(f.materializer.isIdle)
        let rows = try Self.rows(f.index)
        for i in [0, 2] {
            #expect(rows[stored[i].sop] == BLAKE3.hex(BLAKE3.hash(stored[i].bytes)))
            #expect(FileManager.default.contents(atPath: f.root + "/" + stored[i].path) == Data(stored[i].bytes))
        }
        #expect(rows[stored[1].sop].map(JournalChecksum.isPlaceholder) == true)
        #expect(!FileManager.default.fileExists(atPath: f.root + "/" + stored[1].path))
        #expect(reports.lines.contains { $0.contains(stored[1].path) && $0.contains("CRC-32C") }, "\(reports.lines)")
        #expect(try IndexMaintenance.check(root: f.root, index: f.index).rowsWithoutFiles == [stored[1].path])
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
        // The tables of CPUs without the instruction agree too.
        bytes.withUnsafeBytes { raw in
            for (start, length) in [(0, 0), (1, 7), (3, 4099), (5, 100_000 - 8)] {
                let piece = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                var crc = CRC32C()
                crc.update(piece)
                #expect(arca_crc32c_portable(0, piece.baseAddress, length) == crc.value)
            }
        }
    }
}

/// What a materializer reported.
final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []
    func append(_ line: String) { lock.withLock { kept.append(line) } }
    var lines: [String] { lock.withLock { kept } }
}
