import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The archive's index in PostgreSQL (`--index postgres://…`): the tables and query engine of SQLite, shared by
/// several `arca serve` nodes over one archive folder. A commit is durable when it returns (the server's
/// `synchronous_commit`, on by default, flushes the WAL before it answers), except two kinds whose durability
/// comes from elsewhere and which so skip that flush (`synchronous_commit` off for their transaction alone):
/// claims (`arca_claim`), a lease between live nodes, and the rows of journaled instances (`recordJournaled`),
/// whose instances the ingest journal holds until `makeRowsDurable`. Records that arrive while a transaction
/// runs go into the next one (group commit, as on SQLite), so concurrent associations share the round trips.
///
/// postgres-nio is asynchronous, the index's blocking forms are called from the archive's I/O threads: those
/// wait on a semaphore while the work runs on this index's own executor (a dispatch queue), never on Swift's
/// cooperative pool, which a blocked caller could otherwise starve on a 2-core machine.
public final class PostgresIndex: InstanceIndex, IndexQuerying, MaintainedIndex, Sendable {
    /// The URL as given (it may hold a password: logs show `displayURL`).
    public let url: String
    /// The URL without its password.
    public let displayURL: String
    /// This node's name in claims and session rows (host and port by default).
    public let node: String
    let client: PostgresClient
    /// The commit's row batches and `makeRowsDurable`, on connections of their own whose server gives a
    /// statement up after 70% of `commitTimeout` (`statement_timeout`, sent when each connects), a statement
    /// sent within 20% of it (`sendBy`): the server has given it up before the node does. A batch this node
    /// stopped waiting for (`NoAnswer`: its C-STORE answered 0xA700, its file gone) could otherwise still commit
    /// afterwards, and leave a row without its file. The group commit runs one batch at a time, so two
    /// connections are enough.
    let committer: PostgresClient
    /// The committer's own watch: each pool numbers its connections from 0, so one watch for both would take
    /// one pool's connection for the other's.
    let committerWatch: ClosedConnectionWatch
    /// How long a commit's statement may wait for the server: a batch takes milliseconds, a server that restarts
    /// takes a few seconds to accept connections again.
    let commitTimeout: Double
    let executor: QueueExecutor
    /// The server process of each of `client`'s connections, by connection (`backendPID`).
    private let backendPIDs = NIOLockedValueBox<[PostgresConnection.ID: Int32]>([:])
    /// Every statement runs through it: a statement whose connection closed is failed, not waited for.
    let watch: ClosedConnectionWatch
    private let runners: [Task<Void, Never>]
    /// Placement requests and announcements between the nodes (`PlacementNotices`), through LISTEN/NOTIFY on
    /// `placementChannel`: every node holds bursts in its journal, and a reader on another node asks for them.
    let placement: PlacementNoticeBoard
    /// The task listening on `placementChannel` (started once the pool runs; a connection of its own).
    private let listener = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// Set by `close()`: a notice the closing pool can no longer send (the last batch's, at a stop) is not a fault.
    private let closed = NIOLockedValueBox(false)
    static let placementChannel = "arca_placement"
    /// The connection this node keeps for its lifetime (its advisory locks: alive, merger).
    private let session: NodeSession
    /// Each record with whether its row ends this node's claim on the instance (a commit's row does).
    private let group = GroupCommit<RowToRecord>()
    /// Journaled rows committed without their WAL flush and not yet made durable (`makeRowsDurable`), in the
    /// order of their commits.
    private let unflushed = NIOLockedValueBox<[RowToRecord]>([])
    /// One `makeRowsDurable` at a time (each removes the rows it covered).
    private let durableLock = NIOLock()
    private let logger: Logger
    /// Transactions committed by the group writer (for tests and benchmarks).
    public var transactionCount: Int { group.transactions }

    /// Most records one group-commit transaction takes; a longer queue is committed in several.
    static let maxBatch = 1000
    /// A claim not renewed for this long belongs to a node that died mid-commit or left it behind (a failed
    /// release): another node may take it over. Its holder renews it while its commit runs (`renew`), so a
    /// commit that takes longer (a multi-gigabyte file flushed to slow storage) keeps it.
    let lease: Duration
    public var claimLease: Duration? { lease }

    /// Connects (a pool of at most `maxConnections`) and brings the schema to the current version. Blocking: call
    /// it from a thread that may wait (start-up, a command), not from an event loop.
    public init(url: String, node: String? = nil, maxConnections: Int = 16, commitTimeout: Double = 20,
                claimLease: Duration = .seconds(60), logger: Logger = Logger(label: "arca.index.postgres")) throws {
        let parsed = try PostgresURL(url)
        self.url = url
        displayURL = parsed.display
        self.node = node ?? ProcessInfo.processInfo.hostName + ":" + String(ProcessInfo.processInfo.processIdentifier)
        self.logger = logger
        var configuration = parsed.configuration
        // The server's side of each connection probes a silent peer after 10 s: a node whose host died (power,
        // panic, a partition) held its session's locks (its name, the merger's lead) for the kernel's default
        // two hours, and the node could not start again under its name. (Ignored over a Unix socket.)
        let keepalives = [("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3")]
        configuration.options.additionalStartupParameters = keepalives
        // The node's session and the placement listener keep one connection each for good.
        configuration.options.maximumConnections = max(3, maxConnections)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        var committing = parsed.configuration
        committing.options.maximumConnections = 2
        committing.options.additionalStartupParameters = [("statement_timeout", "\(Int(commitTimeout * 700))ms")] + keepalives
        let committer = PostgresClient(configuration: committing, backgroundLogger: logger)
        self.committer = committer
        self.commitTimeout = commitTimeout
        lease = claimLease
        let executor = QueueExecutor(label: "arca.index.postgres")
        self.executor = executor
        let watch = ClosedConnectionWatch(executor: executor)
        self.watch = watch
        committerWatch = ClosedConnectionWatch(executor: executor)
        // Each pool's run() in a task of its own, started at once: the migration below leases a connection, and a
        // pool whose run() has not begun yet logs a warning (a task group's children started one hop later).
        runners = [Task(executorPreference: executor) { await client.run() },
                   Task(executorPreference: executor) { await committer.run() }]
        session = NodeSession(client: client, watch: watch, executor: executor, logger: logger)
        let closed = self.closed
        placement = PlacementNoticeBoard(node: self.node) { message in
            Task(executorPreference: executor) {
                do {
                    try await client.withConnection { connection in
                        try await watch.run(on: connection) {
                            let notify: PostgresQuery = "SELECT pg_notify(\(PostgresIndex.placementChannel), \(message))"
                            for try await _ in try await connection.query(notify, logger: logger) {}
                        }
                    }
                } catch where !closed.withLockedValue({ $0 }) {
                    // A reader still finds the instance once the node's hold ends (at most `Hold.maxHold`).
                    logger.warning("PostgreSQL: a placement notice was not sent: \(String(reflecting: error))")
                } catch {}
            }
        }
        do {
            try migrate()
            // The node's lock, held by its session as long as the process lives: a claim whose node no longer
            // holds it was left by a node that died (the server drops a killed process's locks at once).
            guard try blocking({ [session, name = self.node] in try await session.lockNode(name) }) else {
                throw ArchiveError.io("another running node is named \(self.node) on this index: give each node its own --node-name")
            }
        } catch {
            session.close()
            for runner in runners { runner.cancel() }
            throw error
        }
        listener.withLockedValue { $0 = Self.listen(client, placement, executor, logger) }
        // Listening before the node serves: a request sent before would wait for the end of this node's hold.
        if !placement.waitUntilListening(timeout: commitTimeout) {
            logger.warning("PostgreSQL: not yet listening for placement notices; readers on other nodes may wait up to 5 s")
        }
    }

