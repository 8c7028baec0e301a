/// User Information item (0x50, PS3.8 9.3.2.3 / Annex D; PS3.7 Annex D.3.3).
///
/// Sub-items this type does not model are kept in ``unknownSubItems`` so they are tolerated
/// on decode and re-emitted on encode.
public struct UserInformation: Sendable, Hashable {
    /// Maximum Length sub-item (0x51): the largest P-DATA-TF PDU length (variable field) the
    /// sender can receive. 0 means unlimited.
    public var maxPDULength: UInt32?
    /// Implementation Class UID sub-item (0x52).
    public var implementationClassUID: String?
    /// Implementation Version Name sub-item (0x55).
    public var implementationVersionName: String?
    /// Asynchronous Operations Window sub-item (0x53).
    public var asyncOperationsWindow: AsyncOperationsWindow?
    /// SCP/SCU Role Selection sub-items (0x54).
    public var roleSelections: [RoleSelection]
    /// SOP Class Extended Negotiation sub-items (0x56).
    public var extendedNegotiations: [ExtendedNegotiation]
    /// SOP Class Common Extended Negotiation sub-items (0x57), A-ASSOCIATE-RQ only.
    public var commonExtendedNegotiations: [CommonExtendedNegotiation]
    /// User Identity Negotiation sub-item (0x58), A-ASSOCIATE-RQ only.
    public var userIdentityRequest: UserIdentityRequest?
    /// User Identity Negotiation sub-item (0x59), A-ASSOCIATE-AC only.
    public var userIdentityResponse: UserIdentityResponse?
    /// Sub-items of types this implementation does not model, in order of appearance.
    public var unknownSubItems: [UnknownSubItem]

    public init(
        maxPDULength: UInt32? = nil,
        implementationClassUID: String? = nil,
        implementationVersionName: String? = nil,
        asyncOperationsWindow: AsyncOperationsWindow? = nil,
        roleSelections: [RoleSelection] = [],
        extendedNegotiations: [ExtendedNegotiation] = [],
        commonExtendedNegotiations: [CommonExtendedNegotiation] = [],
        userIdentityRequest: UserIdentityRequest? = nil,
        userIdentityResponse: UserIdentityResponse? = nil,
        unknownSubItems: [UnknownSubItem] = []
    ) {
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.asyncOperationsWindow = asyncOperationsWindow
        self.roleSelections = roleSelections
        self.extendedNegotiations = extendedNegotiations
        self.commonExtendedNegotiations = commonExtendedNegotiations
        self.userIdentityRequest = userIdentityRequest
        self.userIdentityResponse = userIdentityResponse
        self.unknownSubItems = unknownSubItems
    }
}

/// Asynchronous Operations Window (sub-item 0x53). 0 means unlimited.
public struct AsyncOperationsWindow: Sendable, Hashable {
    public var maxInvoked: UInt16
    public var maxPerformed: UInt16
    public init(maxInvoked: UInt16, maxPerformed: UInt16) {
        self.maxInvoked = maxInvoked
        self.maxPerformed = maxPerformed
    }
    /// The synchronous default: one outstanding operation each way.
    public static let synchronous = AsyncOperationsWindow(maxInvoked: 1, maxPerformed: 1)
}

/// SCP/SCU Role Selection (sub-item 0x54). In an A-ASSOCIATE-RQ the flags state the roles
/// the *requestor* proposes for itself; in an A-ASSOCIATE-AC they accept (true) or reject
/// (false) each of those proposed roles.
public struct RoleSelection: Sendable, Hashable {
    public var sopClassUID: String
    public var scuRole: Bool
    public var scpRole: Bool
    public init(sopClassUID: String, scuRole: Bool, scpRole: Bool) {
        self.sopClassUID = sopClassUID
        self.scuRole = scuRole
        self.scpRole = scpRole
    }
}

/// SOP Class Extended Negotiation (sub-item 0x56).
public struct ExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    /// Service-class-application-information, opaque bytes.
    public var info: [UInt8]
    public init(sopClassUID: String, info: [UInt8]) {
        self.sopClassUID = sopClassUID
        self.info = info
    }
}

/// SOP Class Common Extended Negotiation (sub-item 0x57, PS3.7 D.3.3.6).
public struct CommonExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    public var serviceClassUID: String
    public var relatedGeneralSOPClassUIDs: [String]
    public init(sopClassUID: String, serviceClassUID: String, relatedGeneralSOPClassUIDs: [String] = []) {
        self.sopClassUID = sopClassUID
        self.serviceClassUID = serviceClassUID
        self.relatedGeneralSOPClassUIDs = relatedGeneralSOPClassUIDs
    }
}

/// User Identity Negotiation request (sub-item 0x58, PS3.7 D.3.3.7).
public struct UserIdentityRequest: Sendable, Hashable {
    public struct IdentityType: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let username = IdentityType(rawValue: 1)
        public static let usernameAndPasscode = IdentityType(rawValue: 2)
        public static let kerberos = IdentityType(rawValue: 3)
        public static let saml = IdentityType(rawValue: 4)
        public static let jwt = IdentityType(rawValue: 5)
    }

    public var type: IdentityType
    public var positiveResponseRequested: Bool
    public var primaryField: [UInt8]
    /// Only non-empty for ``IdentityType/usernameAndPasscode``.
    public var secondaryField: [UInt8]

    public init(type: IdentityType, positiveResponseRequested: Bool, primaryField: [UInt8], secondaryField: [UInt8] = []) {
        self.type = type
        self.positiveResponseRequested = positiveResponseRequested
        self.primaryField = primaryField
        self.secondaryField = secondaryField
    }
}

/// User Identity Negotiation response (sub-item 0x59).
public struct UserIdentityResponse: Sendable, Hashable {
    public var serverResponse: [UInt8]
    public init(serverResponse: [UInt8]) { self.serverResponse = serverResponse }
}

/// A user information sub-item this implementation does not interpret.
public struct UnknownSubItem: Sendable, Hashable {
    public var type: UInt8
    public var data: [UInt8]
    public init(type: UInt8, data: [UInt8]) {
        self.type = type
        self.data = data
    }
}
