import NIOCore

/// Cuts an inbound byte stream into PDUs (PS3.8 9.3) with the checks of ``PDU/decode(from:limits:)``, except that
/// a P-DATA-TF's dataset PDVs are handed on as their bytes arrive: a PDV cut by the end of what was read goes up
/// as a fragment of it (flagged last only in the piece that ends it), and its PDU goes on in the next read.
///
/// Why: a whole-PDU decoder leaves the head of a PDU that straddles two reads in NIO's `ByteToMessageHandler`,
/// which then copies the whole next read behind it. With 128 KiB PDUs and 256 KiB reads that is nearly every
/// byte of a large C-STORE (`memmove` was 10% of the event loop at 512 KB). Here a read is consumed to its end
/// whenever it ends inside a dataset PDV's data, so the handler keeps nothing; the fragments are slices of the
/// read, except a piece small next to its read's buffer, which is copied (below).
///
/// Gathered whole as before, since they are small and a consumer reads them whole: PDUs of the other types, and
/// command PDVs (``MessageAssembler`` gathers command fragments, but `QuickAckHandler` reads a command's facts
/// from its last fragment). A read that ends inside one of those, or inside a 6-byte PDU or PDV header, leaves
/// its tail in the handler, which appends the next read to it (a copy, as before; rare with large PDUs).
///
/// Pure state, no channel: ``PDUDecoder`` runs it in the pipeline, the association fuzzer beside the whole-PDU
/// decoder. Errors are ``PDUError`` values as from ``PDU/decode(from:limits:)``; the fragments that precede an
/// error in the stream are handed on first.
public struct PDUStreamDecoder: Sendable {
    public let limits: PDULimits
    /// Consecutive P-DATA-TF PDUs (and pieces of them) go up as one `.dataTF`, their PDVs in order, up to
    /// ``PDUDecoder/maxCoalescedPDVs``; without it, one `.dataTF` per PDU, or per piece of a PDU a read cut.
    public let coalescesDataTransfers: Bool

    /// The P-DATA-TF being read, once its header is: body bytes not yet read, and the dataset PDV whose data is
    /// being handed on, if one is open.
    private var dataPDU: DataPDU?
    /// PDVs decoded and not yet handed on.
    private var pending: [PDV] = []

    private struct DataPDU: Sendable {
        var left: Int
        var read = 0
        var open: OpenValue?
    }

    private struct OpenValue: Sendable {
        let contextID: UInt8
        let isLast: Bool
        /// The PDV's data length, and how much of it is still to come.
        let length: Int
        var left: Int
    }

    public init(limits: PDULimits, coalescesDataTransfers: Bool = false) {
        self.limits = limits
        self.coalescesDataTransfers = coalescesDataTransfers
    }

    /// The bytes of the current P-DATA-TF still to come, if the stream stopped inside one (some of it handed on).
    public var bytesMissingFromPDU: Int? { dataPDU?.left }

    /// A piece of a dataset PDV smaller than this share of its read's buffer is copied out of it. A slice keeps
    /// the whole buffer (up to 256 KiB) alive until the writer has taken it, and the writer's queue is bounded by
    /// the bytes it holds: a peer whose PDVs arrive a few bytes per read would otherwise pin a buffer per piece.
    static let sliceShareMinimum = 4

    /// Decodes everything `buffer` holds, handing each PDU (or P-DATA-TF piece) to `emit` in order. What is left
    /// in `buffer` is a partial header or an incomplete PDU of another type: keep it, and append what comes next.
    public mutating func decode(_ buffer: inout ByteBuffer, emit: (PDU) -> Void) throws(PDUError) {
        defer { flush(emit) }
        while true {
            if var pdu = dataPDU {
                guard try readData(of: &pdu, from: &buffer) else { return }
                dataPDU = pdu.left == 0 ? nil : pdu
                if coalescesDataTransfers ? pending.count >= PDUDecoder.maxCoalescedPDVs : pdu.left == 0 { flush(emit) }
                continue
            }
            let start = buffer.readerIndex
            guard let typeByte = buffer.getInteger(at: start, as: UInt8.self) else { return }
            guard typeByte == PDUType.dataTF.rawValue else {
                guard let pdu = try PDU.decode(from: &buffer, limits: limits) else { return }
                flush(emit)
                emit(pdu)
                continue
            }
            guard let declared = buffer.getInteger(at: start + 2, endianness: .big, as: UInt32.self) else { return }
            try PDU.validateHeader(type: .dataTF, length: declared, limits: limits)
            buffer.moveReaderIndex(forwardBy: PDU.headerLength)
            dataPDU = DataPDU(left: Int(clamping: declared))  // within the Maximum Length: validateHeader checked it
        }
    }

