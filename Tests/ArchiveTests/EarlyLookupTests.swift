import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import Archive

/// The duplicate lookup a C-STORE makes while its bytes arrive: it stands at the commit only when no row of the
/// instance was recorded since; otherwise the commit asks the index again and the policy decides.
@Suite struct EarlyLookupTests {
    @Test func recentRowsTellWhetherAnInstanceWasRecordedSinceAMark() {
        let rows = RecentRows(capacity: 4)
        let mark = rows.mark()
        #expect(rows.noneSince(mark, of: "1.2.3"))
        rows.noted("1.2.4")
        rows.noted("1.2.5")
        #expect(rows.noneSince(mark, of: "1.2.3"))
        rows.noted("1.2.3")
        #expect(!rows.noneSince(mark, of: "1.2.3"))
        #expect(rows.noneSince(rows.mark(), of: "1.2.3"))
        // More rows than the ring keeps: it cannot tell, so the lookup does not stand.
        let old = rows.mark()
        for n in 0..<5 { rows.noted("1.9.\(n)") }
        #expect(!rows.noneSince(old, of: "1.2.3"))
        #expect(!rows.noneSince(rows.mark() + 1, of: "1.2.3"))
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
                                         receivedAt: "20261203T190000Z", hash: BLAKE3.hash(bytes), early: early)
        }
        #expect(try commit(first) == .stored(path: relative))
        #expect(throws: ArchiveError.self) { try commit(second) }
        #expect(archive.lookUpEarly(sop) == nil)
        #expect(try index.filePathNow(ofInstance: sop) == relative)
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
