import NIOCore

/// Splits a DIMSE message into P-DATA-TF PDUs of one PDV each, sized for the peer's Maximum Length.
public struct MessageFragmenter: Sendable {
    public let maxFragment: Int

    public init(peerMaxPDULength: UInt32) {
        // Stay at or below 1 MiB even when the peer announces "unlimited".
        maxFragment = DataTransfer.maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
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
