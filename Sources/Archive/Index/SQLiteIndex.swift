import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The archive's index in SQLite (`<archive>/index.db`, WAL, synchronous FULL: a commit is durable when it
/// returns). Records that arrive while a transaction runs go into the next one (group commit), so concurrent
/// associations share fsyncs; each caller returns once its own row is committed. A journaled instance's row
/// (`recordJournaled`) is committed a moment after its acknowledgement, with the rows of the instances that came
/// meanwhile (`PendingRows`); every read waits for the rows acknowledged before it.
public final class SQLiteIndex: InstanceIndex, IndexQuerying, MaintainedIndex, Sendable {
    public static let fileName = "index.db"

    public let path: String
    /// The session flag's key and the flock that makes it this server's (`sessionKey`).
    private let session = NIOLockedValueBox<(key: String, fd: Int32)?>(nil)
    let pool: DatabasePool
    /// Connections whose reads never wait for the device: short queries run on the caller's event loop.
    public let nonBlockingRows: (any NonBlockingRows)?
    private let group = GroupCommit<InstanceRecord>()
    /// Journaled instances' rows, acknowledged and not yet committed.
    private let pending: PendingRows
    /// Told the SOP Instance UIDs of each commit of pending rows (`observeJournaledCommits`).
    private let commitObserver = NIOLockedValueBox<(@Sendable ([String]) -> Void)?>(nil)
    /// The levels the last group commits wrote (used inside the writer connection's transactions only).
    let levels = LevelCache()
    /// Transactions committed by the group writer (for tests and benchmarks).
    public var transactionCount: Int { group.transactions }
    /// Instance rows recorded by every process on this database (`index.db-rows`), beside this process's own.
    private let rowCounts: RowCounts?
    public var recordedRowCount: UInt64? { rowCounts?.shared.value }
    /// Every SOP Instance UID of the index, once `startKnowing` has read them (`certainlyAbsent`).
    private let known = KnownInstances()
    /// The counts when that scan began: rows another process recorded since are not in `known`.
    private let knownSince = NIOLockedValueBox<(own: UInt64, all: UInt64)?>(nil)
    /// Checkpoints the WAL beside the writer, not inside its commits.
    let checkpointer: WALCheckpointer

    /// Most records one group-commit transaction takes; a longer queue is committed in several.
    static let maxBatch = 1000

