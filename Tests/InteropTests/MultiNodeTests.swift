import Foundation
import Testing
import TestSupport

/// `scripts/multinode-test`: two `arca serve` processes on one PostgreSQL index and one archive folder, fed by
/// 8 DCMTK storescu processes: no duplicate rows or files, one instance sent to both at once stored once and
/// refused once, C-FIND on either node sees everything, a node SIGKILLed mid-ingest loses nothing acknowledged
/// and the survivor keeps serving; a dead node's journal taken over does not roll a replacement back.
@Suite struct MultiNodeTests {
    @Test(.needs(.dcmtk, .pydicom), .enabled(if: PostgresTestServer.shouldRun, Comment(rawValue: PostgresTestServer.skipReason)))
    func twoNodesOnOnePostgreSQLActAsOneArchive() async throws {
        guard let r = try await Self.run("multinode-test", ["200"]) else { return }
        #expect(r.status == 0, "\(r.stdout.suffix(3000))\(r.stderr.suffix(3000))")
        #expect(r.stdout.contains("multinode-test: passed"))
    }

    /// `scripts/takeover-replace-test`: a node's journal taken over after its death does not put back a copy of an
    /// instance that another node replaced (`--duplicate replace`) after the dead node acknowledged it.
    @Test(.needs(.dcmtk, .pydicom, .b3sum), .enabled(if: PostgresTestServer.shouldRun, Comment(rawValue: PostgresTestServer.skipReason)))
    func aTakeoverDoesNotRollBackAReplacement() async throws {
        guard let r = try await Self.run("takeover-replace-test", []) else { return }
        #expect(r.status == 0, "\(r.stdout.suffix(3000))\(r.stderr.suffix(3000))")
        #expect(r.stdout.contains("copy 2 kept: B's takeover left copy 1"))
        #expect(r.stdout.contains("takeover-replace-test: passed"))
    }

    /// Runs one of the multi-node scripts with the debug `arca`; nil (an issue recorded) when it is not built.
    static func run(_ script: String, _ arguments: [String]) async throws -> ExternalTool.Result? {
        _ = try PostgresTestServer.makeDatabase()  // fails (under CI) when no server was given
        let root = ExternalTool.repositoryRoot
        let arca = root.appendingPathComponent(".build/debug/arca").path
        guard FileManager.default.isExecutableFile(atPath: arca) else {
            Issue.record("\(arca) is not built: run `swift build` first (scripts/test does)")
            return nil
        }
        return try await ExternalTool.runAsync(root.appendingPathComponent("scripts/" + script).path, arguments,
                                               environment: ["ARCA": arca])
    }
}
