import NIOConcurrencyHelpers

/// How many association sessions run, and who waits for none to: a caller that must know every session's
/// end has come (its stream discarded, its records released) awaits `quiet()` instead of sleeping and hoping.
final class SessionGauge: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    func begins() { state.withLockedValue { $0.running += 1 } }

    func ends() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.running -= 1
            guard s.running == 0 else { return [] }
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no session runs (at once when none does).
    func quiet() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.running == 0 { return true }
                s.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
