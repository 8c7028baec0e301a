import CSQLiteNoWait
import Dispatch
import NIOConcurrencyHelpers

/// Checkpoints the index's WAL off the committing thread.
///
/// SQLite's own auto-checkpoint runs inside the commit that takes the WAL past 1,000 pages, on the writer: that
/// commit (an acknowledgement's row) waited for the checkpoint's page copies and its two fsyncs, and every other
/// association's row waited behind it. Measured on 2 cores (issue 11, 6 December): four associations of 512 KB
/// slices, deferred, 418–444/s with it against 500–551/s without any checkpoint; 1,000 × 8 KB over one
/// association, deferred, 1,280–1,319/s against 1,390–1,444/s.
///
/// Here the writer's WAL hook (which replaces the auto-checkpoint) only reads the WAL's size after each commit;
/// each time it grew by `threshold` pages it asks this checkpointer's queue for a PASSIVE checkpoint, made on a
/// connection of its own, which never takes the write lock: commits go on while it copies and syncs. But the WAL
/// starts over only when a write begins with every frame copied, which a steady stream of commits beside the
/// checkpoint never allows, so past `limit` pages the writer checkpoints inline, as SQLite would have: what the
/// checkpointer has not copied yet (typically up to `threshold` frames) and the two fsyncs, once per ~1,400
/// rows (5.7 pages each) instead of once per ~175; the next commit then starts the WAL over, unless a reader still uses it (then
/// each commit past `limit` checkpoints inline, SQLite's own behaviour at 8× its threshold). The `-wal` file
/// keeps the size it reached (up to ~33 MB; SQLite's ~4 MB before), and recovery after a crash reads up to that.
final class WALCheckpointer: @unchecked Sendable {
    /// SQLite's auto-checkpoint threshold, kept.
    static let threshold: Int32 = 1000
    /// The writer checkpoints itself past this many pages (~33 MB of WAL).
    static let limit: Int32 = 8 * threshold
    private let path: String
    private let synchronous: String
    private let queue = DispatchQueue(label: "arca.index.checkpoint")
    /// A checkpoint is queued or running (commits meanwhile ask for none), the WAL's size when it was asked, and
    /// the WAL restarts seen (the WAL shorter than then; tests).
    private let asked = NIOLockedValueBox((running: false, at: Int32(0), restarts: 0))
    /// The checkpoint's connection, opened at the first checkpoint (touched only on `queue`).
    private var connection: OpaquePointer?
    private let counts = NIOLockedValueBox((checkpoints: 0, failures: 0, frames: 0))
    /// The writer's hook holds a reference (set by `install`, given back by `uninstall` or `hookClosed`).
    private let hooked = NIOLockedValueBox(false)
    /// After `shutdown`, no checkpoint runs and the connection is closed (touched only on `queue`).
    private var closed = false

    init(path: String, synchronous: String) {
        self.path = path
        self.synchronous = synchronous
    }

    deinit {
        if let connection { sqlite3_close_v2(connection) }
    }

    /// Checkpoints made, refused (busy: another connection was checkpointing; or the connection could not be
    /// opened) and the WAL frames they copied in all, for tests.
    var checkpoints: (made: Int, refused: Int, framesCopied: Int) {
        counts.withLockedValue { ($0.checkpoints, $0.failures, $0.frames) }
    }

    /// Whether the checkpoint's connection is open (tests).
    var hasConnection: Bool { queue.sync { connection != nil } }

    /// Replaces the auto-checkpoint of `writer` (the one connection that commits) by this checkpointer. The hook
    /// keeps the checkpointer until `uninstall` (the pool's writer may outlive the index that installed it).
    func install(on writer: OpaquePointer) {
        guard hooked.withLockedValue({ was in defer { was = true }; return !was }) else { return }
        sqlite3_wal_hook(writer, { context, db, name, pages in
            if pages >= WALCheckpointer.limit {
                // Busy when the checkpointer is at it: the next commit tries again.
                _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if let context, pages >= WALCheckpointer.threshold {
                Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().walGrew(to: pages)
            }
            return SQLITE_OK
        }, Unmanaged.passRetained(self).toOpaque())
    }

    /// Gives `writer` back SQLite's auto-checkpoint, and the checkpointer its hook's reference.
    func uninstall(from writer: OpaquePointer) {
        guard hooked.withLockedValue({ $0 }) else { return }
        sqlite3_wal_autocheckpoint(writer, WALCheckpointer.threshold)
        hookClosed()
    }

    /// The writer was closed with the hook on it (the hook went with the connection), or the hook was replaced:
    /// its reference is given back, once.
    func hookClosed() {
        guard hooked.withLockedValue({ was in defer { was = false }; return was }) else { return }
        Unmanaged.passUnretained(self).release()
    }

    /// Waits for a queued or running checkpoint, then closes the checkpoint's connection for good: the database
    /// can then be closed, renamed or removed with no connection of ours left on it.
    func shutdown() {
        queue.sync {
            closed = true
            if let connection { sqlite3_close_v2(connection) }
            connection = nil
        }
    }

    /// Waits for a queued or running checkpoint (tests).
    func settle() { queue.sync {} }

    /// WAL restarts the writer's hook has seen.
    var restarts: Int { asked.withLockedValue { $0.restarts } }

    /// On the writer, inside its commit: one lock, and a queued block when the WAL grew by `threshold` pages
    /// since the last checkpoint was asked for and none runs.
    private func walGrew(to pages: Int32) {
        let ask = asked.withLockedValue { asked -> Bool in
            if pages < asked.at {  // the WAL started over
                asked.at = 0
                asked.restarts += 1
            }
            guard !asked.running, pages >= asked.at + Self.threshold else { return false }
            asked.running = true
            asked.at = pages
            return true
        }
        if ask { queue.async { self.checkpoint() } }
    }

    private func checkpoint() {
        defer { asked.withLockedValue { $0.running = false } }
        if closed { return }
        if connection == nil {
            var db: OpaquePointer?
            guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
                sqlite3_close_v2(db)
                counts.withLockedValue { $0.failures += 1 }
                return
            }
            // No waiting on a busy lock (the next 1,000 pages ask again). A checkpoint needs a connection that has
            // read the database (and so knows it is in WAL mode): read its schema first.
            sqlite3_busy_timeout(db, 0)
            guard sqlite3_exec(db, "PRAGMA synchronous = \(synchronous); SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK else {
                sqlite3_close_v2(db)
                counts.withLockedValue { $0.failures += 1 }
                return
            }
            connection = db
        }
        var log: Int32 = -1, copied: Int32 = -1
        let result = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
        // A connection not in WAL mode answers OK with -1 frames: not a checkpoint.
        counts.withLockedValue { counts in
            if result == SQLITE_OK && log >= 0 {
                counts.checkpoints += 1
                counts.frames += Int(max(0, copied))
            } else {
                counts.failures += 1
            }
        }
    }
}
