import GRDB

/// `arca index migrate`: an archive's SQLite index copied into an empty PostgreSQL index, row for row (primary
/// keys kept, so the levels stay linked), then the identity sequences moved past the copied keys.
public enum IndexMigration {
    public struct Report: Sendable {
        /// Rows copied, by table.
        public var rows: [(table: String, count: Int)] = []
    }

    /// The tables in the order their references need.
    static let tables = ["patients", "studies", "series", "instances"]
    /// Rows per INSERT (PostgreSQL takes at most 65,535 parameters a statement; instances have 18 columns).
    static let rowsPerStatement = 500

    /// Copies every row; refuses a target that already holds instances. When a copy fails midway the target is
    /// emptied again, so it can be retried.
    public static func copy(from source: SQLiteIndex, to target: PostgresIndex,
                            progress: (String, Int) -> Void = { _, _ in }) throws -> Report {
        let existing = try target.blocking { try await target.rows("SELECT COUNT(*) FROM patients") }.first?.first?.integer ?? 0
        guard existing == 0 else {
            throw ArchiveError.io("\(target.displayURL) already holds an index (\(existing) patient(s)): migrate into an empty database")
        }
        var report = Report()
        do {
            for table in tables {
                let count = try source.pool.read { db -> Int in
                    let columns = try db.columns(in: table).map(\.name)
                    let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY pk")
                    var pending: [[IndexValue]] = []
                    var copied = 0
                    func flush() throws {
                        guard !pending.isEmpty else { return }
                        let rows = pending
                        pending.removeAll(keepingCapacity: true)
                        var n = 0
                        let values = rows.map { row in
                            "(" + row.map { _ in n += 1; return "$\(n)" }.joined(separator: ", ") + ")"
                        }
                        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES " + values.joined(separator: ", ")
                        try target.blocking { try await target.execute(sql, rows.flatMap { $0 }) }
                        copied += rows.count
                        progress(table, copied)
                    }
                    while let row = try cursor.next() {
                        pending.append(row.databaseValues.map(IndexValue.init))
                        if pending.count == rowsPerStatement { try flush() }
                    }
                    try flush()
                    return copied
                }
                report.rows.append((table, count))
                // Rows inserted later take keys after the copied ones.
                try target.blocking {
                    try await target.execute("""
                        SELECT setval(pg_get_serial_sequence('\(table)', 'pk'), COALESCE((SELECT MAX(pk) FROM \(table)), 0) + 1, false)
                        """)
                }
            }
        } catch {
            try? target.removeAll()
            throw error
        }
        return report
    }
}
