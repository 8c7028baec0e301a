import NIOCore

/// A DICOM Upper Layer protocol data unit (PS3.8 section 9.3).
public enum PDU: Sendable, Equatable {
    case associateRQ(AssociateRequest)
    case associateAC(AssociateAccept)
    case associateRJ(AssociateReject)
    case dataTF(DataTransfer)
    case releaseRQ
    case releaseRP
    case abort(Abort)
    /// PDUs already encoded, one after another, written as they are: a batch of small messages (a C-FIND's
    /// pending answers) goes down the channel as one buffer instead of one write per PDU. Only ever sent;
    /// the decoder never produces it.
    case encoded(ByteBuffer)

    /// The PDU-type byte (of the first PDU, for `encoded`).
    public var type: PDUType {
        switch self {
        case .associateRQ: return .associateRQ
        case .associateAC: return .associateAC
        case .associateRJ: return .associateRJ
        case .dataTF: return .dataTF
        case .releaseRQ: return .releaseRQ
        case .releaseRP: return .releaseRP
        case .abort: return .abort
        case .encoded(let bytes): return bytes.getInteger(at: bytes.readerIndex, as: UInt8.self).flatMap(PDUType.init) ?? .dataTF
        }
    }
}

/// The PDU-type byte values (PS3.8 Table 9-10 ...).
public enum PDUType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case associateRQ = 0x01
    case associateAC = 0x02
    case associateRJ = 0x03
    case dataTF = 0x04
    case releaseRQ = 0x05
    case releaseRP = 0x06
    case abort = 0x07

    public var description: String {
        switch self {
        case .associateRQ: return "A-ASSOCIATE-RQ"
        case .associateAC: return "A-ASSOCIATE-AC"
        case .associateRJ: return "A-ASSOCIATE-RJ"
        case .dataTF: return "P-DATA-TF"
        case .releaseRQ: return "A-RELEASE-RQ"
        case .releaseRP: return "A-RELEASE-RP"
        case .abort: return "A-ABORT"
        }
    }
}

/// Limits applied while decoding PDUs from the peer.
public struct PDULimits: Sendable, Hashable {
    /// The Maximum Length we advertised (sub-item 0x51): the largest P-DATA-TF PDU-length
    /// field we accept. 0 (unlimited in the standard) is interpreted as ``unlimitedDataPDULength``.
    public var maxDataPDULength: UInt32
    /// Largest A-ASSOCIATE-RQ/AC PDU-length field accepted.
    public var maxAssociatePDULength: UInt32

    /// The ceiling used when `maxDataPDULength` is 0: the decoder never buffers more than this.
    public static let unlimitedDataPDULength: UInt32 = 64 << 20
    public static let defaultMaxAssociatePDULength: UInt32 = 1 << 20

    public init(maxDataPDULength: UInt32, maxAssociatePDULength: UInt32 = PDULimits.defaultMaxAssociatePDULength) {
        self.maxDataPDULength = maxDataPDULength
        self.maxAssociatePDULength = maxAssociatePDULength
    }

    var effectiveMaxDataPDULength: UInt32 {
        maxDataPDULength == 0 ? PDULimits.unlimitedDataPDULength : maxDataPDULength
    }
}
