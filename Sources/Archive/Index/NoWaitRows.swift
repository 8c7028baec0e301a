import CSQLiteNoWait
import NIOConcurrencyHelpers

/// Read-only SQLite connections whose reads never wait for the device while a cursor is asked not to: a query
/// whose pages are in the page cache (most of them, on an archive in use) runs on the caller's thread, an event
/// loop included, and moves to an I/O thread the moment a read would wait (`QueryEngine` decides). That spares a
/// short C-FIND or QIDO-RS search the two thread wake-ups of a trip to the pool, most of its time on these
/// machines (a one-answer C-FIND: 0.35 → 0.28 ms).
///
/// A few connections, free ones kept in a list: a cursor takes one and gives it back when closed, on whichever
/// thread it ends; none free means the caller reads the ordinary way.
final class NoWaitRows: NonBlockingRows {
    private let free: NIOLockedValueBox<[Connection]>

    /// Opens `count` connections to `path` (blocking: at start-up, on an I/O thread). Nil when the VFS or a
    /// connection cannot be set up, or this kernel or file system has no no-wait reads: queries then all read
    /// the ordinary way.
    init?(path: String, count: Int) {
        var connections: [Connection] = []
        for _ in 0..<max(1, count) {
            guard let connection = Connection(path: path) else { return nil }
            connections.append(connection)
        }
        guard let first = connections.first, arca_nowait_usable(first.handle) != 0 else { return nil }
        free = NIOLockedValueBox(connections)
    }

    func open(_ sql: String, _ arguments: [IndexValue]) -> (any RowCursor)? {
        guard let connection = free.withLockedValue({ $0.popLast() }) else { return nil }
        return Cursor(connection: connection, sql: sql, arguments: arguments) { [free] in
            free.withLockedValue { $0.append(connection) }
        }
    }

    /// One connection and its prepared statements. Used by one thread at a time: it is in the free list or
    /// held by exactly one cursor.
    final class Connection: @unchecked Sendable {
        let handle: OpaquePointer
        private var statements: [String: OpaquePointer] = [:]
        /// Distinct statement texts kept prepared (a C-FIND's text depends on which keys it has).
        static let maxStatements = 64

        init?(path: String) {
            var db: OpaquePointer?
            guard arca_nowait_open(path, &db) == SQLITE_OK, let db else {
                sqlite3_close_v2(db)
                return nil
            }
            handle = db
            // Pages through the no-wait reads only (a memory-mapped page could fault and wait); sorts in memory
            // (a spilled one would write a file); no waiting for a busy lock either: a busy database sends the
            // query to the pool.
            sqlite3_exec(db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY", nil, nil, nil)
            sqlite3_busy_timeout(db, 0)
        }

        deinit {
            for statement in statements.values { sqlite3_finalize(statement) }
            sqlite3_close_v2(handle)
        }

        func statement(_ sql: String) -> OpaquePointer? {
            if let cached = statements[sql] { return cached }
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
                  let statement else {
                sqlite3_finalize(statement)
                return nil
            }
            if statements.count >= Self.maxStatements {
                for old in statements.values { sqlite3_finalize(old) }
                statements.removeAll()
            }
            statements[sql] = statement
            return statement
        }

        var lastError: String { String(cString: sqlite3_errmsg(handle)) }
    }

    /// One statement's rows. Given a budget, a step runs inside a no-wait section: a read that would have
    /// waited, or a step that runs past the budget, fails the statement, and the cursor throws `WouldWait` (it
    /// is then spent; close it). One owner at a time (`RowCursor`).
    final class Cursor: RowCursor, @unchecked Sendable {
        private var connection: Connection?
        private var statement: OpaquePointer?
        private let sql: String
        private let arguments: [IndexValue]
        private var started = false
        /// SQLite runs a statement again when stepped after its end: never step past it.
        private var finished = false
        private let giveBack: @Sendable () -> Void

        init(connection: Connection, sql: String, arguments: [IndexValue], giveBack: @escaping @Sendable () -> Void) {
            self.connection = connection
            self.sql = sql
            self.arguments = arguments
            self.giveBack = giveBack
        }

        deinit { close() }

        func next(within budget: Duration?) throws -> [IndexValue]? {
            guard let connection else { throw QueryError.unavailable("the index cursor is closed") }
            if finished { return nil }
            let section = budget != nil
            if let budget {
                let (seconds, attoseconds) = budget.components
                // Saturated: a slice of centuries is "no limit", not an overflow.
                let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
                arca_nowait_begin(nanoseconds.overflow ? (seconds < 0 ? 0 : Int64.max / 2)
                                  : nanoseconds.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
            }
            let result: Int32
            do {
                defer { if section, arca_nowait_end() != 0 { statement.map { sqlite3_reset($0) } } }
                if !started {
                    // Preparing reads the schema's pages: inside the section too.
                    try start(connection, inSection: section)
                    started = true
                }
                guard let statement else { throw QueryError.unavailable("the index cursor has no statement") }
                result = sqlite3_step(statement)
                if section, arca_nowait_blocked() != 0 { throw WouldWait() }
            }
            guard let statement else { return nil }
            switch result {
            case SQLITE_ROW: return Self.row(statement)
            case SQLITE_DONE:
                finished = true
                return nil
            case SQLITE_BUSY where section, SQLITE_LOCKED where section:
                // Only the no-wait attempt meets these (it has no busy handler): the pool runs the query instead.
                throw WouldWait()
            default:
                throw QueryError.unavailable("the index could not answer: \(connection.lastError)")
            }
        }

        private func start(_ connection: Connection, inSection: Bool) throws {
            guard let statement = connection.statement(sql) else {
                if inSection, arca_nowait_blocked() != 0 { throw WouldWait() }
                throw QueryError.unavailable("the index could not prepare a query: \(connection.lastError)")
            }
            self.statement = statement
            for (i, value) in arguments.enumerated() {
                let position = Int32(clamping: i + 1)
                let rc: Int32
                switch value {
                case .null: rc = sqlite3_bind_null(statement, position)
                case .integer(let v): rc = sqlite3_bind_int64(statement, position, v)
                case .real(let v): rc = sqlite3_bind_double(statement, position, v)
                case .text(let v): rc = arca_bind_text(statement, position, v)
                }
                guard rc == SQLITE_OK else { throw QueryError.unavailable("the index could not bind a value: \(connection.lastError)") }
            }
        }

        private static func row(_ statement: OpaquePointer) -> [IndexValue] {
            let count = sqlite3_column_count(statement)
            var row: [IndexValue] = []
            row.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_NULL: row.append(.null)
                default:
                    // Text, and a blob read as UTF-8 (as the ordinary reads do).
                    // The pointer first, then its length (SQLite's documented order).
                    let bytes = sqlite3_column_blob(statement, column)
                    let length = Int(sqlite3_column_bytes(statement, column))
                    if let bytes, length > 0 {
                        row.append(.text(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)))
                    } else {
                        row.append(.text(""))
                    }
                }
            }
            return row
        }

        /// Ends the statement's read transaction (a snapshot kept open would hold the WAL back from its
        /// checkpoints) and gives the connection back.
        func close() {
            guard connection != nil else { return }
            if let statement {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            statement = nil
            connection = nil
            giveBack()
        }
    }
}