    /// Reads what `buffer` holds of the current P-DATA-TF's next step: some of the open PDV's data, or a PDV's
    /// header (a command PDV with its data). Returns false when `buffer` holds too little to go on.
    private mutating func readData(of pdu: inout DataPDU, from buffer: inout ByteBuffer) throws(PDUError) -> Bool {
        if var open = pdu.open {
            let count = min(open.left, buffer.readableBytes)
            guard count > 0, var data = buffer.readSlice(length: count) else { return false }
            // A whole PDV stays a slice, as a whole-PDU decoder left it; a piece a read cut is copied when small.
            if count < open.length && count < buffer.storageCapacity / Self.sliceShareMinimum {
                data = ByteBuffer(buffer: data)
            }
            open.left -= count
            pdu.left -= count
            pdu.read += count
            pending.append(PDV(contextID: open.contextID, isCommand: false, isLast: open.left == 0 && open.isLast, data: data))
            pdu.open = open.left == 0 ? nil : open
            return true
        }
        let offset = PDU.headerLength + pdu.read
        try DataTransfer.checkRoomForItem(pdu.left, offset: offset)
        let start = buffer.readerIndex
        guard let declared = buffer.getInteger(at: start, endianness: .big, as: UInt32.self) else { return false }
        let length = try DataTransfer.itemLength(declared, remaining: pdu.left - 4, offset: offset)
        guard let contextID = buffer.getInteger(at: start + 4, as: UInt8.self),
              let control = buffer.getInteger(at: start + 5, as: UInt8.self) else { return false }
        let isCommand = control & 0x01 != 0
        let isLast = control & 0x02 != 0
        // A command PDV is taken whole or not at all; a dataset PDV's header is taken alone, its data as it comes.
        let taken = isCommand || length == 2 ? 4 + length : 6
        guard buffer.readableBytes >= taken else { return false }
        buffer.moveReaderIndex(forwardBy: 6)
        if taken > 6 {
            guard let data = buffer.readSlice(length: length - 2) else { return false }
            pending.append(PDV(contextID: contextID, isCommand: true, isLast: isLast, data: data))
        } else if length == 2 {
            pending.append(PDV(contextID: contextID, isCommand: isCommand, isLast: isLast, data: ByteBuffer()))
        } else {
            pdu.open = OpenValue(contextID: contextID, isLast: isLast, length: length - 2, left: length - 2)
        }
        pdu.left -= taken
        pdu.read += taken
        return true
    }

    private mutating func flush(_ emit: (PDU) -> Void) {
        guard !pending.isEmpty else { return }
        emit(.dataTF(DataTransfer(pdvs: pending)))
        pending = []
    }
}

extension PDU {
    /// What a message reader (``MessageAssembler``) can tell apart in a sequence of PDUs: the PDUs of other types,
    /// and each PDV byte with its context and kind, then the end of each command or dataset. Where a sender or a
    /// read cut the PDVs is not in it, so two decodings of one stream must give the same (the decoder's tests and
    /// the association fuzzer compare them).
    enum Received: Equatable {
        case pdu(PDU)
        case byte(UInt8, contextID: UInt8, isCommand: Bool)
        /// A PDV with no data that does not end its message (the assembler still checks its context and kind).
        case empty(contextID: UInt8, isCommand: Bool)
        case end(contextID: UInt8, isCommand: Bool)
    }

    static func received(_ pdus: [PDU]) -> [Received] {
        var out: [Received] = []
        for pdu in pdus {
            guard case .dataTF(let transfer) = pdu else {
                out.append(.pdu(pdu))
                continue
            }
            for pdv in transfer.pdvs {
                out += pdv.data.readableBytesView.map { .byte($0, contextID: pdv.contextID, isCommand: pdv.isCommand) }
                if pdv.isLast {
                    out.append(.end(contextID: pdv.contextID, isCommand: pdv.isCommand))
                } else if pdv.data.readableBytes == 0 {
                    out.append(.empty(contextID: pdv.contextID, isCommand: pdv.isCommand))
                }
            }
        }
        return out
    }
}
