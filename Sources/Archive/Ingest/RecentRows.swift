import NIOConcurrencyHelpers

/// The instances whose rows this archive recorded lately, numbered in order: a duplicate lookup made while an
/// instance's bytes were still arriving (`FileArchive.lookUpEarly`) still holds at its commit when no row of that
/// instance was recorded since, by this process or by another one on the same index. A row is noted once it is
/// committed (visible to readers), and a lookup takes its mark before it reads: a row the lookup could have
/// missed was noted after the mark. Other processes' rows are known only by number (the index's count of the
/// rows every process recorded, `InstanceIndex.recordedRowCount`): when that count moved by more than this
/// process's own rows, the lookup does not hold.
///
/// The ring keeps hashes of the SOP Instance UIDs, not the strings: a collision only sends a commit back to the
/// index for its lookup, as does a mark older than the ring.
final class RecentRows: Sendable {
    /// Where the counts stood when a lookup began.
    struct Mark: Sendable {
        /// Rows this process had noted.
        var own: UInt64
        /// Rows every process had recorded.
        var all: UInt64
    }

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

    /// Take it before looking the instance up, with the index's count read just before; nil without that count.
    func mark(allRows: UInt64?) -> Mark? {
        guard let allRows else { return nil }
        return Mark(own: state.withLockedValue { $0.next }, all: allRows)
    }

    /// A row of `sopInstanceUID` is committed, and counted by the index `times` times (as many as it counts it).
    func noted(_ sopInstanceUID: String, times: Int = 1) {
        let hash = sopInstanceUID.hashValue
        state.withLockedValue { s in
            for _ in 0..<times {
                s.ring[Int(s.next % UInt64(capacity))] = hash
                s.next += 1
            }
        }
    }

    /// Whether no row of `sopInstanceUID` was recorded since `mark`: none among this process's (false when
    /// more were noted than the ring keeps), and the index's count (`allRows`, read just before) moved by this
    /// process's rows alone. A row of this process counted by the index but not yet noted here (or the reverse)
    /// also answers false: the commit then asks the index.
    func noneSince(_ mark: Mark, of sopInstanceUID: String, allRows: UInt64?) -> Bool {
        guard let allRows, allRows >= mark.all else { return false }
        let hash = sopInstanceUID.hashValue
        return state.withLockedValue { s in
            guard mark.own <= s.next, s.next - mark.own <= UInt64(capacity), s.next - mark.own == allRows - mark.all else { return false }
            var n = mark.own
            while n < s.next {
                if s.ring[Int(n % UInt64(capacity))] == hash { return false }
                n += 1
            }
            return true
        }
    }
}
