@testable import Archive
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import Testing
import TestSupport

/// A journaled instance's row is committed after its acknowledgement, with others: visible at once to this
/// process's lookups and reads, committed in one transaction for many, never lost to a failing commit.
@Suite struct PendingRowsTests {
    struct Refused: Error {}

    /// A commit that records each batch it was given. The rows `fails` names fail: with `Refused` (a database
    /// error: the batch stays) or with a constraint (that row alone is set aside). With `gate`, each commit
    /// signals `entered` and waits for the gate first.
    final class Commits: Sendable {
        let batches = NIOLockedValueBox<[[String]]>([])
        let fails = NIOLockedValueBox<[String: any Error & Sendable]>([:])
        /// Signalled at each batch that went in.
        let committed = DispatchSemaphore(value: 0)
        let gate: DispatchSemaphore?
        let entered = DispatchSemaphore(value: 0)

        init(gated: Bool = false) { gate = gated ? DispatchSemaphore(value: 0) : nil }

        func commit(_ batch: [InstanceRecord]) -> [Result<Void, any Error>] {
            if let gate {
                entered.signal()
                gate.wait()
            }
            let failing = fails.withLockedValue { $0 }
            let results = batch.map { r -> Result<Void, any Error> in
                failing[r.attributes.sopInstanceUID].map { .failure($0) } ?? .success(())
            }
            if results.contains(where: { if case .success = $0 { true } else { false } }) {
                batches.withLockedValue { $0.append(batch.map(\.attributes.sopInstanceUID)) }
                committed.signal()
            }
            return results
        }
    }