    deinit {
        session.close()
        listener.withLockedValue { $0 }?.cancel()
        for runner in runners { runner.cancel() }
    }

    /// Stops the connection pool (its connections close; this node's locks go with them).
    public func close() {
        closed.withLockedValue { $0 = true }
        session.close()
        listener.withLockedValue { $0 }?.cancel()
        for runner in runners { runner.cancel() }
    }

    public var placementNotices: (any PlacementNotices)? { placement }

    /// Hands every notice on `placementChannel` to `board`, on a connection kept for it, listening again after
    /// the connection is lost (readers then look again: a notice sent meanwhile was missed).
    private static func listen(_ client: PostgresClient, _ board: PlacementNoticeBoard, _ executor: QueueExecutor,
                               _ logger: Logger) -> Task<Void, Never> {
        Task(executorPreference: executor) {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: placementChannel) { notices in
                            board.setListening(true)
                            defer { board.setListening(false) }
                            for try await notice in notices { board.received(notice.payload) }
                        }
                    }
                } catch {
                    guard !Task.isCancelled else { break }
                    logger.warning("PostgreSQL: not listening for placement notices (\(error)); listening again in 1 s")
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Elects one node for `role` across every node on this database: true while this node holds the role's lock
    /// (kept until the process ends, so a node that dies hands the role to the next one that asks; lost with the
    /// node's session connection, after which this asks again). Blocking.
    public func tryLead(_ role: String) throws -> Bool {
        try blocking { [session] in try await session.lead(role) }
    }

    // MARK: Blocking bridge

    /// Runs `operation` on this index's executor and waits for it: for the archive's I/O threads. With `timeout`
    /// (the calls of a C-STORE's commit, which take milliseconds), a call the server has not answered by then is
    /// cancelled and fails (`NoAnswer`): a commit then answers 0xA700 and its thread is free again. Seen after a
    /// crash of the server: a statement sent as it went down was never answered, its commit waited for ever, and
    /// so did every commit behind it and the node's own stop.
    func blocking<T: Sendable>(timeout: Double? = nil, _ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let result = NIOLockedValueBox<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: executor) {
            let r: Result<T, any Error>
            do { r = .success(try await operation()) } catch { r = .failure(error) }
            result.withLockedValue { $0 = r }
            done.signal()
        }
        if let timeout {
            guard done.wait(timeout: .now() + timeout) == .success else {
                task.cancel()
                throw NoAnswer(seconds: timeout)
            }
        } else {
            done.wait()
        }
        guard let r = result.withLockedValue({ $0 }) else { throw ArchiveError.io("PostgreSQL: no result") }
        return try r.get()
    }

    /// `operation` on this index's executor, for asynchronous callers (an association's claim): like
    /// `blocking(timeout:)`, it answers `NoAnswer` after `timeout` seconds. Not a task group racing a timer: a
    /// group waits for every child, and the statement that was never answered is an await nothing resumes (its
    /// cancellation is asked for, and it is left behind).
    func bounded<T: Sendable>(timeout: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let first = FirstAnswer(continuation)
            let task = Task(executorPreference: executor) {
                do { first.answer(.success(try await operation())) } catch { first.answer(.failure(error)) }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if first.answer(.failure(NoAnswer(seconds: timeout))) { task.cancel() }
            }
        }
    }

    /// A statement of a commit the server did not answer in time.
    struct NoAnswer: Error, CustomStringConvertible {
        let seconds: Double
        var description: String { "PostgreSQL did not answer in \(Int(seconds)) s" }
    }

    /// `work` on a connection leased from the pool for it, failed as soon as that connection closes
    /// (`ClosedConnectionWatch`: postgres-nio would never answer a statement written to it). Every statement
    /// of the index runs this way, none through `PostgresClient.query`, which loses its lease then.
    /// `committing`: on the committer's connections (`committer`).
    func onConnection<T: Sendable>(committing: Bool = false, _ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let watch = committing ? committerWatch : self.watch
        return try await (committing ? committer : client).withConnection { connection in
            try await watch.run(on: connection) { try await work(connection) }
        }
    }

    /// The latest moment a commit's statement started now may be sent: the server, giving it up after 70% of
    /// `commitTimeout`, then does so 10% before the node stops waiting for it.
    func sendBy() -> ContinuousClock.Instant { .now + .seconds(commitTimeout * 0.2) }

    /// A commit's statement not sent by its `sendBy` (no connection was ready): failed unsent, since the server
    /// could no longer give it up before the node does.
    struct NotSentInTime: Error, CustomStringConvertible {
        var description: String { "PostgreSQL: no connection was ready in time to send the commit's statement" }
    }

    static func check(_ sendBy: ContinuousClock.Instant?) throws {
        if let sendBy, ContinuousClock.now > sendBy { throw NotSentInTime() }
    }

    /// A statement's rows, as index values.
    func rows(_ sql: String, _ arguments: [IndexValue] = []) async throws -> [[IndexValue]] {
        let query = PostgresQuery(unsafeSQL: sql, binds: Self.bindings(arguments))
        return try await onConnection { [logger] connection in
            var out: [[IndexValue]] = []
            for try await row in try await connection.query(query, logger: logger) {
                out.append(try row.map(Self.value))
            }
            return out
        }
    }

    func execute(_ sql: String, _ arguments: [IndexValue] = []) async throws {
        let query = PostgresQuery(unsafeSQL: sql, binds: Self.bindings(arguments))
        try await onConnection { [logger] connection in
            for try await _ in try await connection.query(query, logger: logger) {}
        }
    }

    static func bindings(_ arguments: [IndexValue]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: arguments.count)
        append(arguments, to: &binds)
        return binds
    }

    static func append(_ arguments: [IndexValue], to binds: inout PostgresBindings) {
        for a in arguments {
            switch a {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            // Every text, a calling AE title or a query key too, rather than failing the store or the query.
            case .text(let s): binds.append(s.withoutNULs)
            case .real(let d): binds.append(d)
            }
        }
    }

    /// A row's values, its cells taken in order (the row's iterator: its indices re-read each cell's length).
    static func values(_ row: PostgresRow) throws -> [IndexValue] {
        var values: [IndexValue] = []
        values.reserveCapacity(row.count)
        for cell in row { values.append(try value(cell)) }
        return values
    }

    static func value(_ cell: PostgresCell) throws -> IndexValue {
        guard let bytes = cell.bytes else { return .null }
        switch cell.dataType {
        // Their bytes are the UTF-8 text in either format: read straight, without the generic decoding's context
        // (a search of 8,523 answers reads 40,000 such cells).
        case .text, .varchar, .bpchar, .name: return .text(String(buffer: bytes))
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric:
            // SUM over BIGINT columns (the patient-level counts) is NUMERIC in PostgreSQL.
            let d = try cell.decode(Decimal.self)
            return .integer(NSDecimalNumber(decimal: d).int64Value)
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    // MARK: Schema

    /// Applies the migrations not yet applied, one node at a time (a transaction-scoped advisory lock: nodes
    /// starting together on a new database would otherwise both create the tables).
    private func migrate() throws {
        try blocking { [self, logger] in
            try await onConnection { connection in try await connection.withTransaction(logger: logger) { connection in
                _ = try await connection.query("SELECT pg_advisory_xact_lock(7237005577332262213)", logger: logger)
                var applied = 0
                let exists = try await connection.query("SELECT to_regclass('schema_version') IS NOT NULL", logger: logger)
                var hasTable = false
                for try await row in exists { hasTable = try row.decode(Bool.self) }
                if hasTable {
                    for try await row in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", logger: logger) {
                        applied = try row.decode(Int.self)
                    }
                }
                for migration in PostgresSchema.migrations where migration.version > applied {
                    // One statement per query: the extended protocol takes no more.
                    for statement in PostgresSchema.statements(migration.sql) {
                        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
            } }
        }
    }

    /// The schema version the database is at.
    public func schemaVersion() throws -> Int {
        try blocking { try await self.rows("SELECT MAX(version) FROM schema_version").first?.first?.integer.map(Int.init) ?? 0 }
    }

    // MARK: InstanceIndex

    public func filePath(ofInstance sopInstanceUID: String) async throws -> String? {
        try await rows("SELECT file_path FROM instances WHERE sop_uid = $1", [.text(sopInstanceUID)]).first?.first?.text
    }

    public func filePathNow(ofInstance sopInstanceUID: String) throws -> String? {
        try blocking(timeout: commitTimeout) { try await self.filePath(ofInstance: sopInstanceUID) }
    }

    public func indexedCopyNow(ofInstance sopInstanceUID: String) throws -> IndexedCopy? {
        try blocking(timeout: commitTimeout) {
            try await self.rows("SELECT file_path, file_hash, received_at FROM instances WHERE sop_uid = $1", [.text(sopInstanceUID)])
        }.first.flatMap { row in
            guard row.count == 3, let path = row[0].text, let hash = row[1].text, let received = row[2].text else { return nil }
            return IndexedCopy(filePath: path, fileHash: hash, receivedAt: received)
        }
    }

    /// In one transaction: an advisory lock on the instance (`arca-place:` and its UID; nodes placing it wait for
    /// each other), its row's hash read under it, `place` run when that is still `placeholder`, the lock ended by
    /// the commit. `place` is a rename: it runs here, on the index's own queue, while the transaction is open.
    public func placeIfCurrent(_ sopInstanceUID: String, placeholder: String, _ place: @escaping @Sendable () throws -> Void) throws -> Bool {
        try blocking(timeout: commitTimeout) { [logger] in
            try await self.onConnection { connection in
                _ = try await connection.query("BEGIN", logger: logger)
                do {
                    // The lock, then the read in a statement of its own: under READ COMMITTED a statement sees what was
                    // committed when it started, and a read in the locking statement would predate a row committed
                    // (and a copy placed) while it waited for the lock.
                    _ = try await connection.query(
                        "SELECT pg_advisory_xact_lock(hashtextextended('arca-place:' || \(sopInstanceUID), 0))::TEXT", logger: logger)
                    var hash: String?
                    let rows = try await connection.query("SELECT file_hash FROM instances WHERE sop_uid = \(sopInstanceUID)", logger: logger)
                    for try await current in rows.decode(String.self) { hash = current }
                    let placed = hash == placeholder
                    if placed { try place() }
                    _ = try await connection.query("COMMIT", logger: logger)
                    return placed
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Blocks until the row is committed, in this caller's transaction or in the one another caller runs for
    /// everything pending.
    public func recordNow(_ record: InstanceRecord) throws {
        try recordNow(record, endingClaim: false)
    }

    public func recordNow(_ record: InstanceRecord, endingClaim: Bool) throws {
        try commit(RowToRecord(record: record, endsClaim: endingClaim, journaled: false))
    }

    public func recordJournaled(_ record: InstanceRecord, endingClaim: Bool) throws {
        try commit(RowToRecord(record: record, endsClaim: endingClaim, journaled: true))
    }

    /// One synchronous commit, which flushes PostgreSQL's WAL past every commit made before it (those made
    /// without their own flush too), and in the same statement the rows of the instances recorded without their
    /// flush. A row that statement sees was committed before it, so is durable once it commits. A row it does not
    /// see was lost: the server crashed before flushing it (a restart, or a backend's crash, after which the
    /// server reinitializes and replays its WAL without restarting). Each instance's newest row is recorded
    /// again, synchronously, when the instance has no row or has one this node wrote earlier (the newer one
    /// lost, an older one kept); a row none of this node's is another writer's newer one, and stays.
    /// Their instances are still in the journal, which waits for this.
    public func makeRowsDurable() throws {
        try durableLock.withLock {
            let pending = unflushed.withLockedValue { $0 }
            guard !pending.isEmpty else { return }
            var newest: [String: RowToRecord] = [:]
            var recorded: [String: Set<String>] = [:]
            var order: [String] = []
            for row in pending {
                let sop = row.record.attributes.sopInstanceUID
                if newest.updateValue(row, forKey: sop) == nil { order.append(sop) }
                recorded[sop, default: []].insert(Self.version(row.record.filePath, row.record.fileHash))
                // A row still holding the placeholder its hash replaced is this node's too (its update lost).
                if let placeholder = row.placeholder { recorded[sop, default: []].insert(Self.version(row.record.filePath, placeholder)) }
            }
            let sendBy = sendBy()
            let found = try blocking(timeout: commitTimeout) { [self, order] in
                var binds = PostgresBindings(capacity: 2)
                binds.append("durable:" + node)
                binds.append(order)
                // The mark makes it a transaction that writes, so its commit flushes; synchronously whatever the
                // database's or role's default.
                let query = PostgresQuery(unsafeSQL: """
                    WITH mark AS (INSERT INTO server_state (key, value)
                                  VALUES ($1, set_config('synchronous_commit', 'on', true) || ' ' || now()::TEXT)
                                  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value)
                    SELECT sop_uid, file_path, file_hash FROM instances WHERE sop_uid = ANY($2)
                    """, binds: binds)
                return try await onConnection(committing: true) { [logger] connection in
                    try Self.check(sendBy)
                    var versions: [String: String] = [:]
                    for try await row in try await connection.query(query, logger: logger) {
                        let (sop, path, hash) = try row.decode((String, String, String).self)
                        versions[sop] = Self.version(path, hash)
                    }
                    return versions
                }
            }
            let lost = order.compactMap { sop -> RowToRecord? in
                guard let row = newest[sop] else { return nil }
                let now = found[sop]
                if now == Self.version(row.record.filePath, row.record.fileHash) { return nil }
                if let now, recorded[sop]?.contains(now) != true { return nil }
                return RowToRecord(record: row.record, endsClaim: row.endsClaim, journaled: false)
            }
            if !lost.isEmpty {
                logger.warning("PostgreSQL lost \(lost.count) rows committed without their WAL flush (the server crashed): recording them again from the journal")
                try commitRows(lost)
            }
            unflushed.withLockedValue { $0.removeFirst(pending.count) }
        }
    }

    /// A row's file and content, as `makeRowsDurable` compares them.
    private static func version(_ path: String, _ hash: String) -> String { path + "\u{0}" + hash }

    private func commit(_ row: RowToRecord) throws {
        try group.commit(row, batchLimit: Self.maxBatch) { batch in
            do {
                try self.commitRows(batch)
                self.noteUnflushed(batch)
                return batch.map { _ in .success(()) }
            } catch let error where Self.gaveUp(error) {
                return batch.map { _ in .failure(error) }
            } catch {
                // One bad row (or a deadlock with another node's batch) must not fail the others: each alone.
                return batch.map { r in
                    Result {
                        try self.commitRows([r])
                        self.noteUnflushed([r])
                    }
                }
            }
        }
    }

    /// A C-STORE's rows, on the committer's connections: sent by `sendBy()` and waited for `commitTimeout`.
    private func commitRows(_ rows: [RowToRecord]) throws {
        let sendBy = sendBy()
        try blocking(timeout: commitTimeout) { try await self.recordRows(rows, sendBy: sendBy) }
    }

    /// Whether a batch's error ends every row of it, none tried alone: the server did not answer in time
    /// (`NoAnswer`), the statement could not be sent in time (`NotSentInTime`), or the server gave it up itself (`statement_timeout` on the committing connections, SQLSTATE
    /// 57014). Each row alone would wait as long again: a stuck batch of 100 would hold its commits for 25 minutes.
    static func gaveUp(_ error: any Error) -> Bool {
        if error is NoAnswer || error is NotSentInTime { return true }
        if let error = error as? PSQLError, error.serverInfo?[.sqlState] == "57014" { return true }
        return false
    }

    /// Journaled rows not yet made durable (tests).
    var unflushedCount: Int { unflushed.withLockedValue { $0.count } }

    /// Remembers rows committed without their flush (before their committers are told: a `makeRowsDurable`
    /// called after that covers them).
    private func noteUnflushed(_ rows: [RowToRecord]) {
        guard rows.allSatisfy(\.journaled) else { return }
        unflushed.withLockedValue { $0 += rows }
    }

    /// The rows, and the end of this node's claims on those a commit records (`endsClaim`): deleted with the
    /// rows, so another node finds either the claim or the row, never neither, and a commit needs no round trip
    /// after its row. A group-commit batch is one statement, so one round trip (and one WAL flush) where BEGIN,
    /// a call per row, the claims' DELETE and COMMIT took one each: with eight associations, a batch's time is
    /// what every waiting commit waits for. A longer list (a rebuild) is one transaction of such statements.
    /// `sendBy`: a C-STORE's commit, on the connections whose server gives a statement up (`committer`), and
    /// sent by then or not at all.
    func recordRows(_ records: [RowToRecord], sendBy: ContinuousClock.Instant? = nil) async throws {
        try await onConnection(committing: sendBy != nil) { [logger, node] connection in
            try Self.check(sendBy)
            guard records.count > Self.maxBatch else {
                for try await _ in try await connection.query(RecordBatch.query(records[...], node: node), logger: logger) {}
                return
            }
            try await connection.withTransaction(logger: logger) { connection in
                for first in stride(from: 0, to: records.count, by: Self.maxBatch) {
                    let chunk = records[first..<min(first + Self.maxBatch, records.count)]
                    for try await _ in try await connection.query(RecordBatch.query(chunk, node: node), logger: logger) {}
                }
            }
        }
    }

    public func remove(instance sopInstanceUID: String) async throws {
        try await execute("SELECT arca_remove($1)", [.text(sopInstanceUID)])
    }

    public func removeNow(instance sopInstanceUID: String) throws {
        try blocking { try await self.remove(instance: sopInstanceUID) }
    }

    /// One synchronous commit for the batch; the rows still waiting for `makeRowsDurable` take the hash too, so
    /// that a row the database lost is recorded again with it.
    public func settleHashes(_ hashes: [SettledHash]) throws {
        guard !hashes.isEmpty else { return }
        var binds = PostgresBindings(capacity: 4)
        binds.append(hashes.map(\.hash))
        binds.append(hashes.map(\.sopInstanceUID))
        binds.append(hashes.map(\.filePath))
        binds.append(hashes.map(\.placeholder))
        // Synchronously whatever the database's or role's default (as `makeRowsDurable`): the journal lets the
        // instances go after this batch.
        let query = PostgresQuery(unsafeSQL: """
            WITH durable AS (SELECT set_config('synchronous_commit', 'on', true))
            UPDATE instances i SET file_hash = u.hash
            FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[]) AS u(hash, sop, path, placeholder), durable
            WHERE i.sop_uid = u.sop AND i.file_path = u.path AND i.file_hash = u.placeholder
            """, binds: binds)
        let sendBy = sendBy()
        try blocking(timeout: commitTimeout) { [self] in
            try await onConnection(committing: true) { [logger] connection in
                try Self.check(sendBy)
                _ = try await connection.query(query, logger: logger)
            }
        }
        let settled = Dictionary(hashes.map { ($0.placeholder, $0.hash) }, uniquingKeysWith: { _, last in last })
        unflushed.withLockedValue { rows in
            for i in rows.indices {
                if let hash = settled[rows[i].record.fileHash] {
                    rows[i].placeholder = rows[i].record.fileHash
                    rows[i].record.fileHash = hash
                }
            }
        }
    }

    public func recordBatch(_ records: [InstanceRecord]) throws {
        guard !records.isEmpty else { return }
        try blocking { try await self.recordRows(records.map { RowToRecord(record: $0, endsClaim: false, journaled: false) }) }
    }

    /// Claims the instance for this node's commit: inserted and committed at once, so every node sees it, and
    /// looked up in the same round trip (`arca_claim`). A claim left by a node that died mid-commit is taken over
    /// once its lease has run out unrenewed. The claim ends with the instance's row (`recordRows`), or by `release`.
    public func claim(instance sopInstanceUID: String) async throws -> InstanceClaim {
        let lease = Self.wholeSeconds(self.lease)
        let rows = try await bounded(timeout: commitTimeout) { [self] in
            try await self.rows("SELECT arca_claim($1, $2, $3)::BIGINT",
                                [.text(sopInstanceUID), .text(node), .integer(lease)])
        }
        switch rows.first?.first?.integer {
        case 0: return .heldElsewhere
        case 1: return .claimedNew
        case 2: return .claimed
        case let other: throw ArchiveError.io("PostgreSQL: arca_claim answered \(other.map(String.init) ?? "nothing")")
        }
    }

    public func renew(instances sopInstanceUIDs: [String]) async {
        do {
            try await bounded(timeout: commitTimeout) { [self] in
                var binds = PostgresBindings(capacity: 2)
                binds.append(node)
                binds.append(sopInstanceUIDs)
                let query = PostgresQuery(unsafeSQL: "UPDATE ingest_claims SET claimed_at = now() WHERE node = $1 AND sop_uid = ANY($2)",
                                          binds: binds)
                try await onConnection { [logger] connection in
                    for try await _ in try await connection.query(query, logger: logger) {}
                }
            }
        } catch {
            // The next renewal may get through; a lease that runs out meanwhile lets another node wait no longer.
            logger.warning("could not renew \(sopInstanceUIDs.count) claim(s): \(error)")
        }
    }

    /// `arca_claim` takes whole seconds, at least one.
    static func wholeSeconds(_ duration: Duration) -> Int64 { max(1, duration.components.seconds) }

    public func release(instance sopInstanceUID: String) async {
        do {
            try await bounded(timeout: commitTimeout) { [self] in
                try await self.execute("DELETE FROM ingest_claims WHERE sop_uid = $1 AND node = $2", [.text(sopInstanceUID), .text(node)])
            }
        } catch {
            // A claim left behind expires with its lease; the instance's row is what counts.
            logger.warning("could not release the claim on \(sopInstanceUID): \(error)")
        }
    }

    // MARK: IndexQuerying

    public var dialect: any SQLDialect { PostgreSQLDialect() }
    public var isReadByOtherNodes: Bool { true }

    /// Runs the statement and hands its rows to `body` on the calling thread as they arrive, in batches of
    /// `rowBatch`: an 8,500-study answer no longer waits for PostgreSQL's last row before its first is answered.
    /// Each row is read on the connection's event loop as it is decoded, not through the async row sequence:
    /// its hop to a task per row (and the cancellation handler each `next()` installs) was a fifth of the
    /// server's CPU in a search of 8,523 answers.
    public func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws {
        let handoff = RowHandoff()
        let query = PostgresQuery(unsafeSQL: sql, binds: Self.bindings(arguments))
        Task(executorPreference: executor) { [logger] in
            do {
                try await self.onConnection { connection in
                    let batches = RowBatches(handoff, size: Self.rowBatch)
                    let cancel = StatementCancel(session: self.session, backend: try await self.backendPID(of: connection),
                                                 executor: self.executor, logger: logger)
                    do {
                        _ = try await connection.query(query, logger: logger, { row in
                            let values = try Self.values(row)
                            do { try batches.add(values) } catch {
                                // The reader stopped: no more rows are delivered, and the rest of the statement is
                                // cancelled (postgres-nio would read and drop every row left before the connection
                                // served anything else, a search without LIMIT all it matches).
                                cancel.start()
                                throw error
                            }
                        }).get()
                    } catch is RowBatches.ReaderStopped {
                        // The query failed as the callback threw; the statement goes on on the connection until
                        // it is cancelled (or its rows are read and dropped), which `finish` waits for.
                        await cancel.finish(on: connection)
                    }
                    batches.flush()
                }
                handoff.finish()
            } catch {
                handoff.finish(error)
            }
        }
        defer { handoff.stop() }  // also when `body` throws: the statement ends at its next batch
        while let batch = try handoff.next() {
            for row in batch where try !body(row) { return }
        }
    }

    /// The server process serving `connection`, asked once per connection (what `pg_cancel_backend` names).
    private func backendPID(of connection: PostgresConnection) async throws -> Int32 {
        if let pid = backendPIDs.withLockedValue({ $0[connection.id] }) { return pid }
        var pid: Int32 = 0
        for try await row in try await connection.query("SELECT pg_backend_pid()", logger: logger) { pid = try row.decode(Int32.self) }
        backendPIDs.withLockedValue { [pid] in $0[connection.id] = pid }
        // Forgotten with the connection (the pool replaces idle ones: the table would otherwise only grow).
        connection.closeFuture.whenComplete { [backendPIDs, id = connection.id] _ in _ = backendPIDs.withLockedValue { $0.removeValue(forKey: id) } }
        return pid
    }

    /// Rows per hand-off: few enough that the first answers go out early, enough to spare the wake-ups.
    static let rowBatch = 64

    // MARK: Maintenance

    /// Marks the index in use by this node; answers whether this node's previous run stopped cleanly.
    public func beginSession() throws -> Bool {
        try blocking {
            let key = "session:" + self.node
            let previous = try await self.rows("SELECT value FROM server_state WHERE key = $1", [.text(key)]).first?.first?.text
            try await self.execute("""
                INSERT INTO server_state (key, value) VALUES ($1, 'running') ON CONFLICT (key) DO UPDATE SET value = 'running'
                """, [.text(key)])
            return previous != "running"
        }
    }

    public func endSession() throws {
        // Bounded: a stop must not wait for ever on a server that went away (the next start then reconciles).
        try blocking(timeout: commitTimeout) {
            try await self.execute("""
                INSERT INTO server_state (key, value) VALUES ($1, 'stopped') ON CONFLICT (key) DO UPDATE SET value = 'stopped'
                """, [.text("session:" + self.node)])
        }
    }

    public func allInstances() throws -> [(sopInstanceUID: String, filePath: String, fileSize: Int64, fileHash: String)] {
        try blocking { try await self.rows("SELECT sop_uid, file_path, file_size, file_hash FROM instances ORDER BY file_path") }
            .map { ($0[0].text ?? "", $0[1].text ?? "", $0[2].integer ?? -1, $0[3].text ?? "") }
    }

    /// Deletes every row (a rebuild starts from nothing).
    public func removeAll() throws {
        try blocking {
            try await self.execute("TRUNCATE instances, series, studies, patients, ingest_claims")
        }
    }

    public func canonicalDump() throws -> [String] {
        try blocking { [self, logger] in
            try await onConnection { connection in
                var lines: [String] = []
                for (prefix, sql) in CanonicalRow.statements {
                    for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                        var fields: [(String, IndexValue)] = []
                        for cell in row { fields.append((cell.columnName, try Self.value(cell))) }
                        lines.append(CanonicalRow.line(prefix, fields))
                    }
                }
                return lines.sorted()
            }
        }
    }
}

/// One connection leased for the node's lifetime, holding the advisory locks that say the node is alive and
/// which roles it leads, and running the statements tied to them one after the other (its own task owns the
/// connection and what it holds).
///
/// A lost connection (the server restarted, a network cut) takes those locks with it: other nodes then see this
/// one as gone (they may take its claims over, and its roles). The session opens a new connection and takes the
/// node's lock again before anything else (retried every second: the server may hold the old connection's locks
/// until it notices that connection is dead); roles are not taken back behind the callers' backs: the next
/// `lead` asks again, and answers false if another node took the role meanwhile.
final class NodeSession: Sendable {
    struct Request: Sendable {
        enum Kind: Sendable {
            /// The node's lock, taken again after every reconnection once granted.
            case node(String)
            /// A role's lock; answered from what the current connection holds when it holds it.
            case role(String)
            /// Cancels what a server process runs (`pg_cancel_backend`): a statement whose reader stopped, unless
            /// its waiter abandoned it meanwhile (`StatementCancel.Ticket`).
            case cancel(Int32, StatementCancel.Ticket)
            /// Connection `n` of the session closed (posted by the connection itself, so a lost connection is
            /// replaced at once, not at the next request).
            case closed(Int)
        }
        let kind: Kind
        let done: @Sendable (Result<Bool, any Error>) -> Void
    }

    private let requests: AsyncStream<Request>.Continuation
    private let task: Task<Void, Never>
    /// Set by `close()`: a connection lost from then on (the pool shuts down after it) is not replaced.
    private let closing: NIOLockedValueBox<Bool>

    init(client: PostgresClient, watch: ClosedConnectionWatch, executor: QueueExecutor, logger: Logger) {
        let closing = NIOLockedValueBox(false)
        self.closing = closing
        let (stream, continuation) = AsyncStream.makeStream(of: Request.self)
        requests = continuation
        task = Task(executorPreference: executor) {
            var pending = stream.makeAsyncIterator()
            var node: String?
            var open = true
            var generation = 0
            while open && !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        generation += 1
                        let current = generation
                        connection.closeFuture.whenComplete { _ in _ = continuation.yield(Request(kind: .closed(current)) { _ in }) }
                        func answer(_ query: PostgresQuery) async throws -> Bool {
                            try await watch.run(on: connection) {
                                var answer = false
                                for try await row in try await connection.query(query, logger: logger) { answer = try row.decode(Bool.self) }
                                return answer
                            }
                        }
                        func locked(_ key: String) async throws -> Bool {
                            try await answer("SELECT pg_try_advisory_lock(hashtextextended(\(key), 0))")
                        }
                        if let node {
                            while try await !locked("arca-node:" + node) {
                                logger.warning("PostgreSQL: node \(node)'s lock is still held by its lost connection; asking again")
                                try await Task.sleep(for: .seconds(1))
                            }
                            logger.notice("PostgreSQL: node \(node)'s session is back")
                        }
                        var roles: Set<String> = []
                        while let request = await pending.next(isolation: #isolation) {
                            if case .closed(let n) = request.kind {
                                if n == current { throw ArchiveError.io("the connection closed") }
                                continue
                            }
                            do {
                                switch request.kind {
                                case .node(let name):
                                    let granted = try await locked("arca-node:" + name)
                                    if granted { node = name }
                                    request.done(.success(granted))
                                case .closed:
                                    break
                                case .role(let role):
                                    if roles.contains(role) && !connection.isClosed { request.done(.success(true)); continue }
                                    let granted = try await locked("arca-lead:" + role)
                                    if granted { roles.insert(role) }
                                    request.done(.success(granted))
                                case .cancel(let backend, let ticket):
                                    guard ticket.send() else { request.done(.success(false)); continue }
                                    request.done(.success(try await answer("SELECT pg_cancel_backend(\(backend))")))
                                }
                            } catch {
                                request.done(.failure(error))
                                // A lost connection: open another (its locks are gone with it).
                                if connection.isClosed { throw error }
                            }
                        }
                        open = false
                    }
                } catch {
                    // A closed session has nothing to reconnect to: the pool shuts down after it, and retrying each
                    // second would go on, and log, for as long as the process lives.
                    guard open, !Task.isCancelled, !closing.withLockedValue({ $0 }) else { break }
                    logger.error("PostgreSQL: the node's session connection was lost (\(error)); opening another")
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            // Whatever is still queued is answered.
            while let request = await pending.next(isolation: #isolation) { request.done(.failure(ArchiveError.io("PostgreSQL: the node's session is closed"))) }
        }
    }

    /// Takes the node's lock (held, and taken again after a reconnection, while the process lives).
    func lockNode(_ name: String) async throws -> Bool { try await ask(.node(name)) }

    /// Takes a role's lock, or answers that this node holds it on its current connection.
    func lead(_ role: String) async throws -> Bool { try await ask(.role(role)) }

    /// Asks the server to cancel what process `backend` runs; false when it runs nothing to cancel any more, or
    /// when the ticket's waiter gave up before it was sent (then it never is).
    func cancel(backend: Int32, _ ticket: StatementCancel.Ticket) async throws -> Bool { try await ask(.cancel(backend, ticket)) }

    private func ask(_ kind: Request.Kind) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let request = Request(kind: kind) { continuation.resume(with: $0) }
            if case .terminated = requests.yield(request) {
                continuation.resume(throwing: ArchiveError.io("PostgreSQL: the node's session is closed"))
            }
        }
    }

    func close() {
        closing.withLockedValue { $0 = true }
        requests.finish()
    }
}

/// A row for the group commit: whether it ends this node's claim on the instance (a commit's row does), and
/// whether a journal holds its instance durably (then its transaction need not wait for the WAL flush).
struct RowToRecord: Sendable {
    var record: InstanceRecord
    var endsClaim: Bool
    var journaled: Bool
    /// The placeholder hash the row was recorded with, once `settleHashes` gave `record` its BLAKE3.
    var placeholder: String? = nil
}

/// Rows written by `arca_record` (one call per row, in order), and this node's claims on those a commit records
/// ended, in one statement: `WITH ended AS (DELETE …) SELECT count(*) FROM (SELECT 1 FROM arca_record($3, …) UNION
/// ALL …)`.
/// A data-modifying WITH runs whether or not it is read; the calls run in the order of the UNION ALL (the
/// function is not parallel safe). At most `PostgresIndex.maxBatch` rows: 34 parameters a row, 65,535 a statement.
/// A batch of journaled rows only turns `synchronous_commit` off for its own transaction (`set_config(…, true)`,
/// read when the statement's implicit transaction commits): one WAL flush less per batch.
enum RecordBatch {
    static let parametersPerRow = 34

    static func query(_ records: ArraySlice<RowToRecord>, node: String) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 2 + records.count * parametersPerRow)
        binds.append(node)
        binds.append(records.filter(\.endsClaim).map(\.record.attributes.sopInstanceUID))
        var calls: [String] = []
        calls.reserveCapacity(records.count)
        var next = 3
        for record in records.lazy.map(\.record) {
            calls.append("SELECT 1 FROM arca_record(" + (next..<next + parametersPerRow).map { "$\($0)" }.joined(separator: ",") + ")")
            next += parametersPerRow
            PostgresIndex.append(values(record), to: &binds)
        }
        let unflushed = records.allSatisfy(\.journaled) ? ", set_config('synchronous_commit', 'off', true)" : ""
        let sql = "WITH ended AS (DELETE FROM ingest_claims WHERE node = $1 AND sop_uid = ANY($2)) "
            + "SELECT count(*)" + unflushed
            + " FROM (" + calls.joined(separator: " UNION ALL ") + ") r"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// `arca_record`'s arguments, in its order.
    static func values(_ r: InstanceRecord) -> [IndexValue] {
        let a = r.attributes
        return [
            .text(a.patientID), .text(a.issuerOfPatientID), .text(a.patientName), .text(a.patientBirthDate), .text(a.patientSex),
            .text(TextFolding.fold(a.patientName)),
            .text(a.studyInstanceUID), .text(a.studyDate), .text(a.studyTime), .text(a.accessionNumber), .text(a.studyDescription),
            .text(a.referringPhysicianName), .text(a.studyID), .text(TextFolding.fold(a.referringPhysicianName)),
            .text(a.seriesInstanceUID), .text(a.modality), integer(a.seriesNumber), .text(a.seriesDescription),
            .text(a.bodyPartExamined), .text(a.seriesDate), .text(a.seriesTime),
            .text(a.sopInstanceUID), .text(a.sopClassUID), integer(a.instanceNumber), .text(r.transferSyntaxUID),
            .text(r.filePath), .integer(Int64(clamping: r.fileSize)), .text(r.fileHash), .text(r.receivedAt), .text(r.callingAETitle),
            integer(a.rows), integer(a.columns), integer(a.bitsAllocated), integer(a.numberOfFrames),
        ]
    }

    static func integer(_ v: Int?) -> IndexValue { v.map { .integer(Int64($0)) } ?? .null }
}

/// A connection URL: `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`, or a
/// Unix socket folder as `?host=/path`. Without a password in the URL, `PGPASSWORD` gives it, as for libpq's
/// clients: the URL then need not carry a secret into a settings file, a command line (`ps`) or `--print-config`.
struct PostgresURL {
    let configuration: PostgresClient.Configuration
    let display: String

    init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            // Named without what may be its password (a mistyped scheme still carries one).
            let named = text.lastIndex(of: "@").map { "…" + text[$0...] } ?? text
            throw ArchiveError.io("\(named): not a postgres:// URL")
        }
        let user = components.user ?? "postgres"
        let password = components.password ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, b in b })
        if let socketFolder = query["host"], socketFolder.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = PostgresClient.Configuration(unixSocketPath: socketFolder + "/.s.PGSQL.\(port)", username: user,
                                                         password: password, database: database.isEmpty ? nil : database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "require": tls = .require(.makeClientConfiguration())
            default: tls = .prefer(.makeClientConfiguration())
            }
            configuration = PostgresClient.Configuration(host: components.host ?? "127.0.0.1", port: components.port ?? 5432,
                                                         username: user, password: password,
                                                         database: database.isEmpty ? nil : database, tls: tls)
        }
        var shown = components
        if shown.password != nil { shown.password = "***" }
        display = shown.string ?? text
    }
}

