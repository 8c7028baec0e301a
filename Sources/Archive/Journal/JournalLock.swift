import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The journal's lock and condition (NSCondition's calls) plus `tryLock`: a commit on an event loop takes its
/// place in the journal only when the lock is free at once. The threads that hold it sometimes write under it
/// (a segment's header when one is taken or recycled, a new segment's zeros), and an event loop must not wait
/// for a write; such a commit goes the writer thread's way instead.
final class JournalLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Takes the lock if no one holds it; false at once otherwise.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }
    func wait() { pthread_cond_wait(cond, mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits until `deadline` at most (realtime clock, as `pthread_cond_timedwait` takes it); false once it passed.
    @discardableResult
    func wait(until deadline: Date) -> Bool {
        let seconds = deadline.timeIntervalSince1970
        guard seconds.isFinite, seconds > 0 else { return false }
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        return pthread_cond_timedwait(cond, mutex, &ts) == 0
    }
}
