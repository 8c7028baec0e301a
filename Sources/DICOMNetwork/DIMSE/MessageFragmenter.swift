import NIOCore

/// Splits a DIMSE message into P-DATA-TF PDUs of one PDV each, sized for the peer's Maximum Length; or packs
/// a small message's command and dataset into one PDU.
public struct MessageFragmenter: Sendable {
    public let maxFragment: Int

    public init(peerMaxPDULength: UInt32) {
        // Stay at or below 1 MiB even when the peer announces "unlimited".
        maxFragment = DataTransfer.maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
    }

    /// The PDVs of several whole messages (each a command and maybe a dataset), in order, each message's
    /// command and dataset packed into as few P-DATA-TF PDUs as the peer's Maximum Length allows (PS3.8 9.3.5
    /// lets one PDU carry several PDVs): a C-FIND's pending answer of ~300 bytes is one PDU, not two. A PDU
    /// never carries the PDVs of two messages, though the standard allows it: DCMTK's `findscu` and pynetdicom
    /// drop whatever follows a completed message in the same PDU (both then saw one answer of hundreds).
    public func packedPDUs(_ messages: [(command: ByteBuffer, dataSet: ByteBuffer?)], contextID: UInt8) -> [PDU] {
        let capacity = maxFragment + 6
        var out: [PDU] = []
        var pdvs: [PDV] = []
        var used = 0
        func add(_ bytes: ByteBuffer, isCommand: Bool) {
            var remaining = bytes
            repeat {
                if used + 6 >= capacity {
                    out.append(.dataTF(DataTransfer(pdvs: pdvs)))
                    pdvs.removeAll(keepingCapacity: true)
                    used = 0
                }
                let n = min(capacity - used - 6, remaining.readableBytes)
                let slice = remaining.readSlice(length: n) ?? ByteBuffer()
                pdvs.append(PDV(contextID: contextID, isCommand: isCommand, isLast: remaining.readableBytes == 0, data: slice))
                used += 6 + n
            } while remaining.readableBytes > 0
        }
        for (command, dataSet) in messages {
            add(command, isCommand: true)
            if let dataSet { add(dataSet, isCommand: false) }
            out.append(.dataTF(DataTransfer(pdvs: pdvs)))
            pdvs.removeAll(keepingCapacity: true)
            used = 0
        }
        return out
    }

    /// P-DATA PDUs carrying `bytes` as command or dataset fragments; the last has the last-fragment bit.
    public func pdus(_ bytes: ByteBuffer, contextID: UInt8, isCommand: Bool) -> [PDU] {
        var remaining = bytes
        var out: [PDU] = []
        repeat {
            let n = min(maxFragment, remaining.readableBytes)
            let slice = remaining.readSlice(length: n) ?? ByteBuffer()
            let last = remaining.readableBytes == 0
            out.append(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: isCommand, isLast: last, data: slice)])))
        } while remaining.readableBytes > 0
        return out
    }
}
