import CArcaIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// An io_uring owned by one event loop: a journal record written from the loop without a thread of ours waiting
/// in the system call. The write is submitted (one `io_uring_enter`, which does not block) and the loop goes on;
/// the kernel announces the completion on an eventfd the loop watches like a socket, and the write's future is
/// completed there. Written by the instance writer's thread instead, a small strict commit cost two thread
/// wake-ups (to the writer and back), 24% of an 8 KB instance's cycle (1,150 → 1,421/s when the commit ran on the
/// loop, 2026-12-07; the loop blocked there, which this ring does not).
///
/// Used on its loop only (`write` checks); made by `LoopRings` once per loop.
public final class LoopRing: @unchecked Sendable {
    public let loop: any EventLoop
    private let ring: OpaquePointer
    private var waiting: [UInt64: EventLoopPromise<Int32>] = [:]
    private var nextTag: UInt64 = 0
    private var closed = false

    /// Submission slots: at most this many writes in flight on one loop (one per association committing).
    static let entries: UInt32 = 64

    private init(loop: any EventLoop, ring: OpaquePointer) {
        self.loop = loop
        self.ring = ring
    }

    /// A ring for `loop`, its eventfd watched by a pipe channel on that loop. Fails where io_uring is refused.
    static func make(on loop: any EventLoop) -> EventLoopFuture<LoopRing> {
        let efd = arca_ring_eventfd()
        guard efd >= 0 else { return loop.makeFailedFuture(IOError(errnoCode: -efd, reason: "eventfd")) }
        var raw: OpaquePointer?
        let opened = arca_ring_open(entries, efd, &raw)
        guard opened == 0, let raw else {
            close(efd)
            return loop.makeFailedFuture(IOError(errnoCode: -opened, reason: "io_uring_setup"))
        }
        let ring = LoopRing(loop: loop, ring: raw)
        return NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in channel.pipeline.addHandler(CompletionHandler(ring: ring)) }
            .takingOwnershipOfDescriptor(input: efd)
            .map { _ in ring }
            .flatMapErrorThrowing { error in
                ring.shut()
                throw error
            }
    }

    /// Whether a write can be submitted now (ask before committing to the ring).
    var hasRoom: Bool {
        loop.preconditionInEventLoop()
        return !closed && arca_ring_has_room(ring) != 0
    }

    /// Writes `count` bytes of `buffer` to `fd` at `offset` (`durable`: RWF_DSYNC). The future answers the bytes
    /// written or fails with the write's errno; `buffer` must stay valid until then.
    func write(fd: Int32, buffer: UnsafeRawPointer, count: Int, offset: UInt64, durable: Bool) -> EventLoopFuture<Int32> {
        loop.preconditionInEventLoop()
        guard !closed, let length = UInt32(exactly: count) else {
            return loop.makeFailedFuture(IOError(errnoCode: EINVAL, reason: "io_uring write"))
        }
        nextTag &+= 1
        let tag = nextTag
        let submitted = arca_ring_write(ring, fd, buffer, length, offset, durable ? 1 : 0, tag)
        guard submitted == 0 else { return loop.makeFailedFuture(IOError(errnoCode: -submitted, reason: "io_uring write")) }
        let promise = loop.makePromise(of: Int32.self)
        waiting[tag] = promise
        // A write the kernel finished at once (an error found at submission, say) is reaped now.
        reap()
        return promise.futureResult
    }

    /// Completes every write whose completion is in the ring.
    fileprivate func reap() {
        guard !closed else { return }
        var tags = [UInt64](repeating: 0, count: 16)
        var results = [Int32](repeating: 0, count: 16)
        while true {
            let n = Int(arca_ring_reap(ring, &tags, &results, 16))
            for i in 0..<n {
                guard let promise = waiting.removeValue(forKey: tags[i]) else { continue }
                if results[i] < 0 {
                    promise.fail(IOError(errnoCode: -results[i], reason: "io_uring write"))
                } else {
                    promise.succeed(results[i])
                }
            }
            if n < 16 { return }
        }
    }

    /// The loop is going away (its channels close): writes still in flight fail, the ring is released. The
    /// kernel finishes or cancels them as the ring's descriptor closes; their buffers belong to journal streams
    /// that wait for this future before giving them back.
    fileprivate func shut() {
        guard !closed else { return }
        reap()
        closed = true
        for (_, promise) in waiting { promise.fail(IOError(errnoCode: ECANCELED, reason: "io_uring closed")) }
        waiting.removeAll()
        arca_ring_close(ring)
    }

    /// Reads the eventfd (the pipe channel does) and reaps on each wake-up.
    private final class CompletionHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let ring: LoopRing

        init(ring: LoopRing) { self.ring = ring }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { ring.reap() }

        func channelInactive(context: ChannelHandlerContext) {
            ring.shut()
            context.fireChannelInactive()
        }
    }
}

/// The rings of a server's event loops, made on first use of each loop (the commit that finds none goes the
/// writer thread's way meanwhile). A loop where io_uring is refused (an old kernel, a seccomp profile) keeps no
/// ring, and its commits always go that way.
public final class LoopRings: Sendable {
    private enum State {
        case starting
        case ready(LoopRing)
        case unavailable
    }

    private let rings = NIOLockedValueBox<[ObjectIdentifier: State]>([:])
    private let refused: @Sendable (any Error) -> Void

    /// `refused`: told once per loop why it has no ring.
    public init(refused: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.refused = refused
    }

    /// The ring of the event loop the caller runs on; nil off an event loop, or while it is being made.
    public func current() -> LoopRing? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return nil }
        let key = ObjectIdentifier(loop)
        let found = rings.withLockedValue { rings -> State? in
            if let state = rings[key] { return state }
            rings[key] = .starting
            return nil
        }
        switch found {
        case .ready(let ring): return ring
        case .starting, .unavailable: return nil
        case nil:
            let rings = self.rings, refused = self.refused
            LoopRing.make(on: loop).whenComplete { result in
                switch result {
                case .success(let ring): rings.withLockedValue { $0[key] = .ready(ring) }
                case .failure(let error):
                    rings.withLockedValue { $0[key] = .unavailable }
                    refused(error)
                }
            }
            return nil
        }
    }
}
