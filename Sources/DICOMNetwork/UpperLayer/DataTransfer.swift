import NIOCore

/// P-DATA-TF PDU (type 0x04, PS3.8 9.3.5): one or more presentation data values.
public struct DataTransfer: Sendable, Equatable {
    public var pdvs: [PDV]
    public init(pdvs: [PDV]) { self.pdvs = pdvs }
}

/// A Presentation Data Value item (PS3.8 9.3.5.1 and Annex E.2).
public struct PDV: Sendable, Equatable {
    public var contextID: UInt8
    /// Message control header bit 0: command (true) or data set (false) fragment.
    public var isCommand: Bool
    /// Message control header bit 1: last fragment of the command or data set.
    public var isLast: Bool
    /// The fragment. When decoded, a slice of the received buffer (no copy).
    public var data: ByteBuffer

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, data: ByteBuffer) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.data = data
    }

    /// The message control header byte.
    public var messageControlHeader: UInt8 { (isCommand ? 0x01 : 0x00) | (isLast ? 0x02 : 0x00) }
}

extension DataTransfer {
    /// Bytes of a P-DATA-TF PDU carrying one PDV that precede the PDV's data:
    /// PDU header (6) + PDV item length (4) + context ID (1) + message control header (1).
    public static let singlePDVHeaderLength = 12

    /// The largest fragment that fits one PDV in one P-DATA-TF PDU for a peer that announced
    /// `peerMaxPDULength` (0 = unlimited, in which case `unlimitedFallback` is used).
    public static func maxFragmentLength(peerMaxPDULength: UInt32, unlimitedFallback: Int = 1 << 20) -> Int {
        guard peerMaxPDULength != 0 else { return unlimitedFallback }
        // The PDU length (variable field) covers the 6 bytes of PDV header; keep at least 1 byte.
        return max(1, Int(clamping: peerMaxPDULength) - 6)
    }
}
