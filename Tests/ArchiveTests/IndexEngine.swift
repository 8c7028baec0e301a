import Archive
import Foundation
import Testing
import TestSupport

/// The two index engines the archive tests run against.
enum IndexEngine: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    /// The engine of the tests parameterized by engine. Their PostgreSQL cases are the tests of `OnPostgreSQL`, a
    /// suite skipped with its reason when no PostgreSQL server runs outside CI: a case left out of a
    /// parameterized test would not be reported at all, and a cancelled one is reported as passed.
    static let embedded: [IndexEngine] = [.sqlite]

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
