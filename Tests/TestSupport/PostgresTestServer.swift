import Foundation

/// The PostgreSQL server the tests may use: `scripts/test` starts a throw-away cluster (scripts/pg-test-cluster)
/// and exports its URL as ARCA_TEST_POSTGRES_URL. Each test takes a database of its own.
public enum PostgresTestServer {
    public static var url: String? {
        let url = ProcessInfo.processInfo.environment["ARCA_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }

    /// Whether tests needing PostgreSQL run: a server was given, or CI is set (where its absence must fail them).
    public static var shouldRun: Bool { url != nil || ExternalTool.isCI }

    public static let skipReason = "no PostgreSQL server (ARCA_TEST_POSTGRES_URL; scripts/test starts one); skipped (fails when CI=true)"

    /// A new, empty database on the test server; its URL.
    public static func makeDatabase() throws -> String {
        guard let url else {
            throw ExternalTool.MissingPeer(description: "PostgreSQL (ARCA_TEST_POSTGRES_URL) is not set: run scripts/test, which starts a cluster")
        }
        let name = "arca_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql(url, "CREATE DATABASE \(name)")
        return databaseURL(url, name)
    }

    /// `url` with another database name.
    public static func databaseURL(_ url: String, _ name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }

    /// Runs SQL with `psql`; its output.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try ExternalTool.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql])
        guard result.status == 0 else { throw ExternalTool.MissingPeer(description: "psql: \(result.stderr)") }
        return result.stdout
    }
}
