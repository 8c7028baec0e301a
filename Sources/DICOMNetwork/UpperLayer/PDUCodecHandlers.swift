import NIOCore

/// Splits the inbound byte stream into ``PDU`` values (PS3.8 9.3), enforcing ``PDULimits``.
///
/// The type and declared length of each PDU are checked as soon as the 6-byte header is
/// available, so oversized or non-DICOM input fails immediately instead of being buffered.
/// Errors are ``PDUError`` values; send `error.abort` (an A-ABORT) and close the channel.
public struct PDUDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PDU

    public var limits: PDULimits
    /// Consecutive P-DATA-TF PDUs already read go up as one, their PDVs in order (each PDU still checked against
    /// `limits`): a reader that takes PDVs, not PDU boundaries, then handles a read's worth of small messages
    /// (a C-FIND's answers, one PDU each) in one pass instead of one trip through the pipeline and the async
    /// channel per answer, which was a third of a client's time in a search of 8,523 answers.
    public var coalescesDataTransfers: Bool

    /// No PDU is merged once this many PDVs are gathered (a soft bound on the array: the PDU merged last may add
    /// several; what is gathered never exceeds the bytes already read).
    public static let maxCoalescedPDVs = 1024

    public init(limits: PDULimits, coalescesDataTransfers: Bool = false) {
        self.limits = limits
        self.coalescesDataTransfers = coalescesDataTransfers
    }

    /// - Parameters:
    ///   - maxDataPDULength: the Maximum Length we advertised; larger P-DATA-TF PDUs are errors.
    ///   - maxAssociatePDULength: largest A-ASSOCIATE-RQ/AC accepted (default 1 MiB).
    public init(maxDataPDULength: UInt32, maxAssociatePDULength: UInt32 = PDULimits.defaultMaxAssociatePDULength,
                coalescesDataTransfers: Bool = false) {
        self.limits = PDULimits(maxDataPDULength: maxDataPDULength, maxAssociatePDULength: maxAssociatePDULength)
        self.coalescesDataTransfers = coalescesDataTransfers
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let pdu = try PDU.decode(from: &buffer, limits: limits) else { return .needMoreData }
        guard coalescesDataTransfers, case .dataTF(var transfer) = pdu else {
            context.fireChannelRead(Self.wrapInboundOut(pdu))
            return .continue
        }
        do {
            while transfer.pdvs.count < Self.maxCoalescedPDVs,
                  buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == PDUType.dataTF.rawValue,
                  case .dataTF(let next)? = try PDU.decode(from: &buffer, limits: limits) {
                transfer.pdvs.append(contentsOf: next.pdvs)
            }
        } catch {
            // What came before the bad PDU goes up first, as it would have one PDU at a time.
            context.fireChannelRead(Self.wrapInboundOut(.dataTF(transfer)))
            throw error
        }
        context.fireChannelRead(Self.wrapInboundOut(.dataTF(transfer)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        if let pdu = try PDU.decode(from: &buffer, limits: limits) {
            context.fireChannelRead(Self.wrapInboundOut(pdu))
            return .continue
        }
        if buffer.readableBytes > 0 {
            let pending = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: pending)
            throw PDUError(.truncated, "connection closed with \(pending) byte(s) of an incomplete PDU", offset: pending)
        }
        return .needMoreData
    }
}

/// Encodes outbound ``PDU`` values. Bulk P-DATA can bypass it: write a header produced by
/// ``PDU/writeDataHeader(into:contextID:isCommand:isLast:payloadLength:)`` and the payload
/// buffer as raw `ByteBuffer`s from a handler placed before this one in the pipeline.
public struct PDUEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = PDU

    public init() {}

    public func encode(data: PDU, out: inout ByteBuffer) throws {
        try data.encode(into: &out)
    }
}
