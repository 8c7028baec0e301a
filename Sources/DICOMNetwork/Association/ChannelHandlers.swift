import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Acknowledges at once (Linux TCP_QUICKACK, which the kernel clears again, so it is re-armed after each read)
/// unless the read ended a message this side answers. A sender with Nagle on (DCMTK's default) holds its last
/// small segment until our ACK: without this, tens of milliseconds of delayed ACK per object. A read that ends
/// a request (its dataset's last fragment, or a command that has none), an A-ASSOCIATE-RQ or an A-RELEASE-RQ is
/// answered, and the answer carries the ACK: that read is spared the system call (3% of a one-answer C-FIND's
/// server time). Everything else is acknowledged at once as before: a read that ends inside a PDU or between a
/// command and its dataset, and a response (nobody answers it, and the peer may go on sending: a C-GET's
/// pending responses come between its C-STORE sub-operations). After the PDU decoder, so it sees what the
/// read completed; the last PDU of a read decides.
final class QuickAckHandler: ChannelInboundHandler {
    typealias InboundIn = PDU
    typealias InboundOut = PDU

    /// Whether the last PDU of this read ended a message this side answers; reset after every read.
    private var endedAnsweredMessage = false
    /// Whether the command last read is a request this side answers (its dataset's end then ends it).
    private var commandIsAnswered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        endedAnsweredMessage = see(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        #if os(Linux)
        if !endedAnsweredMessage {
            let option = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_QUICKACK))
            _ = try? context.channel.syncOptions?.setOption(option, value: 1)
        }
        #endif
        endedAnsweredMessage = false
        context.fireChannelReadComplete()
    }

    /// Follows `pdu`'s PDVs; returns whether it ends a message this side answers.
    func see(_ pdu: PDU) -> Bool {
        switch pdu {
        case .associateRQ, .releaseRQ:
            return true
        case .dataTF(let transfer):
            var ended = false
            for pdv in transfer.pdvs {
                ended = false
                guard pdv.isLast else { continue }
                if pdv.isCommand {
                    let facts = Self.commandFacts(pdv.data)
                    commandIsAnswered = facts.field.map(Self.isAnsweredRequest) ?? false
                    ended = facts.noDataSet && commandIsAnswered
                } else {
                    ended = commandIsAnswered
                }
            }
            return ended
        default:
            return false
        }
    }

    /// A request the receiver answers: bit 15 of the Command Field clear (responses have it set), and not a
    /// C-CANCEL-RQ (0x0FFF), which has no response.
    static func isAnsweredRequest(_ field: UInt16) -> Bool { field & 0x8000 == 0 && field != 0x0FFF }

    /// Command Field (0000,0100) and whether Command Data Set Type (0000,0800) says no dataset (0x0101), read
    /// from a command's last fragment (implicit VR little endian). What is not in this fragment (a command cut
    /// into several PDVs) or does not parse is nil / false: the read is then acknowledged at once, the safe side.
    static func commandFacts(_ bytes: ByteBuffer) -> (field: UInt16?, noDataSet: Bool) {
        var field: UInt16?
        var offset = bytes.readerIndex
        let end = bytes.writerIndex
        while end - offset >= 8 {
            guard let group = bytes.getInteger(at: offset, endianness: .little, as: UInt16.self),
                  let element = bytes.getInteger(at: offset + 2, endianness: .little, as: UInt16.self),
                  let length = bytes.getInteger(at: offset + 4, endianness: .little, as: UInt32.self),
                  group == 0x0000, length <= UInt32(end - offset - 8) else { return (nil, false) }
            let value = length == 2 ? bytes.getInteger(at: offset + 8, endianness: .little, as: UInt16.self) : nil
            switch element {
            case 0x0100: field = value
            case 0x0800: return (field, value == 0x0101)
            default: if element > 0x0800 { return (field, false) }
            }
            offset += 8 + Int(length)
        }
        return (field, false)
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
    private var opened = NIODeadline.now()
    /// The first PDU (the A-ASSOCIATE-RQ): its header's bytes until all six are in, then how many of its bytes
    /// are still to come. ARTIM runs from the connection's start until it is whole: a byte now and then (each
    /// once reset the timer, and after the first one the 10-minute idle limit applied) held a connection for ever.
    private var firstHeader: [UInt8] = []
    private var firstLeft: UInt64?
    private var associating = true
    private var task: RepeatedTask?
    private let onTimeout: @Sendable (String) -> Void

    init(artim: TimeAmount, idle: TimeAmount, onTimeout: @escaping @Sendable (String) -> Void) {
        self.artim = artim
        self.idle = idle
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        opened = lastActivity
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
        if associating { countFirstPDU(Self.unwrapInboundIn(data)) }
        context.fireChannelRead(data)
    }

    /// Counts the bytes of the first PDU (header: type, reserved, 4-byte length); once it is whole, the idle
    /// limit applies instead of ARTIM.
    private func countFirstPDU(_ bytes: ByteBuffer) {
        var view = bytes.readableBytesView[...]
        if firstLeft == nil {
            let taken = view.prefix(6 - firstHeader.count)
            firstHeader += taken
            view = view.dropFirst(taken.count)
            guard firstHeader.count == 6 else { return }
            firstLeft = firstHeader[2...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        guard let left = firstLeft else { return }
        firstLeft = left - min(left, UInt64(view.count))
        if firstLeft == 0 { associating = false }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        context.write(data, promise: promise)
    }

    private func check(context: ChannelHandlerContext) {
        let overdue = associating ? NIODeadline.now() - opened > artim : NIODeadline.now() - lastActivity > idle
        guard overdue else { return }
        task?.cancel()
        task = nil
        onTimeout(associating ? "no whole A-ASSOCIATE-RQ within \(artim.nanoseconds / 1_000_000_000) s (ARTIM)"
                              : "idle for \(idle.nanoseconds / 1_000_000_000) s")
        var buffer = context.channel.allocator.buffer(capacity: 10)
        buffer.writeBytes([0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x00])  // A-ABORT, provider, not specified
        // Closed at once, not once the A-ABORT is written: a peer that stopped reading (its window full behind a
        // C-GET's data) never lets that write complete, and the association held its slot and socket for ever.
        // A peer that still reads gets the A-ABORT: the flush hands it to the socket before the close.
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        context.close(promise: nil)
    }
}
