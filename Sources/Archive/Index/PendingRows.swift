import Dispatch
import Foundation
import Logging

/// The rows of journaled instances that are acknowledged but not yet committed to SQLite, committed together a
/// moment later. The journal makes an instance durable and recovers its row after a crash
/// (`IndexMaintenance` and `JournalRecovery`), so the row need not be committed before 0x0000: it must only be
/// visible. It is, in this process:
/// - a duplicate lookup (`SQLiteIndex.filePathNow`) finds it here;
/// - every other read and write of the index first commits what is pending (`settle`), so a query started
///   after an acknowledgement sees that instance.
///
/// A row committed alone cost an 8 KB instance's acknowledgement 140 µs (1,000 × 8 KB deferred, one
/// association: 2,128/s with it, 2,782/s without any row), mostly SQLite's work per transaction. Committed in
/// batches of what came in `window`, off the acknowledgement's path, the same run gave 2,581/s.
///
/// Other processes on the same `index.db` (the `sqlite3` shell, a second server) see a row once it is
/// committed: at most `window` after its acknowledgement while the index works.
final class PendingRows: @unchecked Sendable {
    typealias Commit = ([InstanceRecord]) -> [Result<Void, any Error>]

    /// How long the first pending row waits for others to share its transaction.
    static let window: DispatchTimeInterval = .milliseconds(5)
    /// After a commit failed for the whole batch (the database unwritable, the disk full), when it is tried again.
    static let retryDelay: DispatchTimeInterval = .seconds(1)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queued: [InstanceRecord] = []
    /// The last pending row of each SOP Instance UID (its file path) and how many of its rows are pending.
    private var locations: [String: (path: String, rows: Int)] = [:]
    private var committing = false
    private var timerArmed = false
    /// Why the last commit failed for every row of its batch: the rows stay queued, and it is thrown to those
    /// who need them (readers, new rows) until a commit succeeds.
    private var failure: (any Error)?

    private let commit: Commit
    private let batchLimit: Int
    private let window: DispatchTimeInterval
    /// The thread timed commits run on.
    private let queue = DispatchQueue(label: "arca.index.pending-rows")
    private let logger: Logger

    init(batchLimit: Int, window: DispatchTimeInterval = PendingRows.window, logger: Logger, commit: @escaping Commit) {
        self.batchLimit = max(1, batchLimit)
        self.window = window
        self.logger = logger
        self.commit = commit
    }

    /// Queues an acknowledged instance's row; throws while the index cannot commit (the sender then hears that
    /// the instance was not stored, rather than rows piling up that cannot be indexed).
    func add(_ record: InstanceRecord) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        queued.append(record)
        let sop = record.attributes.sopInstanceUID
        locations[sop] = (record.filePath, (locations[sop]?.rows ?? 0) + 1)
        if queued.count >= batchLimit {
            queue.async { self.commitQueued() }
        } else {
            armTimer(after: window)
        }
    }

    /// The file path of a pending row of `sopInstanceUID` (the latest one), nil when none is pending.
    func location(of sopInstanceUID: String) -> String? {
        condition.lock()
        defer { condition.unlock() }
        return locations[sopInstanceUID]?.path
    }

    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return queued.isEmpty
    }

    /// Returns once every row queued before the call is committed: commits them on this thread (blocking: an I/O
    /// thread), or waits for the commit that has them. Throws when they could not be committed.
    func settle() throws {
        condition.lock()
        defer { condition.unlock() }
        // Rows leave `queued` in order, only once committed: the ones queued now are settled when as many rows
        // have left it.
        var owed = queued.count
        while owed > 0 {
            if committing {
                let before = queued.count
                condition.wait()
                owed -= max(0, before - queued.count)
                continue
            }
            let before = queued.count
            commitLocked()
            let left = before - queued.count
            if left == 0, let failure { throw failure }
            owed -= left
        }
    }

    /// The timer's (or a full batch's) commit, on `queue`.
    private func commitQueued() {
        condition.lock()
        defer { condition.unlock() }
        timerArmed = false
        guard !committing, !queued.isEmpty else { return }
        commitLocked()
    }

    /// Commits the first batch; called locked, with nothing committing, and returns locked. Rows that failed
    /// alone while others of the batch went in are set aside (a bad row must not keep every reader waiting);
    /// when every row failed, the batch stays queued and is tried again.
    private func commitLocked() {
        let batch = Array(queued.prefix(batchLimit))
        guard !batch.isEmpty else { return }
        committing = true
        condition.unlock()
        let results = commit(batch)
        condition.lock()
        committing = false
        defer { condition.broadcast() }
        let failures = results.enumerated().compactMap { i, r -> (InstanceRecord, any Error)? in
            if case .failure(let e) = r { return (batch[i], e) }
            return nil
        }
        if failures.count == batch.count, let (_, error) = failures.first {
            if failure == nil {
                logger.error("index: \(batch.count) acknowledged row(s) not committed, retrying in 1 s (their instances are in the journal): \(error)")
            }
            failure = error
            armTimer(after: Self.retryDelay)
            return
        }
        if failure != nil { logger.notice("index: pending rows committed again") }
        failure = nil
        for (record, error) in failures {
            logger.error("index: the row of \(record.attributes.sopInstanceUID) (\(record.filePath)) cannot be recorded and was set aside; `arca index check` reports its file: \(error)")
        }
        queued.removeFirst(batch.count)
        for record in batch {
            let sop = record.attributes.sopInstanceUID
            if let n = locations[sop]?.rows, n > 1 { locations[sop]?.rows = n - 1 } else { locations.removeValue(forKey: sop) }
        }
        if !queued.isEmpty { armTimer(after: window) }
    }

    /// Called locked.
    private func armTimer(after delay: DispatchTimeInterval) {
        guard !timerArmed else { return }
        timerArmed = true
        queue.asyncAfter(deadline: .now() + delay) { self.commitQueued() }
    }
}

/// Rows read on an event loop only while no acknowledged row waits for its commit; otherwise the query goes to an
/// I/O thread (`SQLiteIndex.forEachRow`), which commits those rows first.
struct SettledRowsOnly: NonBlockingRows {
    let base: any NonBlockingRows
    let pending: PendingRows

    func open(_ sql: String, _ arguments: [IndexValue]) -> (any RowCursor)? {
        pending.isEmpty ? base.open(sql, arguments) : nil
    }
}
