import DICOM
/// What an association acceptor (our SCP side) agrees to; input of ``negotiate(_:policy:activeAssociations:)``.
public struct AssociationPolicy: Sendable {
    /// Default Maximum Length we advertise.
    public static let defaultMaxPDULength: UInt32 = 65536

    /// Default preference among the native transfer syntaxes.
    public static let defaultTransferSyntaxPreference: [String] = [
        UpperLayerUID.explicitVRLittleEndian,
        UpperLayerUID.implicitVRLittleEndian,
        UpperLayerUID.explicitVRBigEndian,
        UpperLayerUID.deflatedExplicitVRLittleEndian,
    ]

    /// Default test for encapsulated transfer syntaxes: any syntactically valid UID under the
    /// DICOM transfer syntax root 1.2.840.10008.1.2. (private transfer syntaxes are refused,
    /// as their data set encoding is unknown).
    public static let defaultIsKnownTransferSyntax: @Sendable (String) -> Bool = { uid in
        uid.hasPrefix("1.2.840.10008.1.2.") && UpperLayerUID.isValidUID(uid)
    }

    /// Our AE title, e.g. "STORE_SCP".
    public var aeTitle: String
    /// Reject (permanent, service-user, reason 7) when the called AE title is not ``aeTitle``.
    public var strictCalledAETitle: Bool
    /// `nil` accepts any calling AE title; otherwise others are rejected (permanent, service-user, reason 3).
    public var allowedCallingAETitles: Set<String>?
    /// Abstract syntaxes (SOP classes) we accept; others get result 3.
    public var acceptedAbstractSyntaxes: @Sendable (String) -> Bool
    /// Our preference among native (uncompressed) transfer syntaxes; only these natives are accepted.
    public var transferSyntaxPreference: [String]
    /// Accept an encapsulated (non-native) transfer syntax when no preferred one was proposed:
    /// the first proposed one that passes ``isKnownTransferSyntax``.
    public var acceptsAnyEncapsulated: Bool
    /// Filter applied to encapsulated transfer syntaxes.
    public var isKnownTransferSyntax: @Sendable (String) -> Bool
    /// The Maximum Length we advertise (and that our ``PDUDecoder`` must enforce).
    public var maxPDULength: UInt32
    public var implementationClassUID: String
    public var implementationVersionName: String
    /// More concurrent associations than this are rejected (transient, source 3, reason 2).
    public var maxAssociations: Int
    /// The asynchronous operations window we support; only sent back when the peer proposed one.
    /// 0 means unlimited. The synchronous default is (1, 1).
    public var asyncOperationsWindow: AsyncOperationsWindow
    /// Whether we accept the requestor acting as SCU for a SOP class it proposed in a role
    /// selection (the default role; normally true).
    public var acceptsRequestorSCURole: @Sendable (String) -> Bool
    /// Whether we accept the requestor acting as SCP for a SOP class (e.g. a C-GET SCU that
    /// receives C-STORE sub-operations on storage SOP classes).
    public var acceptsRequestorSCPRole: @Sendable (String) -> Bool

    public init(
        aeTitle: String,
        strictCalledAETitle: Bool = true,
        allowedCallingAETitles: Set<String>? = nil,
        acceptedAbstractSyntaxes: @escaping @Sendable (String) -> Bool,
        transferSyntaxPreference: [String] = AssociationPolicy.defaultTransferSyntaxPreference,
        acceptsAnyEncapsulated: Bool = true,
        isKnownTransferSyntax: @escaping @Sendable (String) -> Bool = AssociationPolicy.defaultIsKnownTransferSyntax,
        maxPDULength: UInt32 = AssociationPolicy.defaultMaxPDULength,
        implementationClassUID: String = DICOMImplementation.classUID,
        implementationVersionName: String = DICOMImplementation.versionName,
        maxAssociations: Int = 64,
        asyncOperationsWindow: AsyncOperationsWindow = .synchronous,
        acceptsRequestorSCURole: @escaping @Sendable (String) -> Bool = { _ in true },
        acceptsRequestorSCPRole: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.aeTitle = aeTitle
        self.strictCalledAETitle = strictCalledAETitle
        self.allowedCallingAETitles = allowedCallingAETitles
        self.acceptedAbstractSyntaxes = acceptedAbstractSyntaxes
        self.transferSyntaxPreference = transferSyntaxPreference
        self.acceptsAnyEncapsulated = acceptsAnyEncapsulated
        self.isKnownTransferSyntax = isKnownTransferSyntax
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.maxAssociations = maxAssociations
        self.asyncOperationsWindow = asyncOperationsWindow
        self.acceptsRequestorSCURole = acceptsRequestorSCURole
        self.acceptsRequestorSCPRole = acceptsRequestorSCPRole
    }

    /// Convenience: accept exactly the SOP classes in `abstractSyntaxes`.
    public init(aeTitle: String, acceptedAbstractSyntaxes abstractSyntaxes: Set<String>) {
        self.init(aeTitle: aeTitle, acceptedAbstractSyntaxes: { abstractSyntaxes.contains($0) })
    }

    /// Decoder limits matching what this policy advertises.
    public var decoderLimits: PDULimits { PDULimits(maxDataPDULength: maxPDULength) }

    /// The transfer syntax we pick among `proposed`, or nil when none is acceptable. An encapsulated
    /// (compressed) syntax is accepted as proposed when ``acceptsAnyEncapsulated``: the first proposed one
    /// passing ``isKnownTransferSyntax`` wins, so an image is stored as the modality compressed it. Otherwise
    /// the first of ``transferSyntaxPreference`` that was proposed.
    public func chooseTransferSyntax(from proposed: [String]) -> String? {
        if acceptsAnyEncapsulated, let encapsulated = proposed.first(where: { uid in
            !UpperLayerUID.nativeTransferSyntaxes.contains(uid) && !transferSyntaxPreference.contains(uid)
                && isKnownTransferSyntax(uid)
        }) {
            return encapsulated
        }
        let proposedSet = Set(proposed)
        return transferSyntaxPreference.first(where: { proposedSet.contains($0) })
    }
}
