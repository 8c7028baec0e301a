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
        let files = (1...3).map { n in MergerTests.instance(series: 1, n: n, instanceNumber: n) }
        let (archive, index) = try Self.journalThenRecover(files)
        defer { try? FileManager.default.removeItem(atPath: archive) }
        #expect(try Inventory.list(archive + "/" + DCKVStore.folder).count == 3)
        _ = index
    }

    /// A Study Date the index and the spool read differently (a NUL inside it: the row's reading drops it and
    /// files the study under 2020-01-01, the spool's own reading finds no date; until 7 December a leading NUL
    /// split them the other way): the instance goes where its row says. Put elsewhere, the materializer failed
    /// on it, retried it for ever, and every store behind it waited; recovery left it out.
    @Test func anInstanceGoesWhereItsRowSaysWhateverItsStudyDate() throws {
        var file = MergerTests.instance(series: 1, n: 1, instanceNumber: 1)
        file.dataSet.set(Element(tag: .studyDate, vr: .DA, bytes: Array("2020".utf8) + [0] + Array("0101 ".utf8)))
        let (archive, index) = try Self.journalThenRecover([file])
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let location = try #require(try index.filePathNow(ofInstance: "\(MergerTests.study).1.1"))
        #expect(location.hasPrefix(DCKVStore.folder + "/20200101/"), "\(location)")
    }

    /// Journals `files` as a receiving process would, "kills" it (the journal closed, nothing materialized), and
    /// recovers into the eDCKV spool: every instance is then at the location its index row names, and reads
    /// back as sent. Answers the archive folder and its index.
    static func journalThenRecover(_ files: [DICOMFile]) throws -> (archive: String, index: SQLiteIndex) {
        let archive = try ExternalTool.temporaryDirectory("arca-journal-spool").path
        let store = try DCKVStore(archiveRoot: archive, policy: .reject)
        var configuration = FileArchive.Configuration(root: archive)
        configuration.spool = FileArchive.SpoolPlacement(
            location: { a in try store.location(studyInstanceUID: a.studyInstanceUID, studyDate: a.studyDate, sopInstanceUID: a.sopInstanceUID) },
            store: { bytes, location in try store.store(bytes, durable: false, at: location) })
        var sent: [String: [UInt8]] = [:]
        do {
            let journal = try IngestJournal(root: archive)
            let pool = AlignedBufferPool()
            var streams: [JournalStream] = []
            for file in files {
                let sop = file.dataSet.uid(.sopInstanceUID) ?? ""
                let bytes = try file.serialized()
                let stream = JournalStream(journal: journal, pool: pool)
                try bytes.withUnsafeBytes { try stream.append($0) }
                let sequence = try stream.finish(FinalInfo(
                    sopInstanceUID: sop, transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                    receivedAt: "20261202T170000Z", totalLength: UInt64(bytes.count), checksum: .crc32c(CRC32C.checksum(bytes))))
                try journal.waitDurable(sequence)
                streams.append(stream)
                sent[sop] = bytes
            }
            journal.close()
            _ = streams
        }
        let index = try SQLiteIndex(archive: archive)
        let report = try FileArchive.recover(configuration, index: index)
        #expect(report.failed.isEmpty, "\(report.failed)")
        #expect(report.replayed.count == files.count && report.replayed.allSatisfy(FileArchive.isEDCKVLocation))
        #expect(IndexMaintenance.archivedFiles(root: archive).isEmpty)
        let source = DCKVInstanceSource(archiveRoot: archive)
        for (sop, bytes) in sent {
            let location = try #require(try index.filePathNow(ofInstance: sop))
            #expect(FileArchive.isEDCKVLocation(location))
            let back = try DICOMFile.read(path: try source.filePath(location))
            #expect(back.dataSet.uid(.sopInstanceUID) == sop)
            #expect(try DICOMFile.read(bytes).dataSet.string(.patientName) == back.dataSet.string(.patientName))
        }
        return (archive, index)
    }
}
