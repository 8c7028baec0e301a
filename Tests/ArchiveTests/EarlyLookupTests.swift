import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import Archive

/// The duplicate lookup a C-STORE makes while its bytes arrive: it stands at the commit only when no row of the
/// instance was recorded since; otherwise the commit asks the index again and the policy decides.
@Suite struct EarlyLookupTests {
    @Test func recentRowsTellWhetherAnInstanceWasRecordedSinceAMark() throws {
        let rows = RecentRows(capacity: 4)
        var all: UInt64 = 10  // the index's count of every process's rows
        func note(_ sop: String) {
            all += 1
            rows.noted(sop)
        }
        #expect(rows.mark(allRows: nil) == nil)
        let mark = try #require(rows.mark(allRows: all))
        note("1.2.4")
        note("1.2.5")
        #expect(rows.noneSince(mark, of: "1.2.3", allRows: all))
        note("1.2.3")
        #expect(!rows.noneSince(mark, of: "1.2.3", allRows: all))
        #expect(rows.noneSince(try #require(rows.mark(allRows: all)), of: "1.2.3", allRows: all))
        // Another process recorded a row (whichever instance): the count moved by more than this process's rows.
        let before = try #require(rows.mark(allRows: all))
        note("1.2.6")
        #expect(rows.noneSince(before, of: "1.2.3", allRows: all))
        #expect(!rows.noneSince(before, of: "1.2.3", allRows: all + 1))
        #expect(!rows.noneSince(before, of: "1.2.3", allRows: nil))
        // More rows than the ring keeps: it cannot tell, so the lookup does not hold.
        let old = try #require(rows.mark(allRows: all))
        for n in 0..<5 { note("1.9.\(n)") }
        #expect(!rows.noneSince(old, of: "1.2.3", allRows: all))
    }

