import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Acknowledges at once (Linux TCP_QUICKACK, which the kernel clears again, so it is re-armed after each read)
/// unless the read ended a message. A sender with Nagle on (DCMTK's default) holds its last small segment until
/// our ACK: without this, tens of milliseconds of delayed ACK per object. A read that ends a message (a request's
/// dataset, a command that has none) is answered, and the answer carries the ACK: that read is spared the
/// system call (3% of a one-answer C-FIND's server time). A read that ends inside a PDU, or between a command and
/// its dataset, is acknowledged at once as before. After the PDU decoder, so it sees what the read completed.
final class QuickAckHandler: ChannelInboundHandler {
    typealias InboundIn = PDU
    typealias InboundOut = PDU

    /// Whether the last PDU of this read ended a message; reset after every read.
    private var endedMessage = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        endedMessage = Self.endsMessage(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        #if os(Linux)
        if !endedMessage {
            let option = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_QUICKACK))
            _ = try? context.channel.syncOptions?.setOption(option, value: 1)
        }
        #endif
        endedMessage = false
        context.fireChannelReadComplete()
    }

    /// Whether `pdu` ends a message: its last PDV is a dataset's last fragment, or a whole command that says it
    /// has no dataset. PDUs other than P-DATA-TF are answered (or end the association) as they come.
    static func endsMessage(_ pdu: PDU) -> Bool {
        guard case .dataTF(let transfer) = pdu else { return true }
        guard let last = transfer.pdvs.last, last.isLast else { return false }
        return !last.isCommand || commandHasNoDataSet(last.data)
    }

    /// Reads Command Data Set Type (0000,0800) from a command's last fragment (implicit VR little endian);
    /// 0x0101 means no dataset follows. False when the element is not in this fragment (a command cut into
    /// several PDVs) or the bytes do not parse: then the read is acknowledged at once, the safe side.
    static func commandHasNoDataSet(_ bytes: ByteBuffer) -> Bool {
        var offset = bytes.readerIndex
        let end = bytes.writerIndex
        while end - offset >= 8 {
            guard let group = bytes.getInteger(at: offset, endianness: .little, as: UInt16.self),
                  let element = bytes.getInteger(at: offset + 2, endianness: .little, as: UInt16.self),
                  let length = bytes.getInteger(at: offset + 4, endianness: .little, as: UInt32.self),
                  group == 0x0000, length <= UInt32(end - offset - 8) else { return false }
            if element == 0x0800 {
                guard length == 2, let type = bytes.getInteger(at: offset + 8, endianness: .little, as: UInt16.self) else { return false }
                return type == 0x0101
            }
            if element > 0x0800 { return false }
            offset += 8 + Int(length)
        }
        return false
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
