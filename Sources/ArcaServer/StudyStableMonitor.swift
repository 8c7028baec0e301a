import Foundation
import Logging

/// Knows when a study has fully arrived: one that received nothing for `stableAfter` seconds is reported once
/// (`--exec-on-study-stable CMD`, substitutions `#s` study UID, `#i` patient ID, `#n` instances received).
actor StudyStableMonitor {
    struct Pending {
        var lastReceived: Date
        var patientID: String
        var count: Int
    }

    private let stableAfter: TimeInterval
    private let onStable: @Sendable (_ studyUID: String, _ patientID: String, _ count: Int) async -> Void
    private var pending: [String: Pending] = [:]
    private var watching = false

    init(stableAfter: TimeInterval, onStable: @escaping @Sendable (String, String, Int) async -> Void) {
        self.stableAfter = stableAfter
        self.onStable = onStable
    }

    func received(studyUID: String, patientID: String) {
        var p = pending[studyUID] ?? Pending(lastReceived: Date(), patientID: patientID, count: 0)
        p.lastReceived = Date()
        p.count += 1
        pending[studyUID] = p
        if !watching {
            watching = true
            Task { await self.watch() }
        }
    }

    /// Sleeps until the first pending study may be stable (a study received since only ends later), reports
    /// what is, and again until nothing is pending.
    private func watch() async {
        while let first = pending.values.map(\.lastReceived).min() {
            let wait = first.addingTimeInterval(stableAfter).timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int64(min(wait, 86_400) * 1000) + 1)) }
            let now = Date()
            let stable = pending.filter { now.timeIntervalSince($0.value.lastReceived) >= stableAfter }
            for (study, p) in stable {
                pending[study] = nil
                await onStable(study, p.patientID, p.count)
            }
        }
        watching = false
    }
}
