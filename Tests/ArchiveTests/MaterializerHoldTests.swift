import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import Archive

/// The materializer holds a burst of acknowledged instances back while they keep coming (its device and CPU work
/// would slow their acknowledgements), and gives way at once to a reader, to a backlog past its limit and to a
/// clean stop. The hold is set long here (10 s), so no check depends on how fast this machine is.
@Suite struct MaterializerHoldTests {
    struct Fixture {
        let root: String
        let archive: FileArchive
        let materializer: Materializer
        let index: SQLiteIndex

        init(hold: Materializer.Hold) throws {
            root = try ExternalTool.temporaryDirectory("arca-hold").path
            index = try SQLiteIndex(archive: root)
            archive = try FileArchive(configuration: FileArchive.Configuration(root: root), index: index)
            materializer = try #require(archive.materializer)
            materializer.setHold(hold)
        }

        /// Commits a new instance through the journal, as a C-STORE does: its relative path.
        func store(_ n: Int) throws -> String { try Self.store(n, in: archive).path }

        /// Commits a new instance (`n` tells it apart) through `archive`'s journal, as a C-STORE does.
        static func store(_ n: Int, in archive: FileArchive) throws -> (path: String, bytes: [UInt8], sop: String) {
            let committed = try commit(SampleImage.secondaryCapture(rows: UInt16(64 + n)), in: archive,
                                       receivedAt: "20261203T220000Z")
            #expect(committed.result == .stored(path: committed.path))
            return (committed.path, committed.bytes, committed.sop)
        }

        /// Commits `file` through `archive`'s journal, as a C-STORE does, whatever the duplicate policy makes of it.
        static func commit(_ file: DICOMFile, in archive: FileArchive, receivedAt: String = Timestamp.now())
            throws -> (path: String, bytes: [UInt8], sop: String, result: FileArchive.CommitResult) {
            let bytes = try file.serialized()
            let attributes = InstanceAttributes(file.dataSet)
            let relative = try archive.relativePath(for: attributes)
            let stream = try #require(archive.journalStream())
            try bytes.withUnsafeBytes { try stream.append($0) }
            let result = try archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                               transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                               receivedAt: receivedAt, crc: CRC32C.checksum(bytes))
            return (relative, bytes, attributes.sopInstanceUID, result)
        }

        func close() {
            archive.close()
            try? FileManager.default.removeItem(atPath: root)
        }
    }


    /// A clean stop leaves nothing to replay: the segment being filled was left active, so every start replayed
    /// its instances, bringing back a file deleted from the archive since.
    @Test func aCleanStopLeavesNothingToReplay() throws {
        let root: String
        let path: String
        do {
            let f = try Fixture(hold: Materializer.Hold(limit: 1 << 30))
            root = f.root
            path = try f.store(1)
            f.archive.close()
        }
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(FileManager.default.fileExists(atPath: root + "/" + path))
        try FileManager.default.removeItem(atPath: root + "/" + path)
        let report = try FileArchive.recover(FileArchive.Configuration(root: root), index: try SQLiteIndex(archive: root))
        #expect(report.replayed.isEmpty, "\(report.replayed)")
        #expect(!FileManager.default.fileExists(atPath: root + "/" + path))
    }

    @Test func aBurstIsHeldUntilAReaderAsks() throws {
        let f = try Fixture(hold: Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1 << 30))
        defer { f.close() }
        let paths = try (0..<5).map { try f.store($0) }
        // Held with all five queued: without the hold the batch would go once it waited 50 ms for company.
        #expect(f.materializer.waitHolding(5, timeout: 30))
        #expect(f.materializer.materialized == 0)
        #expect(paths.allSatisfy { f.materializer.isPending($0) })
        #expect(!FileManager.default.fileExists(atPath: f.root + "/" + paths[0]))
        // A reader does not wait for the burst to end.
        let asked = Date()
        f.materializer.waitMaterialized(paths[0])
        #expect(Date().timeIntervalSince(asked) < 5)
        #expect(FileManager.default.fileExists(atPath: f.root + "/" + paths[0]))
        // The batch took everything queued: one syncfs for the five.
        #expect(f.materializer.materialized == 5)
        #expect(f.materializer.syncCount == 1)
    }

    @Test func aBacklogPastTheLimitIsNotHeld() throws {
        // A limit below one instance: nothing is held, the usual batch delay applies.
        let f = try Fixture(hold: Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1))
        defer { f.close() }
        let path = try f.store(1)
        let stored = Date()
        #expect(f.materializer.waitIdle(timeout: 8))
        #expect(Date().timeIntervalSince(stored) < 8)
        #expect(FileManager.default.fileExists(atPath: f.root + "/" + path))
    }

    @Test func aStreamThatNeverPausesIsMaterializedAfterTheLongestHold() throws {
        let f = try Fixture(hold: Materializer.Hold(quietPeriod: 60, maxHold: 0.2, limit: 1 << 30))
        defer { f.close() }
        let path = try f.store(1)
        #expect(f.materializer.waitIdle(timeout: 8))
        #expect(FileManager.default.fileExists(atPath: f.root + "/" + path))
    }

    /// More than one batch of a stream that never pauses: each instance waits the longest hold from when it came,
    /// not from the last batch (which would hold the rest for another whole period after each batch of 64).
    @Test func theLongestHoldCountsFromEachInstance() throws {
        let f = try Fixture(hold: Materializer.Hold(quietPeriod: 600, maxHold: 6, limit: 1 << 30))
        defer { f.close() }
        let started = Date()
        let paths = try (0..<(2 * 64 + 2)).map { try f.store($0 % 100) }
        // Three batches or more, each due six seconds after its first instance came (six seconds after the last
        // store at most), not six seconds after the batch before it (eighteen or more). The 130 stores took up to
        // 4.5 s on a loaded 2-core machine: with a 3 s hold the two outcomes were 7.6 s against 9 s.
        #expect(f.materializer.waitIdle(timeout: 40))
        let took = Date().timeIntervalSince(started)
        #expect(took < 15, "materialized \(took) s after the first store")
        #expect(f.materializer.materialized == paths.count)
        #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: f.root + "/" + $0) })
    }

    /// The default limit: a whole large study (1 GiB) where the disk leaves room for it, half the journal's
    /// segments but two where it does not, nothing on a journal of three or fewer.
    @Test func theLimitIsABurstOrHalfTheJournal() {
        let segment = IngestJournal.defaultSegmentSize
        #expect(Materializer.Hold.limit(segments: 400, segmentSize: segment) == Materializer.Hold.burstLimit)
        #expect(Materializer.Hold.burstLimit == 1 << 30)
        #expect(Materializer.Hold.limit(segments: 22, segmentSize: segment) == UInt64(10 * segment))
        #expect(Materializer.Hold.limit(segments: 3, segmentSize: segment) == 0)
        #expect(Materializer.Hold.limit(segments: 0, segmentSize: segment) == 0)
    }

    @Test func aStopMaterializesWhatIsHeld() throws {
        let f = try Fixture(hold: Materializer.Hold(quietPeriod: 10, maxHold: 60, limit: 1 << 30))
        defer { f.close() }
        let paths = try (0..<3).map { try f.store($0) }
        #expect(f.materializer.waitHolding(3, timeout: 30))
        #expect(f.materializer.materialized == 0)
        f.materializer.drain()
        #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: f.root + "/" + $0) })
        #expect(f.materializer.isIdle)
    }
}
