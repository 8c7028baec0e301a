import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport

@testable import Archive

/// A statement written to a connection that has just closed: postgres-nio 1.33's own `query` writes it with no
/// promise, and once NIO has taken a closed channel's handlers away that write fails with nobody told, so the
/// statement is never answered (and, through `PostgresClient.query`, its connection's lease never returned).
@Suite(.enabled(if: PostgresTestServer.shouldRun, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresConnectionLossTests {
    /// The server ends the connection's backend; the answer waits until the client has seen it closed.
    static func cut(_ connection: PostgresConnection, url: String) async throws {
        var pid = 0
        for try await row in try await connection.query("SELECT pg_backend_pid()", logger: Logger(label: "test")) {
            pid = try row.decode(Int.self)
        }
        #expect(try PostgresTestServer.psql(url, "SELECT pg_terminate_backend(\(pid))") == "t\n")
        // NIO has taken the channel's handlers away by the time its close future succeeds.
        try? await connection.closeFuture.get()
    }

    /// `SELECT 1` written to a connection the server has cut: as postgres-nio writes it, or through the index's
    /// watch (`watched`); bounded, so a statement never answered fails with `NoAnswer`.
    static func selectAfterCut(_ index: PostgresIndex, url: String, watched: Bool) async throws -> Result<Int, any Error> {
        try await index.client.withConnection { connection in
            try await Self.cut(connection, url: url)
            let select: @Sendable () async throws -> Int = {
                var n = 0
                for try await _ in try await connection.query("SELECT 1", logger: Logger(label: "test")) { n += 1 }
                return n
            }
            do {
                return .success(try await index.bounded(timeout: watched ? 10 : 3) {
                    watched ? try await index.watch.run(on: connection, select) : try await select()
                })
            } catch {
                return .failure(error)
            }
        }
    }

    @Test func upstreamNeverAnswersAStatementWrittenToAClosedConnection() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try PostgresIndex(url: url, node: "cut")
        defer { index.close() }
        let answer = try await Self.selectAfterCut(index, url: url, watched: false)
        guard case .failure(let error) = answer else { Issue.record("answered: \(answer)"); return }
        #expect(error is PostgresIndex.NoAnswer, "\(error)")
    }

    @Test func theIndexFailsAStatementOnAClosedConnectionAtOnce() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try PostgresIndex(url: url, node: "cut")
        defer { index.close() }
        let answer = try await Self.selectAfterCut(index, url: url, watched: true)
        guard case .failure(let error) = answer else { Issue.record("answered: \(answer)"); return }
        #expect(error is ClosedConnectionWatch.Closed, "\(error)")
    }

    /// Every connection of the pool cut at once (as a crash of the server does), with statements on their way:
    /// each is answered or failed, none waits, and the pool then serves as before (no lease lost).
    @Test func statementsCaughtByACutAreAnsweredAndThePoolServesAfter() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try PostgresIndex(url: url, node: "cut", maxConnections: 4)
        defer { index.close() }
        for round in 0..<10 {
            let ended = try PostgresTestServer.psql(url, """
                SELECT count(pg_terminate_backend(pid)) >= 0 FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)
            #expect(ended == "t\n")
            let outcomes = await withTaskGroup(of: String.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await index.bounded(timeout: 15) { try await index.rows("SELECT $1::BIGINT", [.integer(Int64(i))]) }
                            return "answered"
                        } catch is PostgresIndex.NoAnswer {
                            return "no answer"
                        } catch {
                            return "failed"
                        }
                    }
                }
                return await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes["no answer"] == nil, "round \(round): \(outcomes)")
        }
        // Four connections, two of them kept by the session and the placement listener: forty statements need
        // each of the other two back many times.
        for i in 0..<40 {
            let rows = try await index.bounded(timeout: 15) { try await index.rows("SELECT $1::BIGINT", [.integer(Int64(i))]) }
            #expect(rows.first?.first?.integer == Int64(i))
        }
    }

    /// Each pool numbers its connections from 0: a close in the main pool must not fail a statement running on
    /// the committer's connection of the same number.
    @Test func aCloseInOnePoolLeavesTheOtherPoolsStatementsAlone() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try PostgresIndex(url: url, node: "pools")
        defer { index.close() }
        // The main pool's connections (the migration's, the session's) are open and watched since the start. The
        // committer's statement waits behind a gate until they are cut.
        let gate = try await PostgresIndexTests.Gate(url, key: 4103)
        let committing = Task {
            try await index.bounded(timeout: 60) {
                try await index.onConnection(committing: true) { connection in
                    var n = 0
                    for try await row in try await connection.query("SELECT 7 FROM pg_advisory_xact_lock(4103)", logger: Logger(label: "test")) {
                        n = try row.decode(Int.self)
                    }
                    return n
                }
            }
        }
        #expect(try await gate.waited())
        // Every connection of the database but the gate's holder and the committer's is cut.
        _ = try PostgresTestServer.psql(url, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
              AND pid <> pg_backend_pid() AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 4103)
            """)
        try await gate.open()
        #expect(try await committing.value == 7)
    }
}
