import DICOM
import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import Archive

/// What could leave an acknowledged instance behind in the journal for good, or a hook that never runs.
@Suite(.timeLimit(.minutes(1))) struct MaterializerStuckTests {
    /// A commit into a folder that does not exist, with create_directories off, is refused before it is
    /// acknowledged (as a commit in place is): acknowledged, the materializer retried it for ever and every
    /// instance behind it waited.
    @Test func aFolderThatCannotBeMadeIsRefusedAtTheCommit() throws {
        let root = try ExternalTool.temporaryDirectory("arca-no-folder").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = try SQLiteIndex(archive: root)
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root, createDirectories: false), index: index)
        defer { archive.close() }
        #expect(throws: ArchiveError.self) {
            _ = try MaterializerHoldTests.Fixture.commit(SampleImage.secondaryCapture(), in: archive)
        }
        #expect(archive.materializer?.isIdle == true)
    }

    /// Callbacks waiting for a path run when its last pending commit is withdrawn (`duplicate: replace`: the
    /// earlier copy was placed while a second was pending, and the second failed).
    @Test func theWaitersOfAWithdrawnPathRun() throws {
        let f = try MaterializerHoldTests.Fixture(hold: Materializer.Hold(limit: 1 << 30))
        defer { f.close() }
        let ran = NIOLockedValueBox(false)
        f.materializer.expect("1/2/3.dcm")
        f.materializer.expect("1/2/3.dcm")
        f.materializer.whenMaterialized("1/2/3.dcm") { ran.withLockedValue { $0 = true } }
        f.materializer.withdraw("1/2/3.dcm")
        #expect(!ran.withLockedValue { $0 })  // one commit of the path still pending
        f.materializer.withdraw("1/2/3.dcm")
        #expect(ran.withLockedValue { $0 })
    }

    /// A reader of an instance that cannot be placed gives up after its timeout instead of holding its thread.
    @Test func aReaderOfAnInstanceNeverPlacedGivesUp() throws {
        let f = try MaterializerHoldTests.Fixture(hold: Materializer.Hold(limit: 1 << 30))
        defer { f.close() }
        f.materializer.expect("1/2/4.dcm")  // a commit begun, its job never queued
        let start = Date()
        f.materializer.waitMaterialized("1/2/4.dcm", timeout: 0.3)
        // It waited (a lower bound: no flake on a loaded machine), and came back with the path still not placed.
        #expect(Date().timeIntervalSince(start) >= 0.29)
        #expect(f.materializer.isPending("1/2/4.dcm"))
        f.materializer.withdraw("1/2/4.dcm")
        #expect(!f.materializer.isPending("1/2/4.dcm"))
    }
}
