import NIOConcurrencyHelpers

/// A counting semaphore for async code: `wait` suspends (it does not block its thread) until one of `permits`
/// is free, and a returned permit passes straight to the longest waiter. With one permit it is the lock that
/// keeps an association's messages whole (`MessageWriter`); with more, the bound on post-store hooks running
/// at once.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: NIOLockedValueBox<State>

    public init(permits: Int) {
        state = NIOLockedValueBox(State(available: max(1, permits)))
    }

    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { s -> Bool in
                if s.available > 0 {
                    s.available -= 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    public func signal() {
        let next = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiters.isEmpty else {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    public func withPermit<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await wait()
        defer { signal() }
        return try await body()
    }
}
