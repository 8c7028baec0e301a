import CArcaIO

/// The scheduler slice of the threads that hand an instance's bytes to the device when the acknowledgement waits
/// for them (strict mode: the journal's O_DIRECT records, a file in `.incoming/`).
///
/// On two cores the client and the association's event loop both run flat out while a 512 KB slice arrives, and
/// with the kernel's default slice (EEVDF, Linux 6.6+) the writer woken for each fragment waited for one of them
/// to sleep: traced, not one record reached the device during the transfer, all 512 KB went after the last byte
/// and the flush after that (the tail from last byte to answer: 3.0 ms median). A thread with a shorter slice
/// preempts the running one when it wakes (Linux 6.12+): with 100 µs, records went out during the transfer and
/// that tail fell to 2.0 ms. Not for the page-cache writes of deferred mode: there the writer's copy is CPU work
/// competing with the event loop, and 8 KB instances came in 8% slower. The event loop keeps the default slice
/// (shortened too, 8 KB instances lost 10–20%).
enum ThreadSlice {
    /// 100 µs, the shortest slice the kernel takes.
    static let deviceFeeder: UInt64 = 100_000

    /// For the calling thread, once per thread (a thread-local in C remembers it). Worker threads of Dispatch
    /// keep it for later work items, which in a strict server are mostly more of the same; threads they create
    /// start with the default (reset on fork). A kernel that refuses or ignores it (before 6.12, or another
    /// scheduling policy) leaves the thread as it was: nothing depends on it but speed.
    static func shortenForTheDevice() {
        _ = arca_request_slice(deviceFeeder)
    }

    /// The calling thread's slice in nanoseconds, 0 where the kernel does not report one (before 6.12, or a
    /// thread not SCHED_OTHER).
    static func current() -> UInt64 { arca_current_slice() }
}
