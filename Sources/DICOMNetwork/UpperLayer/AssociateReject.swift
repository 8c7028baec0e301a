/// A-ASSOCIATE-RJ PDU (type 0x03, PS3.8 9.3.4).
public struct AssociateReject: Sendable, Hashable {
    /// Result: 1 rejected-permanent, 2 rejected-transient.
    public struct Result: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let permanent = Result(rawValue: 1)
        public static let transient = Result(rawValue: 2)
        public var description: String {
            switch rawValue {
            case 1: return "rejected-permanent"
            case 2: return "rejected-transient"
            default: return "result(\(rawValue))"
            }
        }
    }

    /// Source: 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation).
    public struct Source: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let serviceUser = Source(rawValue: 1)
        public static let serviceProviderACSE = Source(rawValue: 2)
        public static let serviceProviderPresentation = Source(rawValue: 3)
        public var description: String {
            switch rawValue {
            case 1: return "service-user"
            case 2: return "service-provider (ACSE)"
            case 3: return "service-provider (presentation)"
            default: return "source(\(rawValue))"
            }
        }
    }

    /// Reason/diag. Its meaning depends on ``source``; the raw byte is kept as received.
    public struct Reason: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        // Source 1 (service-user)
        public static let noReasonGiven = Reason(rawValue: 1)
        public static let applicationContextNameNotSupported = Reason(rawValue: 2)
        public static let callingAETitleNotRecognized = Reason(rawValue: 3)
        public static let calledAETitleNotRecognized = Reason(rawValue: 7)
        // Source 2 (service-provider, ACSE)
        // (1 = no-reason-given as for source 1)
        public static let protocolVersionNotSupported = Reason(rawValue: 2)
        // Source 3 (service-provider, presentation)
        public static let temporaryCongestion = Reason(rawValue: 1)
        public static let localLimitExceeded = Reason(rawValue: 2)
    }

    public var result: Result
    public var source: Source
    public var reason: Reason

    public init(result: Result, source: Source, reason: Reason) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    /// Human-readable reason, interpreted according to the source.
    public var reasonDescription: String {
        switch (source.rawValue, reason.rawValue) {
        case (1, 1), (2, 1): return "no-reason-given"
        case (1, 2): return "application-context-name-not-supported"
        case (1, 3): return "calling-AE-title-not-recognized"
        case (1, 7): return "called-AE-title-not-recognized"
        case (2, 2): return "protocol-version-not-supported"
        case (3, 1): return "temporary-congestion"
        case (3, 2): return "local-limit-exceeded"
        default: return "reason(\(reason.rawValue))"
        }
    }
}

extension AssociateReject: CustomStringConvertible {
    public var description: String { "A-ASSOCIATE-RJ \(result), \(source), \(reasonDescription)" }
}
