/// A-ASSOCIATE-AC PDU (type 0x02, PS3.8 9.3.3).
public struct AssociateAccept: Sendable, Hashable {
    public var protocolVersion: UInt16
    /// Echo of the called AE title received in the A-ASSOCIATE-RQ (a reserved field, not tested).
    public var calledAETitle: String
    /// Echo of the calling AE title received in the A-ASSOCIATE-RQ (a reserved field, not tested).
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextResult]
    public var userInformation: UserInformation

    public init(
        protocolVersion: UInt16 = 1,
        calledAETitle: String,
        callingAETitle: String,
        applicationContextName: String = UpperLayerUID.applicationContextName,
        presentationContexts: [PresentationContextResult],
        userInformation: UserInformation
    ) {
        self.protocolVersion = protocolVersion
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContextName = applicationContextName
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }
}
