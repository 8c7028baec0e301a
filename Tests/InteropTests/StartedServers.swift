import Foundation
import Synchronization
import Testing

/// The servers a test started, stopped and awaited when it ends (the `.stopsServers` trait): a
/// `defer { Task { await server.stop() } }` cannot await, so a server outlived its test, into the next one's
/// measurements (memory, open files), and an error it ended with (a shutdown that failed) was never seen.
final class StartedServers: Sendable {
    @TaskLocal static var current: StartedServers?

    private let stops = Mutex<[@Sendable () async throws -> Void]>([])

    /// `stop` shuts the server down and answers once it has ended, throwing what it ended with.
    static func register(_ stop: @escaping @Sendable () async throws -> Void) {
        current?.stops.withLock { $0.append(stop) }
    }

    /// Stops every server registered, the last started first; answers the errors they ended with.
    func stopAll() async -> [any Error] {
        let all = stops.withLock { list in defer { list.removeAll() }; return list }
        var errors: [any Error] = []
        for stop in all.reversed() {
            do { try await stop() } catch { errors.append(error) }
        }
        return errors
    }
}

/// Each test of the suite gets its own `StartedServers`; when the test ends, every server it started is stopped
/// and awaited, and an error a server ended with is an issue of the test.
struct StopsServersTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !test.isSuite else { return try await function() }
        let servers = StartedServers()
        do {
            try await StartedServers.$current.withValue(servers) { try await function() }
        } catch {
            for failure in await servers.stopAll() { Issue.record(failure, "a server this test started ended with an error") }
            throw error
        }
        for failure in await servers.stopAll() { Issue.record(failure, "a server this test started ended with an error") }
    }
}

extension Trait where Self == StopsServersTrait {
    /// Every server a test starts is stopped and awaited when it ends (`StartedServers`).
    static var stopsServers: Self { StopsServersTrait() }
}
