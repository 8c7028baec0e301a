import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Acknowledges every received segment at once (Linux TCP_QUICKACK, which the kernel clears again, so it is
/// re-armed after each read). A sender with Nagle on (DCMTK's storescu default) otherwise holds its last
/// small segment until our delayed ACK fires, which costs tens of milliseconds per object.
final class QuickAckHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        #if os(Linux)
        let option = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_QUICKACK))
        _ = try? context.channel.syncOptions?.setOption(option, value: 1)
        #endif
        context.fireChannelRead(data)
    }
}

/// The ARTIM timer (no A-ASSOCIATE-RQ within `artim` of connecting) and the idle timeout (nothing received
/// for `idle`): either sends an A-ABORT and closes the connection.
final class AssociationTimerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let artim: TimeAmount
    private let idle: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var sawData = false
    private var task: RepeatedTask?
    private let onTimeout: @Sendable (String) -> Void

    init(artim: TimeAmount, idle: TimeAmount, onTimeout: @escaping @Sendable (String) -> Void) {
        self.artim = artim
        self.idle = idle
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        let check = TimeAmount.milliseconds(max(50, min(1000, min(artim, idle).nanoseconds / 4_000_000)))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        task = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        sawData = true
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        context.write(data, promise: promise)
    }

    private func check(context: ChannelHandlerContext) {
        let limit = sawData ? idle : artim
        guard NIODeadline.now() - lastActivity > limit else { return }
        task?.cancel()
        task = nil
        onTimeout(sawData ? "idle for \(idle.nanoseconds / 1_000_000_000) s" : "no A-ASSOCIATE-RQ within \(artim.nanoseconds / 1_000_000_000) s (ARTIM)")
        var buffer = context.channel.allocator.buffer(capacity: 10)
        buffer.writeBytes([0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x00])  // A-ABORT, provider, not specified
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }
}