    /// SQLite's `synchronous` setting for the index. `.full` (the default) fsyncs the WAL at every commit, so
    /// an acknowledged instance's row survives a power loss; `.normal` only at checkpoints (a crash can lose
    /// the last commits, which a rebuild from the files would restore).
    public enum Synchronous: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public init(path: String, synchronous: Synchronous = .full, logger: Logger = Logger(label: "arca.index")) throws {
        self.path = path
        let rowCounts = SharedRowCount.map(path + "-rows").map(RowCounts.init)
        self.rowCounts = rowCounts
        // A -wal or -shm without its database (someone deleted index.db, as the seed's recipe does) belongs to
        // a database that no longer exists: SQLite would replay that WAL into the new, empty file.
        if !Directory.exists(path) {
            for suffix in ["-wal", "-shm"] { try Directory.remove(path + suffix) }
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
            // A C-FIND matching 1,667 of 100,000 studies spent a fifth of its server time in pread: the default
            // 2 MB page cache per connection holds too few of the pages a query visits. 32 MiB a connection,
            // used only as pages are read. (A memory mapping, mmap_size, cut that too, but then the compressor's
            // test saw an index that `check` found unclean; not understood yet, so not used.)
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        configuration.busyMode = .timeout(10)
        // Several servers may open a new archive at once: switching it to WAL is not retried when busy, and
        // GRDB's migrator reads what is applied before its transaction, so two could both create the tables.
        // An flock on `index.db-lock` makes them open one after the other. (Not on index.db itself: closing
        // any descriptor of it would drop this process's SQLite locks.)
        let lockFD = open(path + "-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB switches a pool's connections to `synchronous = NORMAL` when it turns WAL on, after
        // `prepareDatabase`: set it again on the writer, the one connection that commits.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)") }
        try IndexSchema.migrator.migrate(pool)
        let checkpointer = WALCheckpointer(path: path, synchronous: synchronous.rawValue)
        try pool.writeWithoutTransaction { db in if let writer = db.sqliteConnection { checkpointer.install(on: writer) } }
        self.checkpointer = checkpointer
        let pool = self.pool, levels = self.levels
        // Counted again once committed: another process's early lookup begun between the two, which could not
        // see the row, looks again.
        let observer = commitObserver
        let pending = PendingRows(batchLimit: Self.maxBatch, logger: logger, committed: { rows in
            rowCounts?.add(rows.count)
            observer.withLockedValue { $0 }?(rows.map(\.attributes.sopInstanceUID))
        }) { batch in
            Self.commitRows(batch, pool: pool, levels: levels)
        }
        self.pending = pending
        nonBlockingRows = NoWaitRows(path: path, count: ProcessInfo.processInfo.activeProcessorCount).map {
            SettledRowsOnly(base: $0, pending: pending)
        }
    }

    deinit {
        try? pending.settle()
        stopCheckpoints()
        if let held = session.withLockedValue({ $0 }) { close(held.fd) }
    }

    /// Folds the whole WAL into the database and empties it (TRUNCATE): false when another connection's
    /// checkpoint made it busy (a TRUNCATE does not wait for the checkpoint lock).
    func truncateWAL() throws -> Bool {
        try pending.settle()
        return try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") == 0 }
    }

    /// Gives the writer SQLite's auto-checkpoint back and closes the checkpointer's connection (before the pool
    /// is closed and the file renamed: `IndexMaintenance.rebuildInPlace`). Idempotent.
    func stopCheckpoints() {
        try? pending.settle()
        let checkpointer = self.checkpointer
        var uninstalled = false
        try? pool.writeWithoutTransaction { db in
            if let writer = db.sqliteConnection {
                checkpointer.uninstall(from: writer)
                uninstalled = true
            }
        }
        if !uninstalled { checkpointer.hookClosed() }
        checkpointer.shutdown()
    }

    /// The `synchronous` level the committing connection runs with (SQLite's numbers: 1 NORMAL, 2 FULL).
    public func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Opens `<archive>/index.db`.
    public convenience init(archive root: String, synchronous: Synchronous = .full) throws {
        try self.init(path: root + "/" + Self.fileName, synchronous: synchronous)
    }

    public func filePath(ofInstance sopInstanceUID: String) async throws -> String? {
        // The pending rows first: one committed after this look is in the database when it is read.
        if let path = pending.location(of: sopInstanceUID) { return path }
        return try await pool.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT file_path FROM instances WHERE sop_uid = ?"), arguments: [sopInstanceUID])
        }
    }

    /// `record` for the archive's I/O threads: blocks until the row is committed, in this caller's transaction
    /// or in the one another caller runs for everything pending.
    public func recordNow(_ record: InstanceRecord) throws {
        // After the pending rows: a replacement updates the row it replaces.
        try pending.settle()
        let pool = self.pool, levels = self.levels
        let uid = CollectionOfOne(record.attributes.sopInstanceUID)
        count(uid)
        try group.commit(record, batchLimit: Self.maxBatch) { batch in Self.commitRows(batch, pool: pool, levels: levels) }
        count(uid)
    }

    /// A journaled instance's row: visible at once in this process (`filePathNow` finds it, reads wait for it),
    /// committed with the rows of the instances that come within `PendingRows.window`. Counted among the rows
    /// every process recorded (`recordedRowCount`) now and again once committed, so that an early duplicate
    /// lookup begun before either looks again.
    public func recordJournaled(_ record: InstanceRecord, endingClaim: Bool) throws {
        count(CollectionOfOne(record.attributes.sopInstanceUID))
        try pending.add(record)
        // Counted again by the pending rows' commit; into memory again now (a scan may have begun meanwhile).
        known.insert(record.attributes.sopInstanceUID)
    }

