import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import Archive

/// The index's SOP Instance UIDs in memory: "certainly absent" lets a new instance's commit skip the duplicate
/// lookup, so it must never be said of an instance the index holds.
@Suite struct KnownInstancesTests {
    @Test func theFilterNeverCallsAUIDItHoldsAbsent() {
        let known = KnownInstances()
        #expect(!known.certainlyAbsent("1.2.3"))
        #expect(known.begin(rows: 0))
        #expect(!known.begin(rows: 0), "one scan per filter")
        known.insert("1.2.3")
        // Not until the scan has ended.
        #expect(!known.certainlyAbsent("1.2.4"))
        known.completed()
        #expect(known.certainlyAbsent("1.2.4"))
        #expect(!known.certainlyAbsent("1.2.3"))
        let held = (0..<100_000).map { "1.2.826.0.1.3680043.10.\($0).\($0 % 7)" }
        known.insert(contentsOf: held)
        #expect(held.allSatisfy { !known.certainlyAbsent($0) })
        // Others: a false "maybe" only costs a lookup, but the filter is worth keeping only if they are rare
        // (with 100,000 of the million it is sized for, about one in a million).
        let others = (0..<100_000).map { "1.2.826.0.1.3680043.11.\($0)" }
        let maybes = others.filter { !known.certainlyAbsent($0) }.count
        #expect(maybes < 100, "\(maybes) false maybes in 100,000")
    }

    /// Rows recorded before the scan, committed or only queued, and rows recorded after it, by any of the index's
    /// recording calls, are never absent; a UID nobody recorded is.
    @Test func theIndexKnowsEveryRowItRecorded() throws {
        let root = try ExternalTool.temporaryDirectory("arca-known").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let committed = Self.record()
        try index.recordNow(committed)
        let queued = Self.record()
        try index.recordJournaled(queued, endingClaim: true)
        let stranger = Self.record().attributes.sopInstanceUID
        #expect(!index.certainlyAbsent(stranger), "nothing is absent before the scan")
        try index.startKnowing()
        #expect(index.certainlyAbsent(stranger))
        #expect(!index.certainlyAbsent(committed.attributes.sopInstanceUID))
        #expect(!index.certainlyAbsent(queued.attributes.sopInstanceUID))
        let later = [Self.record(), Self.record(), Self.record()]
        try index.recordNow(later[0])
        try index.recordJournaled(later[1], endingClaim: true)
        try index.recordBatch([later[2]])
        for record in later { #expect(!index.certainlyAbsent(record.attributes.sopInstanceUID)) }
        #expect(index.certainlyAbsent(stranger))
    }

    /// Another process on the same index (another server sharing the archive) records a row after this one read
    /// the UIDs: this one no longer answers "absent" for any instance (it cannot know which), so its commits look
    /// the index up again, and the other's instance is refused as a duplicate.
    @Test func aRowAnotherProcessRecordsEndsTheAnswers() throws {
        let root = try ExternalTool.temporaryDirectory("arca-known").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: .reject), index: index)
        defer { archive.close() }
        try index.startKnowing()
        let file = SampleImage.secondaryCapture()
        let bytes = try file.serialized()
        let attributes = InstanceAttributes(file.dataSet)
        let relative = try archive.relativePath(for: attributes)
        #expect(index.certainlyAbsent(attributes.sopInstanceUID))
        let other = try SQLiteIndex(archive: root)
        try other.recordNow(InstanceRecord(attributes: attributes, filePath: relative, fileSize: UInt64(bytes.count),
                                           fileHash: BLAKE3.hex(BLAKE3.hash(bytes)), transferSyntaxUID: file.transferSyntax.uid,
                                           receivedAt: "20261207T050000Z", callingAETitle: "OTHER"))
        #expect(!index.certainlyAbsent(attributes.sopInstanceUID))
        #expect(!index.certainlyAbsent(Self.record().attributes.sopInstanceUID))
        #expect { try Self.commit(bytes, of: file, to: archive) } throws: { error in
            if case ArchiveError.duplicate = error { return true } else { return false }
        }
    }

    /// Once the UIDs are in memory, a new instance is stored without a lookup and the same instance sent again is
    /// still refused (the policy's lookup runs for a UID the filter holds), under each duplicate policy.
    @Test(arguments: [DuplicatePolicy.reject, .ignore, .replace])
    func aDuplicateIsStillSeenOnceTheUIDsAreInMemory(_ policy: DuplicatePolicy) throws {
        let root = try ExternalTool.temporaryDirectory("arca-known").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: policy), index: index)
        defer { archive.close() }
        try index.startKnowing()
        let file = SampleImage.secondaryCapture()
        let bytes = try file.serialized()
        let relative = try archive.relativePath(for: InstanceAttributes(file.dataSet))
        #expect(try Self.commit(bytes, of: file, to: archive) == .stored(path: relative))
        switch policy {
        case .reject:
            #expect { try Self.commit(bytes, of: file, to: archive) } throws: { error in
                if case ArchiveError.duplicate = error { return true } else { return false }
            }
        case .ignore: #expect(try Self.commit(bytes, of: file, to: archive) == .ignored(path: relative))
        case .replace: #expect(try Self.commit(bytes, of: file, to: archive) == .replaced(path: relative))
        }
    }

    private static func commit(_ bytes: [UInt8], of file: DICOMFile, to archive: FileArchive) throws -> FileArchive.CommitResult {
        let attributes = InstanceAttributes(file.dataSet)
        let stream = try #require(archive.journalStream())
        try bytes.withUnsafeBytes { try stream.append($0) }
        return try archive.commitNow(journaled: stream, relative: try archive.relativePath(for: attributes), attributes: attributes,
                                     transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                     receivedAt: Timestamp.now(), crc: CRC32C.checksum(bytes))
    }

    private static func record() -> InstanceRecord {
        let attributes = InstanceAttributes(SampleImage.secondaryCapture().dataSet)
        return InstanceRecord(attributes: attributes, filePath: attributes.sopInstanceUID + ".dcm", fileSize: 1, fileHash: "00",
                              transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid, receivedAt: "20261207T050000Z",
                              callingAETitle: "T")
    }
}
