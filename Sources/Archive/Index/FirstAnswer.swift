import NIOConcurrencyHelpers

/// A continuation that several racers may answer (the work, a timer, a connection's close): the first answer
/// resumes it, the others are ignored. `PostgresIndex.bounded` and `ClosedConnectionWatch.run` race with it.
final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: CheckedContinuation<T, any Error>
    private let answered = NIOLockedValueBox(false)

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

    /// Resumes the continuation unless another answer came first; whether this one did.
    @discardableResult
    func answer(_ result: Result<T, any Error>) -> Bool {
        guard answered.withLockedValue({ done in defer { done = true }; return !done }) else { return false }
        continuation.resume(with: result)
        return true
    }

    var isAnswered: Bool { answered.withLockedValue { $0 } }
}