    /// Rows about to be queued or committed, and again once committed: their UIDs into memory and the rows
    /// counted (`recordedRowCount` counts each row twice), so that a process killed between its commit and the
    /// count after it has still moved the count, and a server that read the UIDs at start stops answering from
    /// memory. The UIDs go in after too, for a scan that began in between made the filter anew.
    private func count<UIDs: Collection<String>>(_ uids: UIDs) {
        known.insert(contentsOf: uids)
        rowCounts?.add(uids.count)
    }

    /// Whether the index certainly has no row of the instance, answered from memory (no lookup): its UID is not
    /// among those read at start (`startKnowing`) or recorded since by this process, and no other process
    /// recorded a row since the reading began (once one has, it answers false until the next start). False when
    /// it cannot tell. A UID goes into memory before its row is queued or committed and again after (a row
    /// queued before the filter existed is committed before the scan reads: `startKnowing`).
    public func certainlyAbsent(_ sopInstanceUID: String) -> Bool {
        guard let rowCounts, let since = knownSince.withLockedValue({ $0 }), rowCounts.onlyOwnSince(since) else { return false }
        return known.certainlyAbsent(sopInstanceUID)
    }

    /// Reads every SOP Instance UID of the index into memory (`certainlyAbsent`), blocking: the server calls it
    /// on a thread of its own as it starts serving. The filter exists before the counts are marked and the read
    /// begins, so a row this process queues or commits from then on is put in it; one queued earlier is committed
    /// by the `settle` before the read, which sees it. Rows other processes record after the mark are not in it,
    /// and `certainlyAbsent` then answers false.
    public func startKnowing() throws {
        guard let rowCounts, !known.isComplete else { return }
        let rows = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM instances") ?? 0 }
        // One scan per index: a second caller would mark the counts after the first one's read began.
        guard known.begin(rows: rows) else { return }
        knownSince.withLockedValue { $0 = rowCounts.read() }
        try pending.settle()
        let known = self.known
        try pool.read { db in
            let uids = try String.fetchCursor(db, sql: "SELECT sop_uid FROM instances")
            var batch: [String] = []
            batch.reserveCapacity(4096)
            while let uid = try uids.next() {
                batch.append(uid)
                if batch.count == 4096 {
                    known.insert(contentsOf: batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            known.insert(contentsOf: batch)
        }
        known.completed()
    }

    public func observeJournaledCommits(_ body: @escaping @Sendable ([String]) -> Void) {
        commitObserver.withLockedValue { $0 = body }
    }

    /// One transaction for `batch` on the writer's connection; a failure commits each row alone, so that one bad row
    /// does not fail the others. Each row's result, in order.
    private static func commitRows(_ batch: [InstanceRecord], pool: DatabasePool, levels: LevelCache) -> [Result<Void, any Error>] {
        do {
            try pool.writeWithoutTransaction { db in
                do {
                    try inTransaction(db) {
                        try levels.begin(db)
                        for r in batch { try IndexStatements.record(r, in: db, levels: levels) }
                        levels.end(db)
                    }
                } catch {
                    // On the writer's connection: the cache is used by whoever holds it.
                    levels.clear()
                    throw error
                }
            }
            return batch.map { _ in .success(()) }
        } catch {
            return batch.map { r in Result { try pool.write { db in try IndexStatements.record(r, in: db) } } }
        }
    }

    /// `body` in one IMMEDIATE transaction, its BEGIN and COMMIT prepared once per connection: GRDB's `write`
    /// prepares both anew each time, a tenth of an 8 KB instance's row on the writer's thread.
    static func inTransaction(_ db: Database, _ body: () throws -> Void) throws {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
        do {
            try body()
            try db.cachedStatement(sql: "COMMIT").execute()
        } catch {
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
            throw error
        }
    }

    public func remove(instance sopInstanceUID: String) async throws {
        try pending.settle()
        try await pool.write { db in try IndexStatements.remove(sopInstanceUID, in: db) }
    }

    /// `filePath(ofInstance:)` for synchronous callers: maintenance, and every C-STORE's duplicate lookup. On the
    /// writer's connection, whose page cache keeps what it wrote: a reader's cache is dropped whenever another
    /// connection commits, so at 8 KB an instance's lookup re-read 3.4 pages, and GRDB's read transaction (a
    /// BEGIN and a COMMIT prepared anew, a pooled connection) cost as much again. One statement is its own
    /// transaction; it waits at most for one group commit.
    public func filePathNow(ofInstance sopInstanceUID: String) throws -> String? {
        if let path = pending.location(of: sopInstanceUID) { return path }
        return try pool.writeWithoutTransaction { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT file_path FROM instances WHERE sop_uid = ?"), arguments: [sopInstanceUID])
        }
    }

    public func indexedCopyNow(ofInstance sopInstanceUID: String) throws -> IndexedCopy? {
        try pending.settle()
        return try pool.writeWithoutTransaction { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT file_path, file_hash, received_at FROM instances WHERE sop_uid = ?"),
                             arguments: [sopInstanceUID]).map {
                IndexedCopy(filePath: $0["file_path"], fileHash: $0["file_hash"], receivedAt: $0["received_at"])
            }
        }
    }

    /// `remove(instance:)` for synchronous callers (maintenance).
    public func removeNow(instance sopInstanceUID: String) throws {
        pending.withdraw(sopInstanceUID)
        try pending.settle()
        try pool.write { db in try IndexStatements.remove(sopInstanceUID, in: db) }
    }

    /// One transaction for the batch, made durable by the materializer's `syncfs` (the WAL is in the archive's
    /// file system).
    public func settleHashes(_ hashes: [SettledHash]) throws {
        // The batch's rows are among the pending ones: committed first, and made durable with it.
        try pending.settle()
        guard !hashes.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE instances SET file_hash = ? WHERE sop_uid = ? AND file_path = ? AND file_hash = ?")
            for h in hashes { try statement.execute(arguments: [h.hash, h.sopInstanceUID, h.filePath, h.placeholder]) }
        }
    }

    /// Records many instances in one transaction (rebuilds, imports).
    public func recordBatch(_ records: [InstanceRecord]) throws {
        try pending.settle()
        let uids = records.lazy.map(\.attributes.sopInstanceUID)
        count(uids)
        try pool.write { db in
            for r in records { try IndexStatements.record(r, in: db) }
        }
        count(uids)
    }

    // MARK: Queries

    public var dialect: any SQLDialect { SQLiteDialect() }

    public func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws {
        try pending.settle()
        try pool.read { db in
            let statement = try db.cachedStatement(sql: sql)
            let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(arguments.map(\.databaseValue)))
            while let row = try cursor.next() {
                let values: [IndexValue] = row.databaseValues.map(IndexValue.init)
                if try !body(values) { break }
            }
        }
    }

