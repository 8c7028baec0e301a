import NIOConcurrencyHelpers

/// The claims this node holds on a shared index, renewed together a third of their lease at a time by one task:
/// a commit that outlasts the lease (a multi-gigabyte file flushed without the journal to slow storage) was
/// taken over by the node waiting for it, and both placed the instance. One task for all claims, not one per
/// commit: a task group per C-STORE cost each commit a task, a timer and two executor hops. The task runs as long
/// as the renewer lives (its archive); a claim a live node left behind is not held here, so it still runs out.
final class ClaimRenewer: Sendable {
    private let held = NIOLockedValueBox<[String: Int]>([:])
    private let task: Task<Void, Never>

    init(index: any InstanceIndex, lease: Duration) {
        let held = self.held
        task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 3)
                let claims = held.withLockedValue { Array($0.keys) }
                if !claims.isEmpty, !Task.isCancelled { await index.renew(instances: claims) }
            }
        }
    }

    deinit { task.cancel() }

    /// Counts `sop` as claimed by a commit of this node until `release`.
    func hold(_ sop: String) { held.withLockedValue { $0[sop, default: 0] += 1 } }

    func release(_ sop: String) {
        held.withLockedValue { h in
            if let n = h[sop], n > 1 { h[sop] = n - 1 } else { h[sop] = nil }
        }
    }
}
