import DICOM
/// A-ASSOCIATE-RQ PDU (type 0x01, PS3.8 9.3.2).
public struct AssociateRequest: Sendable, Hashable {
    /// Protocol-version bit field; bit 0 set = version 1 (the only defined version).
    public var protocolVersion: UInt16
    /// Called AE title (destination), at most 16 characters; trimmed of padding on decode.
    public var calledAETitle: String
    /// Calling AE title (source), at most 16 characters; trimmed of padding on decode.
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextProposal]
    public var userInformation: UserInformation

    public init(
        protocolVersion: UInt16 = 1,
        calledAETitle: String,
        callingAETitle: String,
        applicationContextName: String = UpperLayerUID.applicationContextName,
        presentationContexts: [PresentationContextProposal],
        userInformation: UserInformation
    ) {
        self.protocolVersion = protocolVersion
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContextName = applicationContextName
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }

    /// An A-ASSOCIATE-RQ for our SCU side, with the usual defaults: protocol version 1, the
    /// DICOM application context, our implementation class UID and version name.
    public init(
        calledAETitle: String,
        callingAETitle: String,
        presentationContexts: [PresentationContextProposal],
        maxPDULength: UInt32 = AssociationPolicy.defaultMaxPDULength,
        implementationClassUID: String = DICOMImplementation.classUID,
        implementationVersionName: String? = DICOMImplementation.versionName,
        roleSelections: [RoleSelection] = [],
        asyncOperationsWindow: AsyncOperationsWindow? = nil,
        userIdentity: UserIdentityRequest? = nil
    ) {
        self.init(
            calledAETitle: calledAETitle,
            callingAETitle: callingAETitle,
            presentationContexts: presentationContexts,
            userInformation: UserInformation(
                maxPDULength: maxPDULength,
                implementationClassUID: implementationClassUID,
                implementationVersionName: implementationVersionName,
                asyncOperationsWindow: asyncOperationsWindow,
                roleSelections: roleSelections,
                userIdentityRequest: userIdentity
            )
        )
    }

    /// Builds presentation contexts with consecutive odd IDs (1, 3, 5, ...), one per abstract
    /// syntax, each proposing `transferSyntaxes`. At most 128 contexts; extra ones are dropped.
    public static func presentationContexts(
        abstractSyntaxes: [String],
        transferSyntaxes: [String] = [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian]
    ) -> [PresentationContextProposal] {
        var result: [PresentationContextProposal] = []
        var id: UInt8 = 1
        for abstractSyntax in abstractSyntaxes.prefix(128) {
            result.append(PresentationContextProposal(id: id, abstractSyntax: abstractSyntax, transferSyntaxes: transferSyntaxes))
            id &+= 2
        }
        return result
    }
}