/// A `TaskExecutor` on a dispatch queue: the index's asynchronous work runs here, so callers that block
/// waiting for it never hold the thread it needs. A serial queue, because libdispatch gives serial queues a
/// thread even when every thread of its pool is blocked (200 concurrent `record` calls, each waiting on a
/// dispatch thread, starved a concurrent queue for minutes); its jobs are short (the I/O is on NIO's loops).
final class QueueExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// The cancel of one statement whose reader stopped. Started on the connection's event loop as the reader is found
/// gone (it must not wait there), sent from the node's session connection (a second lease from the pool could wait
/// for ever on a pool whose every connection is held by a statement waiting for the same), and finished before the
/// statement's connection goes back to the pool: the cancel then reaches this statement or an idle server, which
/// drops it, never the next statement on the connection. A cancel the session has not sent within
/// `sendTimeout` (it is reconnecting, itself waiting for a connection of the pool) is abandoned, never sent late,
/// and the statement's rows are read and dropped as before.
///
/// One narrow case costs a connection, never a wrong answer: a cancel the server takes between the statement's last
/// row and its end makes it report an error after completing, on which postgres-nio closes the connection.
final class StatementCancel: Sendable {
    /// Whether the cancel may still be sent: the session and the waiter agree under one lock.
    final class Ticket: Sendable {
        private enum State { case pending, sending, abandoned }
        private let state = NIOLockedValueBox(State.pending)

