import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The SCP: accepts associations on a TCP port and serves each in its own task with the registered DIMSE
/// services; what it negotiates is derived from them. Runs as a ServiceLifecycle service: on graceful
/// shutdown it stops accepting, lets running associations finish within the grace period, then aborts the rest.
public final class DICOMServer: Service, Sendable {
    public let configuration: SCPConfiguration
    public let services: DIMSEServiceRegistry
    private let logger: Logger
    private let group: any EventLoopGroup
    private let registry = AssociationRegistry()
    private let sessions = SessionGauge()
    private let bound = ListeningState()
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)

    public init(configuration: SCPConfiguration, services: DIMSEServiceRegistry, logger: Logger,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        var configuration = configuration
        configuration.policy.abstractSyntaxes = { services.support(for: $0) }
        self.configuration = configuration
        self.services = services
        self.logger = logger
        self.group = group
    }

    /// The port actually bound (useful with port 0), once `run` has bound it.
    public var boundPort: Int? { bound.port }

    /// Waits until `run` listens, and returns its port; throws what `run` met if it could not bind, or after
    /// `timeout` without either.
    public func waitUntilListening(timeout: Duration = .seconds(60)) async throws -> Int {
        try await bound.wait(timeout: timeout)
    }

    /// Returns once no association session runs: each that began has ended, its instance stored or discarded.
    public func waitUntilQuiet() async { await sessions.quiet() }

    /// Stops accepting and closes running associations (the abrupt form of a graceful shutdown, for tests
    /// and embedding): `run` returns once they are gone.
    public func shutdown() {
        listener.withLockedValue { $0 }?.close(promise: nil)
        for channel in registry.openChannels { channel.close(promise: nil) }
    }

    public func run() async throws {
        // No more loops than associations may run at once.
        let threads = AssociationThreads(count: min(configuration.associationThreads, configuration.policy.maxAssociations))
        do { try await serve(on: threads) } catch {
            bound.fail(error)  // a caller waiting for the port learns why there is none (nothing once it listened)
            await threads.shutdown()
            throw error
        }
        // Every session has ended (the task group waited for them): nothing runs on these loops any more.
        await threads.shutdown()
    }

    private func serve(on threads: AssociationThreads) async throws {
        let configuration = self.configuration
        let registry = self.registry
        let sessions = self.sessions
        let logger = self.logger
        let server = try await ServerBootstrap(group: group, childGroup: threads.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Each connection counted on its loop as it is accepted, before any of it runs there.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(threads.admission()) }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Reads of up to 256 KiB: a 128 KiB PDU arrives in one or two reads and is decoded as slices without
            // copying. Every PDU sliced from a read keeps the whole read buffer alive until its bytes are written
            // and hashed, and one read's PDUs all go into the inbound buffer at once, whatever its watermark: with
            // 1 MiB reads a 1 GB C-STORE peaked at 58–67 MB resident, with 256 KiB (and the watermarks below and
            // `IncomingWriter`'s 1 MiB) at 41–42 MB, at the same speed.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 16 * 1024, initial: 256 * 1024, maximum: 256 * 1024))
            // One read per readiness event, not NIO's four: the association task runs (and hands the PDUs' bytes to
            // the journal's writer) between reads, so the device writes an instance's first records while its last
            // bytes are still being read. With four, a 512 KB instance that arrives in one burst was read whole
            // before its first record was handed over (strace), and its whole write came after the burst.
            // Alternated runs (one association, strict): 512 KB 837–932/s against 682–909, 8 KB 1,388–1,600/s
            // against 928–1,489.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let peer = channel.remoteAddress?.description ?? "?"
                    // Connections, associated or not, are bounded: each holds a descriptor, and ones that never
                    // finish an A-ASSOCIATE-RQ (ARTIM ends each after 30 s) could otherwise run the process out of
                    // them. A connection past the bound is closed unread.
                    guard registry.track(channel, limit: configuration.policy.maxConnections) else {
                        logger.warning("[ABORT] \(peer): \(configuration.policy.maxConnections) connections open already; closed")
                        channel.close(promise: nil)
                        throw ConnectionRefused()
                    }
                    let thread = threads.thread(of: channel)
                    if let tls = configuration.tls {
                        // First in the pipeline: everything after it sees only decrypted bytes. A plain client's
                        // A-ASSOCIATE-RQ is not a TLS record: the handshake fails and the connection is closed.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        AssociationTimerHandler(artim: configuration.artimTimeout, idle: configuration.idleTimeout) { why in
                            logger.warning("[ABORT] \(peer): \(why)")
                        },
                        // Dataset PDVs go up as their bytes are read, and each read's PDVs as one element (a read
                        // that cuts PDUs would otherwise make two or three).
                        ByteToMessageHandler(PDUDecoder(limits: configuration.policy.decoderLimits, coalescesDataTransfers: true)),
                        QuickAckHandler(),
                        MessageToByteHandler(PDUEncoder()),
                    ])
                    // At most 2 reads (512 KiB with 256 KiB reads) wait for the session before reading pauses; NIO's
                    // default of 10 let 1.3 MB wait per association, for no gain in speed.
                    return (try NIOAsyncChannel<PDU, PDU>(wrappingChannelSynchronously: channel, configuration: .init(
                        backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2))), thread)
                }
            }
        bound.listening(on: server.channel.localAddress?.port ?? configuration.port)
        listener.withLockedValue { $0 = server.channel }
        logger.info("DICOM SCP \(configuration.policy.aeTitle) listening\(configuration.tls == nil ? "" : " with TLS") on port \(server.channel.localAddress?.port ?? configuration.port)")

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { connections in
                    for try await (connection, thread) in connections {
                        // Counted before its task starts, so a waiter for quiet never sees an accepted one as gone.
                        sessions.begins()
                        tasks.addTask(executorPreference: EventLoopTaskExecutor(connection.channel.eventLoop)) {
                            thread.sessionBegins()
                            defer {
                                thread.sessionEnds()
                                sessions.ends()
                            }
                            await AssociationSession(channel: connection, configuration: configuration, services: self.services,
                                                     registry: registry, thread: thread, logger: logger).run()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            logger.info("Shutting down: no new associations; \(registry.active) running get \(configuration.shutdownGracePeriod.nanoseconds / 1_000_000_000) s")
            server.channel.close(promise: nil)
            let deadline = configuration.shutdownGracePeriod
            server.channel.eventLoop.scheduleTask(in: deadline) {
                for channel in registry.openChannels { channel.close(promise: nil) }
            }
        }
        logger.info("DICOM SCP stopped")
    }
}

