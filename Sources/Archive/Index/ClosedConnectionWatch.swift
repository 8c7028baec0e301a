import NIOConcurrencyHelpers
import PostgresNIO

/// Fails the work on a PostgreSQL connection as soon as that connection closes, answered or not.
///
/// postgres-nio 1.33 writes a statement to its connection's channel with no promise of its own
/// (`PostgresConnection.query`, and `PostgresClient.query` on the connection it leased). A connection that closed
/// before the write reached it (the server crashed or ended the backend, between the lease and the write) has had
/// its handlers taken away by NIO, so the write fails with nobody told: the statement's answer never comes, and
/// `PostgresClient.query` never returns its lease either (`PostgresConnectionLossTests` shows it). After a crash of
/// the server, a node lost one of its pool's connections per statement caught that way, and the caller waited for
/// ever. Here the work runs in a task of its own while the caller waits for whichever comes first: the work's
/// result, or the connection's close. After the close, postgres-nio has failed every statement its handler was
/// given, so what is still waiting then will never be answered: it is left behind, and the caller (and the
/// connection's lease, returned by `withConnection`) goes on with `Closed`.
///
/// One close callback per connection, not one per statement (a connection's close future keeps its callbacks
/// until it closes, and a connection may run millions of statements). One watch per pool: connections are known
/// by their ids, which each pool counts from 0.
final class ClosedConnectionWatch: Sendable {
    /// The work of a statement whose connection closed before it was answered.
    struct Closed: Error, CustomStringConvertible {
        var description: String { "PostgreSQL: the connection closed before the statement was answered" }
    }

    private struct State {
        var nextToken: UInt64 = 0
        /// Per open connection (by its id), what to call when it closes.
        var waiting: [PostgresConnection.ID: [UInt64: @Sendable () -> Void]] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let executor: any TaskExecutor

    init(executor: any TaskExecutor) { self.executor = executor }

    /// Runs `work` on `connection` and answers its result, or `Closed` once the connection has closed.
    func run<T: Sendable>(on connection: PostgresConnection, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let running = NIOLockedValueBox<Task<Void, Never>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let first = FirstAnswer(continuation)
                let token = watch(connection) {
                    first.answer(.failure(Closed()))
                    running.withLockedValue { $0?.cancel() }
                }
                // Closed already: the work would only wait for ever (its close is answered on the connection's event
                // loop, so this catches what that has not yet; a close in between still answers the caller, and
                // leaves the work waiting).
                if connection.isClosed { first.answer(.failure(Closed())) }
                guard !first.isAnswered else { return }
                running.withLockedValue { task in
                    task = Task(executorPreference: executor) { [self] in
                        let result: Result<T, any Error>
                        do { result = .success(try await work()) } catch { result = .failure(error) }
                        unwatch(connection.id, token)
                        first.answer(result)
                    }
                }
            }
        } onCancel: {
            running.withLockedValue { $0?.cancel() }
        }
    }

    /// Registers `onClose` for the connection's close; the first registration for a connection hooks its close
    /// future (called at once, on its event loop, when it has already closed).
    private func watch(_ connection: PostgresConnection, _ onClose: @escaping @Sendable () -> Void) -> UInt64 {
        let id = connection.id
        let (token, first) = state.withLockedValue { state -> (UInt64, Bool) in
            state.nextToken &+= 1
            let first = state.waiting[id] == nil
            state.waiting[id, default: [:]][state.nextToken] = onClose
            return (state.nextToken, first)
        }
        if first {
            connection.closeFuture.whenComplete { [self] _ in
                let callbacks = state.withLockedValue { $0.waiting.removeValue(forKey: id) } ?? [:]
                for callback in callbacks.values { callback() }
            }
        }
        return token
    }

    private func unwatch(_ id: PostgresConnection.ID, _ token: UInt64) {
        state.withLockedValue { state in
            // The connection's entry stays while it is open (its close future is hooked once).
            _ = state.waiting[id]?.removeValue(forKey: token)
        }
    }
}
