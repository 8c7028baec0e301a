import Archive
import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import EDCKV

/// `--store dckv` through the ingest journal: what a crash left acknowledged in the journal is recovered into
/// the eDCKV spool (no file in the archive), at the location its index row names.
@Suite struct JournalSpoolTests {
    @Test func recoveryPutsJournaledInstancesIntoTheSpool() throws {
        let archive = try ExternalTool.temporaryDirectory("arca-journal-spool").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let store = try DCKVStore(archiveRoot: archive, policy: .reject)
        var configuration = FileArchive.Configuration(root: archive)
        configuration.spool = FileArchive.SpoolPlacement(
            location: { a in try store.location(studyInstanceUID: a.studyInstanceUID, studyDate: a.studyDate, sopInstanceUID: a.sopInstanceUID) },
            store: { bytes in try store.store(bytes, durable: false) })
        var sent: [String: [UInt8]] = [:]
        do {
            // A receiving process: instances journaled and flushed, then "killed" (the journal closed, nothing
            // materialized).
            let journal = try IngestJournal(root: archive)
            let pool = AlignedBufferPool()
            var streams: [JournalStream] = []
            for n in 1...3 {
                let file = MergerTests.instance(series: 1, n: n, instanceNumber: n)
                let bytes = try file.serialized()
                let stream = JournalStream(journal: journal, pool: pool)
                try bytes.withUnsafeBytes { try stream.append($0) }
                let sequence = try stream.finish(FinalInfo(
                    sopInstanceUID: "\(MergerTests.study).1.\(n)", transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                    receivedAt: "20261202T170000Z", totalLength: UInt64(bytes.count), checksum: .crc32c(CRC32C.checksum(bytes))))
                try journal.waitDurable(sequence)
                streams.append(stream)
                sent["\(MergerTests.study).1.\(n)"] = bytes
            }
            journal.close()
            _ = streams
        }
        let index = try SQLiteIndex(archive: archive)
        let report = try FileArchive.recover(configuration, index: index)
        #expect(report.failed.isEmpty, "\(report.failed)")
        #expect(report.replayed.count == 3 && report.replayed.allSatisfy(FileArchive.isEDCKVLocation))
        #expect(IndexMaintenance.archivedFiles(root: archive).isEmpty)
        let source = DCKVInstanceSource(archiveRoot: archive)
        for (sop, bytes) in sent {
            let location = try #require(try index.filePathNow(ofInstance: sop))
            #expect(FileArchive.isEDCKVLocation(location))
            let back = try DICOMFile.read(path: try source.filePath(location))
            #expect(back.dataSet.uid(.sopInstanceUID) == sop)
            #expect(try DICOMFile.read(bytes).dataSet.string(.patientName) == back.dataSet.string(.patientName))
        }
        #expect(try Inventory.list(archive + "/" + DCKVStore.folder).count == 3)
    }
}
