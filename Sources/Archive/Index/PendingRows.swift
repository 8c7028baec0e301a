import Dispatch
import Foundation
import GRDB
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

    /// How long the first pending row waits for others to share its transaction (20 ms measured no better).
    static let window: DispatchTimeInterval = .milliseconds(5)
    /// After a commit failed (the database unwritable, locked, the disk full), when it is tried again.
    static let retryDelay: DispatchTimeInterval = .seconds(1)

    private let condition = NSCondition()
    // Guarded by `condition`.
    /// In the order they came, numbered; a row leaves once committed (or set aside, or withdrawn).
    private var queued: [(number: UInt64, record: InstanceRecord)] = []
    private var nextNumber: UInt64 = 0
    /// The last pending row of each SOP Instance UID (its file path) and how many of its rows are pending.
    private var locations: [String: (path: String, rows: Int)] = [:]
    private var committing = false
    private var timerArmed = false
    /// Why the last commit failed: its rows stay queued, and it is thrown to those who need them (readers, new
    /// rows) until a commit succeeds.
    private var failure: (any Error)?
    /// Rows that could not be recorded and were given up (see `commitLocked`).
    private var rowsSetAside = 0

    private let commit: Commit
    private let committed: @Sendable ([InstanceRecord]) -> Void
    private let batchLimit: Int
    private let window: DispatchTimeInterval
    /// The thread timed commits run on.
    private let queue = DispatchQueue(label: "arca.index.pending-rows")
    private let logger: Logger

    /// `committed`: called with the rows each successful commit recorded (on the committing thread, unlocked,
    /// before readers waiting for them go on).
    init(batchLimit: Int, window: DispatchTimeInterval = PendingRows.window, logger: Logger,
         committed: @escaping @Sendable ([InstanceRecord]) -> Void = { _ in }, commit: @escaping Commit) {
        self.batchLimit = max(1, batchLimit)
        self.window = window
        self.logger = logger
        self.committed = committed
        self.commit = commit
    }

    /// Queues an acknowledged instance's row; throws while the index cannot commit (the sender then hears that
    /// the instance was not stored, rather than rows piling up that cannot be indexed).
    func add(_ record: InstanceRecord) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        queued.append((nextNumber, record))
        nextNumber += 1
        let sop = record.attributes.sopInstanceUID
        locations[sop] = (record.filePath, (locations[sop]?.rows ?? 0) + 1)
        if queued.count >= batchLimit {
            queue.async { self.commitQueued() }
        } else {
            armTimer(after: window)
        }
    }

    /// Drops the queued rows of `sopInstanceUID` not yet being committed (its row removed: an instance whose bytes
    /// failed to reach the journal after its row was queued).
    func withdraw(_ sopInstanceUID: String) {
        condition.lock()
        defer { condition.unlock() }
        // The first batch may be in a commit now: only what comes after it.
        let from = committing ? min(batchLimit, queued.count) : 0
        queued = Array(queued[..<from]) + queued[from...].filter { $0.record.attributes.sopInstanceUID != sopInstanceUID }
        let left = queued.filter { $0.record.attributes.sopInstanceUID == sopInstanceUID }
        if let last = left.last { locations[sopInstanceUID] = (last.record.filePath, left.count) } else {
            locations.removeValue(forKey: sopInstanceUID)
        }
        condition.broadcast()
    }

    /// The file path of a pending row of `sopInstanceUID` (the latest one), nil when none is pending.
    func location(of sopInstanceUID: String) -> String? {
        condition.lock()
        defer { condition.unlock() }
        return locations[sopInstanceUID]?.path
    }

    /// Rows that could not be recorded and were given up since the index was opened.
    var setAside: Int {
        condition.lock()
        defer { condition.unlock() }
        return rowsSetAside
    }

    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return queued.isEmpty
    }

    /// Returns once every row queued before the call has left the queue (committed, or set aside): commits them on
    /// this thread (blocking: an I/O thread), or waits for the commit that has them. Rows queued meanwhile are not
    /// waited for. Throws when they could not be committed.
    func settle() throws {
        condition.lock()
        defer { condition.unlock() }
        let owed = nextNumber
        while let first = queued.first, first.number < owed {
            if committing {
                condition.wait()
                continue
            }
            commitLocked()
            if let failure, queued.first?.number == first.number { throw failure }
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

    /// Commits the first batch; called locked, with nothing committing, and returns locked. A row refused for
    /// itself (a constraint, a value SQLite will not take) while nothing else failed is set aside: it must not
    /// keep every reader waiting or refuse every C-STORE after it; `endSession` then leaves the session unclean,
    /// so the next start reconciles the index with the files. Any other failure (busy, locked, full, I/O) keeps
    /// the whole batch queued (a row that went in alone is recorded again, the same) and it is tried again.
    private func commitLocked() {
        let batch = queued.prefix(batchLimit).map(\.record)
        guard !batch.isEmpty else { return }
        committing = true
        condition.unlock()
        let results = commit(batch)
        if results.contains(where: { if case .success = $0 { true } else { false } }) {
            committed(zip(batch, results).compactMap { record, result in
                if case .success = result { return record }
                return nil
            })
        }
        condition.lock()
        committing = false
        defer { condition.broadcast() }
        var refused: [(InstanceRecord, any Error)] = []
        var systemic: (any Error)?
        for (record, result) in zip(batch, results) {
            guard case .failure(let error) = result else { continue }
            if Self.isRowLevel(error) { refused.append((record, error)) } else if systemic == nil { systemic = error }
        }
        if let systemic {
            if failure == nil {
                logger.error("index: \(batch.count) acknowledged row(s) not committed, retrying in 1 s (their instances are in the journal): \(systemic)")
            }
            failure = systemic
            armTimer(after: Self.retryDelay)
            return
        }
        if failure != nil { logger.notice("index: the pending rows are committed again") }
        failure = nil
        for (record, error) in refused {
            logger.error("index: the row of \(record.attributes.sopInstanceUID) (\(record.filePath)) cannot be recorded and was set aside; the next start reconciles the index with the files: \(error)")
        }
        rowsSetAside += refused.count
        queued.removeFirst(batch.count)
        for record in batch { forget(record.attributes.sopInstanceUID) }
        if !queued.isEmpty { armTimer(after: window) }
    }

    /// Errors of one row's values, not of the database: SQLite's constraint, datatype mismatch and too-big codes.
    static func isRowLevel(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return [ResultCode.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG].contains(error.resultCode)
    }

    /// Called locked: one row of `sop` left the queue.
    private func forget(_ sop: String) {
        if let n = locations[sop]?.rows, n > 1 { locations[sop]?.rows = n - 1 } else { locations.removeValue(forKey: sop) }
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