/// Whether the server listens: its port once bound, or why it never will. Callers of `wait` are resumed by
/// whichever comes first of the bind, its failure and their timeout.
final class ListeningState: Sendable {
    private enum Outcome {
        case pending
        case listening(Int)
        case failed(any Error)
    }

    private struct State {
        var outcome = Outcome.pending
        var waiters: [Int: CheckedContinuation<Int, any Error>] = [:]
        var nextWaiter = 0
        /// Waiters whose timeout came before they were registered.
        var expired: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())

    var port: Int? {
        state.withLockedValue { s in
            if case .listening(let p) = s.outcome { return p }
            return nil
        }
    }

    func listening(on port: Int) { settle(.listening(port)) }

    /// A failure after the server listened (it stopped) changes nothing.
    func fail(_ error: any Error) { settle(.failed(error)) }

    private func settle(_ outcome: Outcome) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Int, any Error>] in
            guard case .pending = s.outcome else { return [] }
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters {
            switch outcome {
            case .listening(let port): waiter.resume(returning: port)
            case .failed(let error): waiter.resume(throwing: error)
            case .pending: break
            }
        }
    }

    private static func timedOut(_ timeout: Duration) -> DIMSEError {
        DIMSEError("server did not start listening within \(timeout)")
    }

    func wait(timeout: Duration) async throws -> Int {
        let id = state.withLockedValue { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        let expiry = Task {
            try await Task.sleep(for: timeout)
            let waiter = state.withLockedValue { s in
                let waiter = s.waiters.removeValue(forKey: id)
                if waiter == nil { s.expired.insert(id) }
                return waiter
            }
            waiter?.resume(throwing: Self.timedOut(timeout))
        }
        defer { expiry.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let now = state.withLockedValue { s -> Result<Int, any Error>? in
                switch s.outcome {
                case .listening(let port): return .success(port)
                case .failed(let error): return .failure(error)
                case .pending:
                    if s.expired.remove(id) != nil { return .failure(Self.timedOut(timeout)) }
                    s.waiters[id] = continuation
                    return nil
                }
            }
            if let now { continuation.resume(with: now) }
        }
    }
}

/// A connection closed at its accept (`SCPConfiguration.policy.maxConnections` open already).
struct ConnectionRefused: Error {}
