/// A malformed or unacceptable PDU received from the peer (or a PDU that cannot be encoded).
///
/// Every decoding failure carries the byte offset of the problem, counted from the first
/// byte of the PDU (the PDU-type byte is offset 0), and maps to the A-ABORT reason that
/// should be sent to the peer (``abortReason``).
public struct PDUError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The PDU-type byte is not one of 0x01...0x07 (e.g. an HTTP request, 'G' = 0x47).
        case unrecognizedPDUType
        /// A well-formed PDU that is not allowed in the current state (used by the state machine).
        case unexpectedPDU
        /// The PDU-length field is wrong for this PDU type (A-RELEASE/A-ABORT/A-ASSOCIATE-RJ
        /// not 4, zero-length P-DATA-TF, A-ASSOCIATE shorter than its fixed fields).
        case invalidPDULength
        /// The PDU-length field exceeds the configured limit.
        case pduTooLarge
        /// An item, sub-item or field extends past the end of its enclosing PDU or item.
        case lengthOverrun
        /// An item or sub-item is malformed (bad length, missing mandatory content).
        case invalidParameterValue
        /// An item or sub-item that is recognised but not allowed where it appears, or repeated.
        case unexpectedParameter
        /// An item type that is not recognised where the standard requires recognition.
        case unrecognizedParameter
        /// The connection ended in the middle of a PDU.
        case truncated
        /// A value handed to the encoder does not fit its length field.
        case encodingOverflow
    }

    public var kind: Kind
    public var message: String
    /// Offset from the start of the PDU (PDU-type byte = 0), when it applies.
    public var offset: Int?

    public init(_ kind: Kind, _ message: String, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }

    /// The A-ABORT reason/diag (PS3.8 9.3.8) to send to the peer for this error.
    public var abortReason: Abort.Reason {
        switch kind {
        case .unrecognizedPDUType: return .unrecognizedPDU
        case .unexpectedPDU: return .unexpectedPDU
        case .unrecognizedParameter: return .unrecognizedPDUParameter
        case .unexpectedParameter: return .unexpectedPDUParameter
        case .invalidPDULength, .pduTooLarge, .lengthOverrun, .invalidParameterValue:
            return .invalidPDUParameterValue
        case .truncated, .encodingOverflow: return .notSpecified
        }
    }

    /// The A-ABORT PDU to send for this error (source: service-provider).
    public var abort: Abort { Abort(source: .serviceProvider, reason: abortReason) }

    public var description: String {
        if let offset { return "PDUError.\(kind) at byte \(offset): \(message)" }
        return "PDUError.\(kind): \(message)"
    }
}
