import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The event loops the SCP's associations run on: more loops than cores, so that each association usually has a
/// loop, and so a thread, of its own (as `storescp` gives each association a thread).
///
/// An association alone on its loop may block that thread for its own work: a C-STORE's durable commit (the
/// journal's write and flush, the index row) then runs where the session runs, with no hop to the writer's
/// thread and back. That hop was a fifth of a small instance's cycle (1,000 × 8 KB over one association,
/// alternated release builds, 7 December: strict medians 1,640 → 1,834/s, deferred 2,211 → 2,355/s).
/// NIO hands the loops out round robin, so under churn two associations can meet on one loop: then neither
/// blocks it (`AssociationThread.isOwn` is false) and their commits hop as before.
///
/// A connection is counted on its loop as it is accepted (`Admission`, on the listener's thread, before anything of
/// it runs on that loop), and stays counted until both its channel has closed and its session has ended: a session
/// still finishing a commit after its peer reset the connection keeps the loop from looking free to the next one.
public final class AssociationThreads: Sendable {
    let group: MultiThreadedEventLoopGroup
    private let members: NIOLockedValueBox<Members>

    public init(count: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, count))
        members = NIOLockedValueBox(Members())
    }

    /// The connections on each loop, by loop, and whether each has closed and whether its session runs.
    struct Members {
        struct Member {
            var closed = false
            var running = false
        }
        var byLoop: [ObjectIdentifier: [ObjectIdentifier: Member]] = [:]

        mutating func update(_ loop: ObjectIdentifier, _ channel: ObjectIdentifier, _ change: (inout Member) -> Void) {
            guard var member = byLoop[loop]?[channel] else { return }
            change(&member)
            // Gone once closed with no session left to run on the loop (ended, or never begun).
            if member.closed && !member.running {
                byLoop[loop]?[channel] = nil
                if byLoop[loop]?.isEmpty == true { byLoop[loop] = nil }
            } else {
                byLoop[loop]?[channel] = member
            }
        }
    }

    /// Counts an accepted connection on the loop NIO gave it, until it has closed and its session ended.
    func admit(_ channel: any Channel) {
        let loop = ObjectIdentifier(channel.eventLoop), id = ObjectIdentifier(channel)
        members.withLockedValue { $0.byLoop[loop, default: [:]][id] = Members.Member() }
        channel.closeFuture.whenComplete { [members] _ in
            members.withLockedValue { $0.update(loop, id) { $0.closed = true } }
        }
    }

    /// The thread of a connection `admit` counted.
    func thread(of channel: any Channel) -> AssociationThread {
        AssociationThread(loop: ObjectIdentifier(channel.eventLoop), channel: ObjectIdentifier(channel), members: members)
    }

    /// The first handler of the listener's pipeline, before NIO's accept handler: it sees each accepted connection on
    /// the listener's thread, its loop already chosen.
    func admission() -> some ChannelInboundHandler { Admission(threads: self) }

    private final class Admission: ChannelInboundHandler {
        typealias InboundIn = any Channel
        typealias InboundOut = any Channel
        let threads: AssociationThreads
        init(threads: AssociationThreads) { self.threads = threads }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            threads.admit(Self.unwrapInboundIn(data))
            context.fireChannelRead(data)
        }
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}

/// The thread an association's session runs on, and whether the association has it to itself.
public struct AssociationThread: Sendable {
    private let loop: ObjectIdentifier?
    private let channel: ObjectIdentifier?
    private let members: NIOLockedValueBox<AssociationThreads.Members>?

    init(loop: ObjectIdentifier, channel: ObjectIdentifier, members: NIOLockedValueBox<AssociationThreads.Members>) {
        self.loop = loop
        self.channel = channel
        self.members = members
    }

    private init() {
        loop = nil
        channel = nil
        members = nil
    }

    /// A thread shared with other work (a client's association, a test's request): never blocked.
    public static let shared = AssociationThread()

    /// Whether this association is the only one counted on its loop at the moment, so its session may block the
    /// thread with its own work. Asked right before the work, with nothing awaited in between: a connection accepted
    /// onto the loop later waits for that work at most (its setup queued behind it).
    public var isOwn: Bool {
        guard let loop, let channel, let members else { return false }
        return members.withLockedValue { m in
            guard let here = m.byLoop[loop], here.count == 1 else { return false }
            return here[channel] != nil
        }
    }

    /// The session runs (it keeps the connection counted until it ends, even once the channel has closed).
    func sessionBegins() {
        guard let loop, let channel, let members else { return }
        members.withLockedValue { $0.update(loop, channel) { $0.running = true } }
    }

    func sessionEnds() {
        guard let loop, let channel, let members else { return }
        members.withLockedValue { $0.update(loop, channel) { $0.running = false } }
    }

    /// The same thread, owned only while the association runs one operation at a time: with an asynchronous
    /// operations window, another operation of its own may be waiting for the loop. (A storage commitment's report,
    /// sent after its N-ACTION was answered, can still wait behind a C-STORE's commit: it is delayed, never blocked
    /// for good, since no commit waits for it.)
    func serial(_ isSerial: Bool) -> AssociationThread { isSerial ? self : .shared }
}