    /// Marks the index in use by a server; answers whether the previous server stopped cleanly (true for a
    /// new index). After an unclean stop, reconcile it with the files (`IndexMaintenance.reconcile`).
    public func beginSession() throws -> Bool {
        try pending.settle()
        let key = try sessionKey()
        // Another server's flag still "running" while no server holds its slot: that server died, and whoever starts
        // next, in any slot, reconciles for it (the slot itself may stay free for a long time).
        let others = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM server_state WHERE value = 'running' AND (key = 'session' OR key LIKE 'session-%')")
        }
        let orphaned = others.filter { $0 != key && !isSessionHeld($0) }
        return try pool.write { db in
            let previous = try String.fetchOne(db, sql: "SELECT value FROM server_state WHERE key = ?", arguments: [key])
            try db.execute(sql: "INSERT OR REPLACE INTO server_state (key, value) VALUES (?, 'running')", arguments: [key])
            for other in orphaned {
                try db.execute(sql: "UPDATE server_state SET value = 'stopped' WHERE key = ? AND value = 'running'", arguments: [other])
            }
            return previous != "running" && orphaned.isEmpty
        }
    }

    /// Whether a running server holds the slot of session flag `key` (its flag is written only once it holds it,
    /// and marked stopped before it lets it go).
    private func isSessionHeld(_ key: String) -> Bool {
        let n = key == Self.sessionFlag(0) ? 0 : Int(key.dropFirst(Self.sessionFlagPrefix.count))
        guard let n else { return false }
        let fd = open(sessionLockPath(n), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// Marks a clean stop: every acknowledged instance's row is committed.
    public func endSession() throws {
        try pending.settle()
        // A row set aside was acknowledged: the next start reconciles the index with the files (as after a crash).
        guard pending.setAside == 0 else { return }
        let key = try sessionKey()
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO server_state (key, value) VALUES (?, 'stopped')", arguments: [key])
        }
    }

    /// This server's own session flag. Servers sharing the index each hold the flock of one `index.db-session-<n>`
    /// (the first free n, kept until this index goes), so each tells its own unclean stop: with one flag for
    /// the index, a second server's start took the first one's "running" for a crash and reconciled, and a crash
    /// after the other had stopped cleanly went unseen. The flag of n = 0 keeps the key a lone server always
    /// used (`session`), so an unclean stop before this version is still seen.
    private func sessionKey() throws -> String {
        try session.withLockedValue { held in
            if let held { return held.key }
            for n in 0..<Self.maxSessions {
                let lockPath = sessionLockPath(n)
                let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw IncomingFile.error("open", lockPath, errno) }
                guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                    close(fd)
                    continue
                }
                let key = Self.sessionFlag(n)
                held = (key, fd)
                return key
            }
            throw ArchiveError.io("\(Self.maxSessions) servers already run on \(path)")
        }
    }

    static let maxSessions = 256

    /// Slot n's key in `server_state` (`session`, `session-1`, …) and its lock file beside the index.
    static func sessionFlag(_ n: Int) -> String { n == 0 ? "session" : sessionFlagPrefix + String(n) }
    static let sessionFlagPrefix = "session-"
    private func sessionLockPath(_ n: Int) -> String { path + "-session-\(n)" }

    /// Every instance row: what `check` compares with the files.
    public func allInstances() throws -> [(sopInstanceUID: String, filePath: String, fileSize: Int64, fileHash: String)] {
        try pending.settle()
        return try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT sop_uid, file_path, file_size, file_hash FROM instances ORDER BY file_path").map {
                ($0["sop_uid"], $0["file_path"], $0["file_size"], $0["file_hash"])
            }
        }
    }

    /// Rows of every table without primary keys and timestamps, sorted (`MaintainedIndex`).
    public func canonicalDump() throws -> [String] {
        try pending.settle()
        return try pool.read { db in
            var lines: [String] = []
            for (prefix, sql) in CanonicalRow.statements {
                lines += try Row.fetchAll(db, sql: sql).map { row in
                    CanonicalRow.line(prefix, row.columnNames.map { name in (name, IndexValue(row[name] as DatabaseValue)) })
                }
            }
            return lines.sorted()
        }
    }
}

