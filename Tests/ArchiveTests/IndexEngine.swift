import Archive
import Foundation
import Testing
import TestSupport

/// The two index engines the archive tests run against. PostgreSQL is in the list when a test server is given
/// (scripts/test starts one) or under CI=true, where its absence makes the PostgreSQL cases fail.
enum IndexEngine: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static var all: [IndexEngine] {
        if PostgresTestServer.shouldRun { return [.sqlite, .postgres] }
        print("SKIPPED the PostgreSQL cases: \(PostgresTestServer.skipReason)")
        return [.sqlite]
    }

    var testDescription: String { rawValue }

    /// A new, empty index: SQLite in `folder`, PostgreSQL in a database of its own.
    func make(in folder: URL) throws -> any MaintainedIndex {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        switch self {
        case .sqlite: return try SQLiteIndex(archive: folder.path)
        case .postgres: return try PostgresIndex(url: try PostgresTestServer.makeDatabase(), node: "test-\(UUID().uuidString)")
        }
    }

    /// Runs SQL of this engine on `index` behind its back (a trigger standing in for a failure).
    func execute(_ sql: String, on index: any MaintainedIndex) throws {
        switch (self, index) {
        case (.sqlite, let index as SQLiteIndex): _ = try ExternalTool.run("/usr/bin/sqlite3", [index.path, sql])
        case (.postgres, let index as PostgresIndex): try PostgresTestServer.psql(index.url, sql)
        default: Issue.record("\(self) cannot run SQL on \(type(of: index))")
        }
    }
}
