import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The event loops the SCP's associations run on: more loops than cores, so that each association usually has a
/// loop, and so a thread, of its own (as `storescp` gives each association a thread).
///
/// An association alone on its loop may block that thread for its own work: a C-STORE's durable commit (the
/// journal's write and flush, the index row) then runs where the session runs, with no hop to the writer's
/// thread and back. That hop was a fifth of a small instance's cycle (1,000 × 8 KB over one association,
/// alternated release builds, 7 rounds each, 7 December: strict 1,561 → 1,837/s, deferred 2,319 → 2,629/s).
/// The loops are handed out round robin by NIO, so under churn two associations can meet on one loop: then
/// neither blocks it (`AssociationThread.isOwn` is false) and their commits hop as before.
public final class AssociationThreads: Sendable {
    let group: MultiThreadedEventLoopGroup
    /// The associations on each loop, by loop.
    private let counts = NIOLockedValueBox<[ObjectIdentifier: Int]>([:])

    public init(count: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, count))
    }

    /// Counts the connection on its loop until it closes. Called from the channel's initializer.
    func admit(_ channel: any Channel) -> AssociationThread {
        let loop = ObjectIdentifier(channel.eventLoop)
        counts.withLockedValue { $0[loop, default: 0] += 1 }
        channel.closeFuture.whenComplete { [counts] _ in
            counts.withLockedValue { c in
                let left = (c[loop] ?? 1) - 1
                c[loop] = left > 0 ? left : nil
            }
        }
        return AssociationThread(loop: loop, counts: counts)
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}

/// The thread an association's session runs on, and whether the association has it to itself.
public struct AssociationThread: Sendable {
    private let loop: ObjectIdentifier?
    private let counts: NIOLockedValueBox<[ObjectIdentifier: Int]>?

    init(loop: ObjectIdentifier, counts: NIOLockedValueBox<[ObjectIdentifier: Int]>) {
        self.loop = loop
        self.counts = counts
    }

    private init() {
        loop = nil
        counts = nil
    }

    /// A thread shared with other work (a client's association, a test's request): never blocked.
    public static let shared = AssociationThread()

    /// Whether no other association runs on this thread at the moment, so the session may block it with its own
    /// work. Asked when the work starts: an association admitted to the loop meanwhile waits for that work at most.
    public var isOwn: Bool {
        guard let loop, let counts else { return false }
        return counts.withLockedValue { $0[loop] } == 1
    }

    /// The same thread, owned only while the association runs one operation at a time: with an asynchronous
    /// operations window, another operation of its own may be waiting for the loop.
    func serial(_ isSerial: Bool) -> AssociationThread { isSerial ? self : .shared }
}
