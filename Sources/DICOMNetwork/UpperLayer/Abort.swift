/// A-ABORT PDU (type 0x07, PS3.8 9.3.8).
public struct Abort: Sendable, Hashable {
    /// Abort source. Values other than the named ones are kept as received.
    public struct Source: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// DICOM UL service-user (initiated abort).
        public static let serviceUser = Source(rawValue: 0)
        /// Reserved value 1.
        public static let reserved = Source(rawValue: 1)
        /// DICOM UL service-provider (initiated abort).
        public static let serviceProvider = Source(rawValue: 2)

        public var description: String {
            switch rawValue {
            case 0: return "service-user"
            case 2: return "service-provider"
            default: return "source(\(rawValue))"
            }
        }
    }

    /// Abort reason/diag. Only significant when the source is the service-provider.
    public struct Reason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let notSpecified = Reason(rawValue: 0)
        public static let unrecognizedPDU = Reason(rawValue: 1)
        public static let unexpectedPDU = Reason(rawValue: 2)
        public static let unrecognizedPDUParameter = Reason(rawValue: 4)
        public static let unexpectedPDUParameter = Reason(rawValue: 5)
        public static let invalidPDUParameterValue = Reason(rawValue: 6)

        public var description: String {
            switch rawValue {
            case 0: return "reason-not-specified"
            case 1: return "unrecognized-PDU"
            case 2: return "unexpected-PDU"
            case 4: return "unrecognized-PDU-parameter"
            case 5: return "unexpected-PDU-parameter"
            case 6: return "invalid-PDU-parameter-value"
            default: return "reason(\(rawValue))"
            }
        }
    }

    public var source: Source
    public var reason: Reason

    public init(source: Source, reason: Reason = .notSpecified) {
        self.source = source
        self.reason = reason
    }

    /// A-ABORT issued by the service-user (reason not significant, sent as 0).
    public static let userInitiated = Abort(source: .serviceUser, reason: .notSpecified)
}