    /// Two commits of one instance, both looked up before either committed (two associations sending it at once):
    /// the second is refused as a duplicate, not stored over the first.
    @Test func aLookupOvertakenByACommitOfTheSameInstanceDoesNotStand() throws {
        let root = try ExternalTool.temporaryDirectory("arca-early-lookup").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: .reject), index: index)
        defer { archive.close() }
        #expect(archive.looksUpEarly)
        let file = SampleImage.secondaryCapture()
        let bytes = try file.serialized()
        let attributes = InstanceAttributes(file.dataSet)
        let sop = attributes.sopInstanceUID
        let relative = try archive.relativePath(for: attributes)
        let first = try #require(archive.lookUpEarly(sop))
        let second = try #require(archive.lookUpEarly(sop))
        func commit(_ early: FileArchive.EarlyLookup) throws -> FileArchive.CommitResult {
            let stream = try #require(archive.journalStream())
            try bytes.withUnsafeBytes { try stream.append($0) }
            return try archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                         transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                         receivedAt: "20261203T190000Z", crc: CRC32C.checksum(bytes), early: early)
        }
        #expect(try commit(first) == .stored(path: relative))
        #expect { try commit(second) } throws: { error in
            if case ArchiveError.duplicate = error { return true } else { return false }
        }
        #expect(archive.lookUpEarly(sop) == nil)
        #expect(try index.filePathNow(ofInstance: sop) == relative)
    }

    /// A second server on the same archive (another process, so another index and another archive object)
    /// records the instance after this one looked it up: the lookup does not hold, the commit is refused.
    @Test func aRowAnotherProcessRecordedSinceTheLookupIsSeen() throws {
        try expectRefused(after: { other, record in try other.recordNow(record) })
    }

    /// Another process queued the instance's row (acknowledged, not yet committed: `PendingRows`) before this one
    /// looked it up, so the lookup could not see it; the row is committed before this commit: the lookup does not
    /// hold (the row is counted again once committed), the commit is refused.
    @Test func aRowAnotherProcessQueuedBeforeTheLookupAndCommittedSinceIsSeen() throws {
        try expectRefused(before: { other, record in try other.recordJournaled(record, endingClaim: true) },
                          // Any read of the other index commits what it queued.
                          after: { other, _ in
                            let rows = try other.allInstances().count
                            #expect(rows == 1)
                          })
    }

    /// A commit whose early lookup was made between `before` and `after`, which another process's index (`other`,
    /// on the same archive) ran on the same instance's row: refused as a duplicate.
    private func expectRefused(before: (SQLiteIndex, InstanceRecord) throws -> Void = { _, _ in },
                               after: (SQLiteIndex, InstanceRecord) throws -> Void) throws {
        let root = try ExternalTool.temporaryDirectory("arca-early-lookup").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: .reject),
                                      index: try SQLiteIndex(archive: root))
        defer { archive.close() }
        let other = try SQLiteIndex(archive: root)
        let file = SampleImage.secondaryCapture()
        let bytes = try file.serialized()
        let attributes = InstanceAttributes(file.dataSet)
        let relative = try archive.relativePath(for: attributes)
        let record = InstanceRecord(attributes: attributes, filePath: relative, fileSize: UInt64(bytes.count),
                                    fileHash: BLAKE3.hex(BLAKE3.hash(bytes)), transferSyntaxUID: file.transferSyntax.uid,
                                    receivedAt: "20261203T190000Z", callingAETitle: "OTHER")
        try before(other, record)
        let early = try #require(archive.lookUpEarly(attributes.sopInstanceUID))
        try after(other, record)
        let stream = try #require(archive.journalStream())
        try bytes.withUnsafeBytes { try stream.append($0) }
        #expect { try archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                        transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                        receivedAt: "20261203T190001Z", crc: CRC32C.checksum(bytes), early: early) } throws: { error in
            if case ArchiveError.duplicate = error { return true } else { return false }
        }
    }

    /// Without a row recorded since, an early lookup stands and the commit does not ask the index: seen here by a
    /// row written behind the archive's back (neither noted nor counted), which a commit that asked would have
    /// refused as a duplicate. The commit in place (no journal) takes the same path.
    @Test func anEarlyLookupThatHoldsSparesTheCommitsLookup() throws {
        let root = try ExternalTool.temporaryDirectory("arca-early-lookup").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, duplicatePolicy: .reject, journal: nil),
                                      index: index)
        defer { archive.close() }
        let file = SampleImage.secondaryCapture()
        let bytes = try file.serialized()
        let attributes = InstanceAttributes(file.dataSet)
        let relative = try archive.relativePath(for: attributes)
        let early = try #require(archive.lookUpEarly(attributes.sopInstanceUID))
        let behind = InstanceRecord(attributes: attributes, filePath: "elsewhere.dcm", fileSize: 1, fileHash: "00",
                                    transferSyntaxUID: file.transferSyntax.uid, receivedAt: "20261203T185959Z", callingAETitle: "X")
        try index.pool.write { db in try IndexStatements.record(behind, in: db) }
        let incoming = try IncomingFile(directory: archive.incomingDirectory, buffers: archive.writeBuffers)
        try incoming.append(bytes)
        let result = try archive.commitNow(placing: incoming, relative: relative, attributes: attributes,
                                           transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                           receivedAt: "20261203T190000Z", early: early) {
            try incoming.seal()
            return BLAKE3.hex(BLAKE3.hash(bytes))
        }
        #expect(result == .stored(path: relative))
        #expect(try index.filePathNow(ofInstance: attributes.sopInstanceUID) == relative)
        // Without the early lookup the same commit asks the index, finds the row and refuses.
        let again = try IncomingFile(directory: archive.incomingDirectory, buffers: archive.writeBuffers)
        defer { again.discard() }
        try again.append(bytes)
        #expect { try archive.commitNow(placing: again, relative: relative, attributes: attributes,
                                        transferSyntaxUID: file.transferSyntax.uid, callingAETitle: "T",
                                        receivedAt: "20261203T190001Z") { try again.seal(); return "" } } throws: { error in
            if case ArchiveError.duplicate = error { return true } else { return false }
        }
    }

    @Test func anArchiveWithoutAnIndexIsNotLookedUpEarly() throws {
        let root = try ExternalTool.temporaryDirectory("arca-early-lookup").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root), index: nil)
        defer { archive.close() }
        #expect(!archive.looksUpEarly)
        #expect(archive.lookUpEarly("1.2.3") == nil)
    }
}
