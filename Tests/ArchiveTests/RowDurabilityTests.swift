import BLAKE3
import Foundation
import TestSupport
import Testing

@testable import Archive

/// The journal keeps an instance until its row is durable: the materializer asks the index
/// (`makeRowsDurable`) after its `syncfs`, and a batch whose rows cannot be made durable yet (the database is
/// unreachable) stays queued, in place, and is asked for again, never copied twice; so does a batch whose rows'
/// BLAKE3 could not be recorded, and the BLAKE3 computed in its one copy is what its row gets.
@Suite struct RowDurabilityTests {
    /// SQLite, whose `makeRowsDurable` fails the first `failures` times.
    final class UnreachableAtFirst: InstanceIndex, @unchecked Sendable {
        let base: SQLiteIndex
        private let lock = NSLock()
        private var failuresLeft: Int
        private var settleFailuresLeft: Int
        private(set) var asked = 0

        /// `settleFailures`: `settleHashes` fails that many times first too.
        init(_ base: SQLiteIndex, failures: Int, settleFailures: Int = 0) {
            self.base = base
            failuresLeft = failures
            settleFailuresLeft = settleFailures
        }

        struct Unreachable: Error {}

        func makeRowsDurable() throws {
            try lock.withLock {
                asked += 1
                if failuresLeft > 0 {
                    failuresLeft -= 1
                    throw Unreachable()
                }
            }
        }

        var calls: Int { lock.withLock { asked } }

        func filePath(ofInstance sopInstanceUID: String) async throws -> String? { try await base.filePath(ofInstance: sopInstanceUID) }
        func remove(instance sopInstanceUID: String) async throws { try await base.remove(instance: sopInstanceUID) }
        func filePathNow(ofInstance sopInstanceUID: String) throws -> String? { try base.filePathNow(ofInstance: sopInstanceUID) }
        func recordNow(_ record: InstanceRecord) throws { try base.recordNow(record) }
        func removeNow(instance sopInstanceUID: String) throws { try base.removeNow(instance: sopInstanceUID) }
        func indexedCopyNow(ofInstance sopInstanceUID: String) throws -> IndexedCopy? { try base.indexedCopyNow(ofInstance: sopInstanceUID) }
        func settleHashes(_ hashes: [SettledHash]) throws {
            try lock.withLock {
                if settleFailuresLeft > 0 {
                    settleFailuresLeft -= 1
                    throw Unreachable()
                }
            }
            try base.settleHashes(hashes)
        }
        var recordedRowCount: UInt64? { base.recordedRowCount }
    }

    @Test func aBatchWhoseRowsCannotBeMadeDurableStaysInTheJournalAndIsNotCopiedAgain() throws {
        let root = try ExternalTool.temporaryDirectory("arca-rows").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let index = UnreachableAtFirst(try SQLiteIndex(archive: root), failures: 2, settleFailures: 1)
        let placed = PlacementCounter()
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root), index: index,
                                      afterPlace: { _ in placed.increment() })
        defer { archive.close() }
        let materializer = try #require(archive.materializer)
        materializer.setHold(Materializer.Hold(quietPeriod: 0, maxHold: 0, limit: 0))

        let (relative, bytes, sop) = try MaterializerHoldTests.Fixture.store(0, in: archive)
        // One failed settle, two failed attempts to make the row durable, a second apart, then the fourth round:
        // bounded well past that.
        #expect(materializer.waitIdle(timeout: 30))
        #expect(index.calls == 3)
        #expect(materializer.materialized == 1)
        #expect(placed.value == 1)
        #expect(materializer.lastError == nil)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))) == bytes)
        #expect(try index.filePathNow(ofInstance: sop) == relative)
        #expect(try index.base.allInstances().first?.fileHash == BLAKE3.hex(BLAKE3.hash(bytes)))
    }
}

/// A counter the materializer's thread bumps.
final class PlacementCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
