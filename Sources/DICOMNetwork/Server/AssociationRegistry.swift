import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore

/// Counts associations (for the maximum and the log) and keeps their channels, so a shutdown can abort
/// the ones that outlive the grace period.
final class AssociationRegistry: Sendable {
    struct Slot: Sendable {
        let id: Int
        /// Associations already negotiating or established besides this one.
        let othersActive: Int
    }

    private struct State {
        var nextID = 0
        var reserved = 0
        var active = 0
        var activeIDs: Set<Int> = []
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Exported through swift-metrics (a no-op until the application bootstraps a backend).
    private let activeGauge = Gauge(label: "arca_associations_active")
    private let accepted = Counter(label: "arca_associations_total")

    func reserve() -> Slot {
        state.withLockedValue { s in
            s.nextID += 1
            defer { s.reserved += 1 }
            return Slot(id: s.nextID, othersActive: s.reserved)
        }
    }

    func activate(_ slot: Slot) {
        let active = state.withLockedValue { s in
            s.active += 1
            s.activeIDs.insert(slot.id)
            return s.active
        }
        accepted.increment()
        activeGauge.record(active)
    }

    func release(_ slot: Slot) {
        let active = state.withLockedValue { s in
            s.reserved -= 1
            if s.activeIDs.remove(slot.id) != nil { s.active -= 1 }
            return s.active
        }
        activeGauge.record(active)
    }

    /// Established associations.
    var active: Int { state.withLockedValue { $0.active } }

    /// Tracks an accepted connection unless `limit` are open already (false: the caller closes it).
    func track(_ channel: any Channel, limit: Int) -> Bool {
        let admitted = state.withLockedValue { s -> Bool in
            guard s.channels.count < limit else { return false }
            s.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        return true
    }

    var openChannels: [any Channel] { state.withLockedValue { Array($0.channels.values) } }
}
