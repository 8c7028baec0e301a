import NIOCore

/// Splits the inbound byte stream into ``PDU`` values (PS3.8 9.3), enforcing ``PDULimits``: a
/// ``PDUStreamDecoder`` in the channel pipeline, so a P-DATA-TF's dataset PDVs go up as their bytes arrive.
///
/// The type and declared length of each PDU are checked as soon as the 6-byte header is
/// available, so oversized or non-DICOM input fails immediately instead of being buffered.
/// Errors are ``PDUError`` values; send `error.abort` (an A-ABORT) and close the channel.
public struct PDUDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PDU

    private var stream: PDUStreamDecoder

    /// No PDU is merged once this many PDVs are gathered (a soft bound on the array: the PDU merged last may add
    /// several; what is gathered never exceeds the bytes already read).
    public static let maxCoalescedPDVs = 1024

    /// - Parameter coalescesDataTransfers: consecutive P-DATA-TF PDUs already read go up as one, their PDVs in
    ///   order (each PDU still checked against `limits`): a reader that takes PDVs, not PDU boundaries, then
    ///   handles a read's worth of small messages (a C-FIND's answers, one PDU each) in one pass instead of one
    ///   trip through the pipeline and the async channel per answer, which was a third of a client's time in a
    ///   search of 8,523 answers.
    public init(limits: PDULimits, coalescesDataTransfers: Bool = false) {
        stream = PDUStreamDecoder(limits: limits, coalescesDataTransfers: coalescesDataTransfers)
    }

    /// - Parameters:
    ///   - maxDataPDULength: the Maximum Length we advertised; larger P-DATA-TF PDUs are errors.
    ///   - maxAssociatePDULength: largest A-ASSOCIATE-RQ/AC accepted (default 1 MiB).
    public init(maxDataPDULength: UInt32, maxAssociatePDULength: UInt32 = PDULimits.defaultMaxAssociatePDULength,
                coalescesDataTransfers: Bool = false) {
        self.init(limits: PDULimits(maxDataPDULength: maxDataPDULength, maxAssociatePDULength: maxAssociatePDULength),
                  coalescesDataTransfers: coalescesDataTransfers)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try stream.decode(&buffer) { context.fireChannelRead(Self.wrapInboundOut($0)) }
        return .needMoreData
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try stream.decode(&buffer) { context.fireChannelRead(Self.wrapInboundOut($0)) }
        let pending = buffer.readableBytes
        buffer.moveReaderIndex(forwardBy: pending)
        if let missing = stream.bytesMissingFromPDU {
            throw PDUError(.truncated, "connection closed inside a P-DATA-TF, \(missing) byte(s) of it missing", offset: pending)
        }
        guard pending == 0 else {
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
