/// How an acceptor answers one proposed abstract syntax: the transfer syntax it picks, the roles it grants,
/// and its answer to the SOP class extended negotiation. The SCP derives these from its DIMSE services
/// (`DIMSEServiceRegistry`), so what is negotiated is exactly what some service performs.
public struct AbstractSyntaxSupport: Sendable {
    public var transferSyntaxes: TransferSyntaxPolicy
    /// The requestor may invoke operations on this SOP class (it acts as SCU, we perform).
    public var acceptsRequestorSCU: Bool
    /// The requestor may perform operations we invoke (e.g. receive the C-STORE sub-operations of a C-GET).
    public var acceptsRequestorSCP: Bool
    /// The answer to the requestor's SOP Class Extended Negotiation sub-item (its service-class-application-
    /// information in, ours out); nil sends no answer, which PS3.7 D.3.3.5 reads as "nothing supported".
    public var extendedNegotiation: (@Sendable ([UInt8]) -> [UInt8]?)?

    public init(transferSyntaxes: TransferSyntaxPolicy, acceptsRequestorSCU: Bool = true, acceptsRequestorSCP: Bool = false,
                extendedNegotiation: (@Sendable ([UInt8]) -> [UInt8]?)? = nil) {
        self.transferSyntaxes = transferSyntaxes
        self.acceptsRequestorSCU = acceptsRequestorSCU
        self.acceptsRequestorSCP = acceptsRequestorSCP
        self.extendedNegotiation = extendedNegotiation
    }

    /// Two services serving one SOP class (C-STORE SCP and C-GET, say): roles add up; the first one's
    /// transfer syntax policy and extended negotiation win.
    public func merged(with other: AbstractSyntaxSupport) -> AbstractSyntaxSupport {
        AbstractSyntaxSupport(transferSyntaxes: transferSyntaxes,
                              acceptsRequestorSCU: acceptsRequestorSCU || other.acceptsRequestorSCU,
                              acceptsRequestorSCP: acceptsRequestorSCP || other.acceptsRequestorSCP,
                              extendedNegotiation: extendedNegotiation ?? other.extendedNegotiation)
    }
}

/// Which transfer syntax an acceptor picks for one presentation context.
public struct TransferSyntaxPolicy: Sendable {
    /// Our preference among native (uncompressed) transfer syntaxes; only these natives are accepted.
    public var preference: [String]
    /// Accept an encapsulated (compressed) syntax as proposed, before any native one: an image is then
    /// stored as the modality compressed it.
    public var acceptsEncapsulated: Bool
    /// Filter applied to encapsulated transfer syntaxes.
    public var isKnownTransferSyntax: @Sendable (String) -> Bool

    public init(preference: [String], acceptsEncapsulated: Bool, isKnownTransferSyntax: @escaping @Sendable (String) -> Bool = TransferSyntaxPolicy.isStandardTransferSyntax) {
        self.preference = preference
        self.acceptsEncapsulated = acceptsEncapsulated
        self.isKnownTransferSyntax = isKnownTransferSyntax
    }

    /// Any syntactically valid UID under the DICOM transfer syntax root 1.2.840.10008.1.2. (private transfer
    /// syntaxes are refused: their dataset encoding is unknown).
    public static let isStandardTransferSyntax: @Sendable (String) -> Bool = { uid in
        uid.hasPrefix("1.2.840.10008.1.2.") && UpperLayerUID.isValidUID(uid)
    }

    public static let defaultNativePreference: [String] = [
        UpperLayerUID.explicitVRLittleEndian,
        UpperLayerUID.implicitVRLittleEndian,
        UpperLayerUID.explicitVRBigEndian,
        UpperLayerUID.deflatedExplicitVRLittleEndian,
    ]

    /// Storage: what the sender compressed is kept; otherwise the native syntaxes in our order.
    public static let storage = TransferSyntaxPolicy(preference: defaultNativePreference, acceptsEncapsulated: true)
    /// Commands with identifiers (queries, retrieves, N-ACTION): uncompressed only, little endian first.
    public static let uncompressed = TransferSyntaxPolicy(
        preference: [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian, UpperLayerUID.explicitVRBigEndian],
        acceptsEncapsulated: false)

    /// The transfer syntax picked among `proposed`, or nil when none is acceptable. An encapsulated syntax
    /// (when accepted) wins as proposed: the first one passing ``isKnownTransferSyntax``. `nativeFirst`: a native
    /// one wins when proposed (a context on which we send, the C-STORE sub-operations of a C-GET: the archive
    /// sends any instance natively, but not every one in the compressed syntax the requestor listed first).
    public func choose(from proposed: [String], nativeFirst: Bool = false) -> String? {
        let proposedSet = Set(proposed)
        let native = preference.first(where: { proposedSet.contains($0) })
        if nativeFirst, let native { return native }
        if acceptsEncapsulated, let encapsulated = proposed.first(where: { uid in
            !UpperLayerUID.nativeTransferSyntaxes.contains(uid) && !preference.contains(uid) && isKnownTransferSyntax(uid)
        }) {
            return encapsulated
        }
        return native
    }
}
