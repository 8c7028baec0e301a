import DICOM
/// What an association acceptor (our SCP side) agrees to; input of ``negotiate(_:policy:activeAssociations:)``.
/// Association-wide limits live here; what each abstract syntax gets comes from ``abstractSyntaxes``, which
/// the SCP derives from its registered DIMSE services.
public struct AssociationPolicy: Sendable {
    /// Default Maximum Length we advertise.
    public static let defaultMaxPDULength: UInt32 = 65536

    /// Our AE title, e.g. "STORE_SCP".
    public var aeTitle: String
    /// Reject (permanent, service-user, reason 7) when the called AE title is not ``aeTitle``.
    public var strictCalledAETitle: Bool
    /// `nil` accepts any calling AE title; otherwise others are rejected (permanent, service-user, reason 3).
    public var allowedCallingAETitles: Set<String>?
    /// How each proposed abstract syntax is answered; nil: not supported (result 3).
    public var abstractSyntaxes: @Sendable (String) -> AbstractSyntaxSupport?
    /// The Maximum Length we advertise (and that our ``PDUDecoder`` must enforce).
    public var maxPDULength: UInt32
    public var implementationClassUID: String
    public var implementationVersionName: String
    /// More concurrent associations than this are rejected (transient, source 3, reason 2).
    public var maxAssociations: Int
    /// Connections open at once, associated or not: twice the associations and 64 more (peers refused with an
    /// A-ASSOCIATE-RJ, those still sending their request); past it a connection is closed at its accept.
    public var maxConnections: Int { min(max(maxAssociations, 0), 1 << 40) * 2 + 64 }
    /// The asynchronous operations window we support; only sent back when the peer proposed one.
    /// 0 means unlimited. The synchronous default is (1, 1).
    public var asyncOperationsWindow: AsyncOperationsWindow

    public init(
        aeTitle: String,
        strictCalledAETitle: Bool = true,
        allowedCallingAETitles: Set<String>? = nil,
        abstractSyntaxes: @escaping @Sendable (String) -> AbstractSyntaxSupport?,
        maxPDULength: UInt32 = AssociationPolicy.defaultMaxPDULength,
        implementationClassUID: String = DICOMImplementation.classUID,
        implementationVersionName: String = DICOMImplementation.versionName,
        maxAssociations: Int = 64,
        asyncOperationsWindow: AsyncOperationsWindow = .synchronous
    ) {
        self.aeTitle = aeTitle
        self.strictCalledAETitle = strictCalledAETitle
        self.allowedCallingAETitles = allowedCallingAETitles
        self.abstractSyntaxes = abstractSyntaxes
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.maxAssociations = maxAssociations
        self.asyncOperationsWindow = asyncOperationsWindow
    }

    /// Accept exactly the SOP classes in `abstractSyntaxes`, each with `support`.
    public init(aeTitle: String, acceptedAbstractSyntaxes abstractSyntaxes: Set<String>,
                support: AbstractSyntaxSupport = AbstractSyntaxSupport(transferSyntaxes: .storage, acceptsRequestorSCP: true)) {
        self.init(aeTitle: aeTitle, abstractSyntaxes: { abstractSyntaxes.contains($0) ? support : nil })
    }

    /// Decoder limits matching what this policy advertises.
    public var decoderLimits: PDULimits { PDULimits(maxDataPDULength: maxPDULength) }
}