    static let constraint = DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "refused")

    static func record(_ sop: String) -> InstanceRecord {
        SQLiteIndexTests.record(SQLiteIndexTests.attributes(sop: sop))
    }

    /// A window longer than any test: only `settle` or a full batch commits.
    static func rows(_ commits: Commits, batchLimit: Int = 1000) -> PendingRows {
        PendingRows(batchLimit: batchLimit, window: .seconds(600), logger: Logger(label: "test")) { commits.commit($0) }
    }

    @Test func rowsAddedMeanwhileShareOneCommitAndAreFoundBeforeIt() throws {
        let commits = Commits()
        let pending = Self.rows(commits)
        for i in 0..<50 { try pending.add(Self.record("1.9.\(i)")) }
        #expect(commits.batches.withLockedValue { $0 }.isEmpty)
        #expect(pending.location(of: "1.9.7") == "1.2.1/1.2.1.1/1.9.7.dcm")
        #expect(!pending.isEmpty)
        try pending.settle()
        #expect(commits.batches.withLockedValue { $0 } == [(0..<50).map { "1.9.\($0)" }])
        #expect(pending.location(of: "1.9.7") == nil)
        #expect(pending.isEmpty)
        // Nothing pending: nothing committed.
        try pending.settle()
        #expect(commits.batches.withLockedValue { $0.count } == 1)
    }

    @Test func aFullBatchIsCommittedWithoutAReader() async throws {
        let commits = Commits()
        let pending = Self.rows(commits, batchLimit: 10)
        for i in 0..<10 { try pending.add(Self.record("1.8.\(i)")) }
        // Committed on the rows' own thread, with no reader asking.
        let done = try await PlacementNoticesTests.onThread { commits.committed.wait(timeout: .now() + 60) == .success }
        #expect(done)
        try await PlacementNoticesTests.onThread { try pending.settle() }
        #expect(commits.batches.withLockedValue { $0 } == [(0..<10).map { "1.8.\($0)" }])
    }

    /// A commit that fails for the database (unwritable, locked, full), even for one row while the others went
    /// in, keeps the batch and refuses new rows until a commit succeeds; the reader that needed them hears why.
    @Test func aFailingCommitKeepsTheRowsAndRefusesNewOnes() throws {
        let commits = Commits()
        let pending = Self.rows(commits)
        commits.fails.withLockedValue { $0 = ["1.7.2": Refused()] }
        try pending.add(Self.record("1.7.1"))
        try pending.add(Self.record("1.7.2"))
        #expect(throws: Refused.self) { try pending.settle() }
        #expect(pending.location(of: "1.7.1") != nil)
        #expect(pending.location(of: "1.7.2") != nil)
        #expect(throws: Refused.self) { try pending.add(Self.record("1.7.3")) }
        commits.fails.withLockedValue { $0 = [:] }
        try pending.settle()
        #expect(commits.batches.withLockedValue { $0 } == [["1.7.1", "1.7.2"], ["1.7.1", "1.7.2"]])
        try pending.add(Self.record("1.7.3"))
        try pending.settle()
        #expect(pending.isEmpty)
        #expect(pending.setAside == 0)
    }

    /// A row refused for its own values while the others go in, or alone in its batch, is set aside (and counted:
    /// the index then leaves its session unclean): it must not keep every reader waiting.
    @Test func aRowRefusedForItselfIsSetAside() throws {
        let commits = Commits()
        let pending = Self.rows(commits)
        commits.fails.withLockedValue { $0 = ["1.6.2": Self.constraint, "1.6.5": Self.constraint] }
        for i in 1...3 { try pending.add(Self.record("1.6.\(i)")) }
        try pending.settle()
        #expect(pending.isEmpty)
        #expect(pending.location(of: "1.6.2") == nil)
        try pending.add(Self.record("1.6.5"))
        try pending.settle()
        #expect(pending.isEmpty)
        #expect(pending.setAside == 2)
        try pending.add(Self.record("1.6.4"))
    }

    /// A reader waits for the rows queued before it, not for those that keep coming while it waits.
    @Test func aReaderWaitsOnlyForTheRowsQueuedBeforeIt() async throws {
        let commits = Commits(gated: true)
        let pending = Self.rows(commits)
        try pending.add(Self.record("1.3.1"))
        async let settled: Void = PlacementNoticesTests.onThread { try pending.settle() }
        let entered = try await PlacementNoticesTests.onThread { commits.entered.wait(timeout: .now() + 60) == .success }
        #expect(entered)
        try pending.add(Self.record("1.3.2"))
        commits.gate?.signal()
        try await settled
        #expect(commits.batches.withLockedValue { $0 } == [["1.3.1"]])
        #expect(pending.location(of: "1.3.2") != nil)
        // A withdrawn row is dropped, not committed.
        pending.withdraw("1.3.2")
        #expect(pending.isEmpty)
        #expect(pending.location(of: "1.3.2") == nil)
    }

    /// Through the index: the row is found by the duplicate lookup before its commit, every read commits it first,
    /// and the rows of many journaled instances take one transaction.
    @Test func aJournaledRowIsReadBeforeItsTimerCommitsIt() async throws {
        let (index, dir) = try SQLiteIndexTests.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 0..<20 { try index.recordJournaled(Self.record("1.5.\(i)"), endingClaim: true) }
        #expect(try index.filePathNow(ofInstance: "1.5.3") == "1.2.1/1.2.1.1/1.5.3.dcm")
        #expect(try await index.filePath(ofInstance: "1.5.4") == "1.2.1/1.2.1.1/1.5.4.dcm")
        var count = 0
        try index.forEachRow("SELECT count(*) FROM instances", []) { row in
            if case .integer(let n) = row.first { count = Int(n) }
            return false
        }
        #expect(count == 20)
        #expect(try index.canonicalDump().contains { $0.hasPrefix("series ") && $0.contains("number_of_instances:20") })
        // A replacement (recorded at once) lands after the pending row it replaces.
        var moved = Self.record("1.5.5")
        moved.filePath = "elsewhere/1.5.5.dcm"
        try index.recordJournaled(Self.record("1.5.20"), endingClaim: true)
        try index.recordNow(moved)
        #expect(try index.filePathNow(ofInstance: "1.5.5") == "elsewhere/1.5.5.dcm")
        #expect(try index.allInstances().count == 21)
    }

    /// An event loop's query does not read past a pending row: it goes to an I/O thread, which commits first.
    @Test func noQueryOnTheEventLoopWhileRowsArePending() throws {
        let (index, dir) = try SQLiteIndexTests.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = try #require(index.nonBlockingRows)
        let first = rows.open("SELECT count(*) FROM instances", [])
        #expect(first != nil)
        first?.close()
        try index.recordJournaled(Self.record("1.4.1"), endingClaim: true)
        #expect(rows.open("SELECT count(*) FROM instances", []) == nil)
        #expect(try index.allInstances().count == 1)
        let after = rows.open("SELECT count(*) FROM instances", [])
        #expect(after != nil)
        after?.close()
    }
}
