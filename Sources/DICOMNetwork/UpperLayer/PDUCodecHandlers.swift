import NIOCore

/// Splits the inbound byte stream into ``PDU`` values (PS3.8 9.3), enforcing ``PDULimits``.
///
/// The type and declared length of each PDU are checked as soon as the 6-byte header is
/// available, so oversized or non-DICOM input fails immediately instead of being buffered.
/// Errors are ``PDUError`` values; send `error.abort` (an A-ABORT) and close the channel.
public struct PDUDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PDU

    public var limits: PDULimits

    public init(limits: PDULimits) {
        self.limits = limits
    }

    /// - Parameters:
    ///   - maxDataPDULength: the Maximum Length we advertised; larger P-DATA-TF PDUs are errors.
    ///   - maxAssociatePDULength: largest A-ASSOCIATE-RQ/AC accepted (default 1 MiB).
    public init(maxDataPDULength: UInt32, maxAssociatePDULength: UInt32 = PDULimits.defaultMaxAssociatePDULength) {
        self.limits = PDULimits(maxDataPDULength: maxDataPDULength, maxAssociatePDULength: maxAssociatePDULength)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let pdu = try PDU.decode(from: &buffer, limits: limits) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(pdu))
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
