import NIOCore

/// Splits a DIMSE message into P-DATA-TF PDUs of one PDV each, sized for the peer's Maximum Length; or packs
/// a small message's command and dataset into one PDU.
public struct MessageFragmenter: Sendable {
    public let maxFragment: Int

    public init(peerMaxPDULength: UInt32) {
        // Stay at or below 1 MiB even when the peer announces "unlimited".
        maxFragment = DataTransfer.maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
    }

    /// Several whole messages with one command (a C-FIND's pending answers: the same command, one dataset each),
    /// written as encoded P-DATA-TF PDUs into `buffer`: each message's command and dataset packed into as few PDUs
    /// as the peer's Maximum Length allows (PS3.8 9.3.5 lets one PDU carry several PDVs): a pending answer of ~300
    /// bytes is one PDU, not two. A PDU never carries the PDVs of two messages, though the standard allows it:
    /// DCMTK's `findscu` and pynetdicom drop whatever follows a completed message in the same PDU (both then saw
    /// one answer of hundreds). Written straight into the buffer: building a `PDU` with its PDV array and slices
    /// per answer, then encoding it, was a tenth of a server's CPU in a search of 8,523 answers.
    public func writePacked(command: [UInt8], dataSets: [[UInt8]], contextID: UInt8, into buffer: inout ByteBuffer) {
        let capacity = maxFragment + 6
        var used = 0
        var pduStart = buffer.writerIndex
        func closePDU(_ buffer: inout ByteBuffer) {
            // The body's length: every PDV item written since the header (at most the peer's Maximum Length).
            buffer.setInteger(UInt32(truncatingIfNeeded: buffer.writerIndex - pduStart - PDU.headerLength), at: pduStart + 2, endianness: .big)
            used = 0
        }
        func openPDU(_ buffer: inout ByteBuffer) {
            pduStart = buffer.writerIndex
            buffer.writeInteger(PDUType.dataTF.rawValue)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(0), endianness: .big)
        }
        func add(_ bytes: [UInt8], isCommand: Bool, _ buffer: inout ByteBuffer) {
            var offset = 0
            repeat {
                if used + 6 >= capacity {
                    closePDU(&buffer)
                    openPDU(&buffer)
                }
                let n = min(capacity - used - 6, bytes.count - offset)
                let last = offset + n == bytes.count
                buffer.writeInteger(UInt32(truncatingIfNeeded: n + 2), endianness: .big)
                buffer.writeInteger(contextID)
                buffer.writeInteger((isCommand ? UInt8(0x01) : 0) | (last ? UInt8(0x02) : 0))
                bytes.withUnsafeBytes { raw in _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])) }
                used += 6 + n
                offset += n
            } while offset < bytes.count
        }
        for dataSet in dataSets {
            // The usual case, a command and a dataset that fit one PDU, written in one pass over the buffer's
            // memory: ten writes through `ByteBuffer` per answer were a twentieth of a search's CPU.
            if command.count + dataSet.count + 12 <= capacity {
                Self.writeOnePDU(command: command, dataSet: dataSet, contextID: contextID, into: &buffer)
                continue
            }
            openPDU(&buffer)
            add(command, isCommand: true, &buffer)
            add(dataSet, isCommand: false, &buffer)
            closePDU(&buffer)
        }
    }

    /// One P-DATA-TF PDU of two PDVs: the whole command, then the whole dataset (the caller checked that both
    /// fit the peer's Maximum Length).
    static func writeOnePDU(command: [UInt8], dataSet: [UInt8], contextID: UInt8, into buffer: inout ByteBuffer) {
        let total = PDU.headerLength + 12 + command.count + dataSet.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            func put32(_ v: Int, at i: Int) {
                out[i] = UInt8(truncatingIfNeeded: v >> 24)
                out[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
                out[i + 2] = UInt8(truncatingIfNeeded: v >> 8)
                out[i + 3] = UInt8(truncatingIfNeeded: v)
            }
            func pdv(_ bytes: [UInt8], flags: UInt8, at i: Int) -> Int {
                put32(bytes.count + 2, at: i)
                out[i + 4] = contextID
                out[i + 5] = flags
                bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[(i + 6)...]).copyMemory(from: $0) }
                return i + 6 + bytes.count
            }
            out[0] = PDUType.dataTF.rawValue
            out[1] = 0
            put32(total - PDU.headerLength, at: 2)
            let next = pdv(command, flags: 0x03, at: PDU.headerLength)  // command, last fragment
            _ = pdv(dataSet, flags: 0x02, at: next)                    // dataset, last fragment
            return total
        }
    }

    /// P-DATA PDUs carrying `bytes` as command or dataset fragments; the last has the last-fragment bit.
    /// `endsMessage` false: more of the message follows (its last PDV here is not flagged last).
    public func pdus(_ bytes: ByteBuffer, contextID: UInt8, isCommand: Bool, endsMessage: Bool = true) -> [PDU] {
        var remaining = bytes
        var out: [PDU] = []
        repeat {
            let n = min(maxFragment, remaining.readableBytes)
            let slice = remaining.readSlice(length: n) ?? ByteBuffer()
            let last = remaining.readableBytes == 0 && endsMessage
            out.append(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: isCommand, isLast: last, data: slice)])))
        } while remaining.readableBytes > 0
        return out
    }
}
