/// A presentation context proposed in an A-ASSOCIATE-RQ (item 0x20, PS3.8 9.3.2.2).
public struct PresentationContextProposal: Sendable, Hashable {
    /// Presentation context ID: an odd number 1...255.
    public var id: UInt8
    /// Abstract syntax (SOP Class UID) — sub-item 0x30.
    public var abstractSyntax: String
    /// Proposed transfer syntaxes in the requestor's order — sub-items 0x40.
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// The acceptor's answer for one presentation context in an A-ASSOCIATE-AC (item 0x21, PS3.8 9.3.3.2).
public struct PresentationContextResult: Sendable, Hashable {
    /// Result/reason field.
    public enum Reason: UInt8, Sendable, Hashable, CustomStringConvertible {
        case acceptance = 0
        case userRejection = 1
        /// no-reason (provider rejection)
        case noReason = 2
        /// abstract-syntax-not-supported (provider rejection)
        case abstractSyntaxNotSupported = 3
        /// transfer-syntaxes-not-supported (provider rejection)
        case transferSyntaxesNotSupported = 4

        public var description: String {
            switch self {
            case .acceptance: return "acceptance"
            case .userRejection: return "user-rejection"
            case .noReason: return "no-reason"
            case .abstractSyntaxNotSupported: return "abstract-syntax-not-supported"
            case .transferSyntaxesNotSupported: return "transfer-syntaxes-not-supported"
            }
        }
    }

    public var id: UInt8
    public var result: Reason
    /// The accepted transfer syntax. Not significant when `result != .acceptance`
    /// (an A-ASSOCIATE-AC without a transfer syntax sub-item decodes as "").
    public var transferSyntax: String

    public init(id: UInt8, result: Reason, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }

    public var isAccepted: Bool { result == .acceptance }
}