/// Group commit for blocking callers. Each caller queues its record; whoever finds no transaction running
/// becomes the leader and commits everything queued (up to a limit), then wakes the others. A follower whose
/// record was taken waits for its result; one whose record was not leads the next transaction.
final class GroupCommit<Item>: @unchecked Sendable {
    private final class Ticket {
        let item: Item
        var result: Result<Void, Error>?
        init(_ item: Item) { self.item = item }
    }

    private let condition = NSCondition()
    private var pending: [Ticket] = []
    private var running = false
    private var committed = 0

    var transactions: Int {
        condition.lock()
        defer { condition.unlock() }
        return committed
    }

    /// Records waiting for a transaction (tests).
    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// `write` commits a batch and answers each record's result, in order.
    func commit(_ item: Item, batchLimit: Int, write: ([Item]) -> [Result<Void, Error>]) throws {
        let ticket = Ticket(item)
        condition.lock()
        pending.append(ticket)
        while ticket.result == nil {
            if running {
                condition.wait()
                continue
            }
            running = true
            let batch = Array(pending.prefix(batchLimit))
            pending.removeFirst(batch.count)
            condition.unlock()
            let results = write(batch.map(\.item))
            condition.lock()
            for (t, r) in zip(batch, results) { t.result = r }
            committed += 1
            running = false
            condition.broadcast()
        }
        let result = ticket.result
        condition.unlock()
        try result?.get()
    }
}

extension IndexValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let i): return i.databaseValue
        case .text(let s): return s.databaseValue
        case .real(let d): return d.databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .blob(let b): self = .text(String(decoding: b, as: UTF8.self))
        }
    }
}
