import NIOConcurrencyHelpers

/// The instances whose rows this archive recorded lately, numbered in order: a duplicate lookup made while an
/// instance's bytes were still arriving (`FileArchive.lookUpEarly`) still holds at its commit when no row of that
/// instance was recorded since. A row is noted once it is committed (visible to readers), and a lookup takes its
/// mark before it reads: a row the lookup could have missed was noted after the mark.
///
/// The ring keeps hashes of the SOP Instance UIDs, not the strings: a collision only sends a commit back to the
/// index for its lookup, as does a mark older than the ring.
final class RecentRows: Sendable {
    private struct State {
        var next: UInt64 = 0
        var ring: [Int]
    }

    private let state: NIOLockedValueBox<State>
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
        state = NIOLockedValueBox(State(ring: [Int](repeating: 0, count: max(1, capacity))))
    }

    /// The number the next noted row will get: take it before looking the instance up.
    func mark() -> UInt64 { state.withLockedValue { $0.next } }

    /// A row of `sopInstanceUID` is committed.
    func noted(_ sopInstanceUID: String) {
        let hash = sopInstanceUID.hashValue
        state.withLockedValue { s in
            s.ring[Int(s.next % UInt64(capacity))] = hash
            s.next += 1
        }
    }

    /// Whether no row of `sopInstanceUID` was noted since `mark`; false when more rows were noted than the ring
    /// keeps.
    func noneSince(_ mark: UInt64, of sopInstanceUID: String) -> Bool {
        let hash = sopInstanceUID.hashValue
        return state.withLockedValue { s in
            guard mark <= s.next, s.next - mark <= UInt64(capacity) else { return false }
            var n = mark
            while n < s.next {
                if s.ring[Int(n % UInt64(capacity))] == hash { return false }
                n += 1
            }
            return true
        }
    }
}