        /// The session is about to send it; false once abandoned.
        func send() -> Bool {
            state.withLockedValue { state in
                guard state == .pending else { return false }
                state = .sending
                return true
            }
        }

        /// The waiter gives up; false when the session is already sending it (then it is waited for).
        func abandon() -> Bool {
            state.withLockedValue { state in
                guard state == .pending else { return false }
                state = .abandoned
                return true
            }
        }
    }

    static let sendTimeout: Duration = .seconds(1)

    private let session: NodeSession
    private let backend: Int32
    private let executor: QueueExecutor
    private let logger: Logger
    private let ticket = Ticket()
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(session: NodeSession, backend: Int32, executor: QueueExecutor, logger: Logger) {
        self.session = session
        self.backend = backend
        self.executor = executor
        self.logger = logger
    }

    /// Asks the server to cancel the statement (once).
    func start() {
        task.withLockedValue { task in
            guard task == nil else { return }
            task = Task(executorPreference: executor) { [session, backend, ticket, logger] in
                do { _ = try await session.cancel(backend: backend, ticket) } catch {
                    logger.debug("PostgreSQL: a stopped statement could not be cancelled: \(error)")
                }
            }
        }
    }

    /// Waits for the cancel to be sent (or abandons it after `sendTimeout`), then for a trivial statement on
    /// `connection`, queued behind the statement: answered once the statement has ended, and a cancel the
    /// server took late is spent on it (its error ignored), not on the next statement.
    func finish(on connection: PostgresConnection) async {
        guard let sending = task.withLockedValue({ $0 }) else { return }
        // Whichever comes first: the cancel sent, or the timeout (a task group would wait for both, and waiting
        // for the cancel cannot be interrupted).
        let sent = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiting = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(continuation)
            let resume: @Sendable (Bool) -> Void = { sent in
                waiting.withLockedValue { waiting in
                    waiting?.resume(returning: sent)
                    waiting = nil
                }
            }
            let timeout = Task(executorPreference: executor) {
                try? await Task.sleep(for: Self.sendTimeout)
                resume(false)
            }
            Task(executorPreference: executor) {
                await sending.value
                resume(true)
                timeout.cancel()  // after `resume(true)`, which it must not overtake: it ends its sleep at once
            }
        }
        if !sent && !ticket.abandon() { await sending.value }  // already on its way: wait for it
        guard !connection.isClosed else { return }
        _ = try? await connection.query("SELECT 1", logger: logger).get()
    }
}
