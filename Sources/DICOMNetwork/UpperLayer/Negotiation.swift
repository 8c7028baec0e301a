import DICOM

/// Result of ``negotiate(_:policy:activeAssociations:)``.
public enum NegotiationOutcome: Sendable {
    /// Send the A-ASSOCIATE-AC; the association is established with these parameters.
    case accept(AssociateAccept, NegotiatedAssociation)
    /// Send the A-ASSOCIATE-RJ and close.
    case reject(AssociateReject)
}

/// One accepted presentation context.
public struct AcceptedPresentationContext: Sendable, Hashable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntax: String { didSet { syntax = TransferSyntax(uid: transferSyntax) } }
    /// `transferSyntax` parsed once: every message's dataset on this context is read or written in it.
    public private(set) var syntax: TransferSyntax?
    /// The association requestor may act as SCU (issue requests) on this context.
    public var requestorIsSCU: Bool
    /// The association requestor may act as SCP (e.g. receive C-STORE sub-operations of a C-GET).
    public var requestorIsSCP: Bool

    public init(id: UInt8, abstractSyntax: String, transferSyntax: String, requestorIsSCU: Bool = true, requestorIsSCP: Bool = false) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntax = transferSyntax
        self.syntax = TransferSyntax(uid: transferSyntax)
        self.requestorIsSCU = requestorIsSCU
        self.requestorIsSCP = requestorIsSCP
    }
}

/// Parameters of an established association.
public struct NegotiatedAssociation: Sendable, Hashable {
    public var callingAETitle: String
    public var calledAETitle: String
    /// Accepted presentation contexts by ID.
    public var acceptedContexts: [UInt8: AcceptedPresentationContext]
    /// The peer's Maximum Length: the largest P-DATA-TF PDU length we may send. 0 = unlimited.
    public var peerMaxPDULength: UInt32
    /// The Maximum Length we advertised: the largest P-DATA-TF PDU length we accept.
    public var ourMaxPDULength: UInt32
    /// The negotiated asynchronous operations window (nil when not negotiated: synchronous).
    public var asyncOperationsWindow: AsyncOperationsWindow?
    public var peerImplementationClassUID: String?
    public var peerImplementationVersionName: String?
    /// The requestor's user identity, if it sent one (not verified here).
    public var userIdentity: UserIdentityRequest?
    /// The requestor's SOP class extended negotiation sub-items.
    public var extendedNegotiations: [ExtendedNegotiation]
    /// What was agreed per SOP class: the acceptor's service-class-application-information (ours on the SCP
    /// side, the peer's on the SCU side). A SOP class absent here negotiated nothing.
    public var agreedExtendedNegotiations: [String: [UInt8]]

    public init(
        callingAETitle: String,
        calledAETitle: String,
        acceptedContexts: [UInt8: AcceptedPresentationContext],
        peerMaxPDULength: UInt32,
        ourMaxPDULength: UInt32,
        asyncOperationsWindow: AsyncOperationsWindow? = nil,
        peerImplementationClassUID: String? = nil,
        peerImplementationVersionName: String? = nil,
        userIdentity: UserIdentityRequest? = nil,
        extendedNegotiations: [ExtendedNegotiation] = [],
        agreedExtendedNegotiations: [String: [UInt8]] = [:]
    ) {
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.acceptedContexts = acceptedContexts
        self.peerMaxPDULength = peerMaxPDULength
        self.ourMaxPDULength = ourMaxPDULength
        self.asyncOperationsWindow = asyncOperationsWindow
        self.peerImplementationClassUID = peerImplementationClassUID
        self.peerImplementationVersionName = peerImplementationVersionName
        self.userIdentity = userIdentity
        self.extendedNegotiations = extendedNegotiations
        self.agreedExtendedNegotiations = agreedExtendedNegotiations
    }

    /// The agreed extended negotiation byte `index` (0-based) of a SOP class: 0 when not negotiated.
    public func extendedNegotiationFlag(_ sopClassUID: String, byte index: Int) -> Bool {
        guard let info = agreedExtendedNegotiations[sopClassUID], index < info.count else { return false }
        return info[index] == 1
    }

    /// The association as seen by the requestor (our SCU side) once `accept` answered `request`.
    /// Contexts accepted with an ID or transfer syntax we did not propose are ignored.
    public init(requested request: AssociateRequest, accepted accept: AssociateAccept) {
        var proposals: [UInt8: PresentationContextProposal] = [:]
        for proposal in request.presentationContexts where proposals[proposal.id] == nil {
            proposals[proposal.id] = proposal
        }
        var replies: [String: RoleSelection] = [:]
        for role in accept.userInformation.roleSelections where replies[role.sopClassUID] == nil {
            replies[role.sopClassUID] = role
        }
        var proposedRoles: [String: RoleSelection] = [:]
        for role in request.userInformation.roleSelections where proposedRoles[role.sopClassUID] == nil {
            proposedRoles[role.sopClassUID] = role
        }
        var contexts: [UInt8: AcceptedPresentationContext] = [:]
        for result in accept.presentationContexts where result.isAccepted {
            guard let proposal = proposals[result.id], proposal.transferSyntaxes.contains(result.transferSyntax) else {
                continue
            }
            var scu = true
            var scp = false
            if let proposed = proposedRoles[proposal.abstractSyntax], let reply = replies[proposal.abstractSyntax] {
                scu = proposed.scuRole && reply.scuRole
                scp = proposed.scpRole && reply.scpRole
            }
            contexts[result.id] = AcceptedPresentationContext(
                id: result.id, abstractSyntax: proposal.abstractSyntax, transferSyntax: result.transferSyntax,
                requestorIsSCU: scu, requestorIsSCP: scp)
        }
        let window: AsyncOperationsWindow?
        if request.userInformation.asyncOperationsWindow != nil {
            window = accept.userInformation.asyncOperationsWindow
        } else {
            window = nil
        }
        self.init(
            callingAETitle: request.callingAETitle,
            calledAETitle: request.calledAETitle,
            acceptedContexts: contexts,
            peerMaxPDULength: accept.userInformation.maxPDULength ?? 0,
            ourMaxPDULength: request.userInformation.maxPDULength ?? 0,
            asyncOperationsWindow: window,
            peerImplementationClassUID: accept.userInformation.implementationClassUID,
            peerImplementationVersionName: accept.userInformation.implementationVersionName,
            userIdentity: request.userInformation.userIdentityRequest,
            extendedNegotiations: request.userInformation.extendedNegotiations,
            agreedExtendedNegotiations: Dictionary(accept.userInformation.extendedNegotiations.map { ($0.sopClassUID, $0.info) },
                                                   uniquingKeysWith: { first, _ in first })
        )
    }
}

/// Negotiates an incoming A-ASSOCIATE-RQ against `policy` (PS3.8 7.1, PS3.7 Annex D.3).
///
/// - Parameter activeAssociations: associations already established, not counting this one.
///   The request is rejected (transient, service-provider presentation, local-limit-exceeded)
///   when `activeAssociations >= policy.maxAssociations`.
public func negotiate(_ rq: AssociateRequest, policy: AssociationPolicy, activeAssociations: Int) -> NegotiationOutcome {
    if rq.protocolVersion & 0x0001 == 0 {
        return .reject(AssociateReject(result: .permanent, source: .serviceProviderACSE, reason: .protocolVersionNotSupported))
    }
    if rq.applicationContextName != UpperLayerUID.applicationContextName {
        return .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .applicationContextNameNotSupported))
    }
    if policy.strictCalledAETitle, rq.calledAETitle != policy.aeTitle {
        return .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .calledAETitleNotRecognized))
    }
    if let allowed = policy.allowedCallingAETitles, !allowed.contains(rq.callingAETitle) {
        return .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .callingAETitleNotRecognized))
    }
    if activeAssociations >= policy.maxAssociations {
        return .reject(AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: .localLimitExceeded))
    }

    let requestorInfo = rq.userInformation
    var proposedRoles: [String: RoleSelection] = [:]
    for role in requestorInfo.roleSelections where proposedRoles[role.sopClassUID] == nil {
        proposedRoles[role.sopClassUID] = role
    }

    var results: [PresentationContextResult] = []
    var accepted: [UInt8: AcceptedPresentationContext] = [:]
    var roleReplies: [RoleSelection] = []
    var repliedRoleClasses = Set<String>()
    var proposedExtended: [String: [UInt8]] = [:]
    for item in requestorInfo.extendedNegotiations where proposedExtended[item.sopClassUID] == nil {
        proposedExtended[item.sopClassUID] = item.info
    }
    var agreed: [String: [UInt8]] = [:]
    var extendedReplies: [ExtendedNegotiation] = []
    for proposal in rq.presentationContexts {
        // Presentation context IDs are odd integers (PS3.8 9.3.2.2).
        guard proposal.id & 1 == 1 else {
            results.append(PresentationContextResult(id: proposal.id, result: .noReason, transferSyntax: ""))
            continue
        }
        guard let support = policy.abstractSyntaxes(proposal.abstractSyntax) else {
            results.append(PresentationContextResult(id: proposal.id, result: .abstractSyntaxNotSupported, transferSyntax: ""))
            continue
        }
        var requestorIsSCU = true
        var requestorIsSCP = false
        var reply: RoleSelection?
        if let proposed = proposedRoles[proposal.abstractSyntax] {
            reply = RoleSelection(
                sopClassUID: proposal.abstractSyntax,
                scuRole: proposed.scuRole && support.acceptsRequestorSCU,
                scpRole: proposed.scpRole && support.acceptsRequestorSCP
            )
            requestorIsSCU = reply?.scuRole ?? true
            requestorIsSCP = reply?.scpRole ?? false
        }
        // A context the requestor takes only to receive (a C-GET SCU's storage contexts): a native syntax first,
        // since we send on it. With the compressed syntax it listed first, `arca get` and `getscu +xs` received
        // nothing from Arca (every sub-operation failed: the archive cannot make JPEG Lossless).
        guard let transferSyntax = support.transferSyntaxes.choose(from: proposal.transferSyntaxes,
                                                                   nativeFirst: requestorIsSCP && !requestorIsSCU) else {
            results.append(PresentationContextResult(id: proposal.id, result: .transferSyntaxesNotSupported, transferSyntax: ""))
            continue
        }
        if let reply, repliedRoleClasses.insert(proposal.abstractSyntax).inserted {
            roleReplies.append(reply)
        }
        if let proposedInfo = proposedExtended[proposal.abstractSyntax], agreed[proposal.abstractSyntax] == nil,
           let answer = support.extendedNegotiation?(proposedInfo) {
            agreed[proposal.abstractSyntax] = answer
            extendedReplies.append(ExtendedNegotiation(sopClassUID: proposal.abstractSyntax, info: answer))
        }
        results.append(PresentationContextResult(id: proposal.id, result: .acceptance, transferSyntax: transferSyntax))
        accepted[proposal.id] = AcceptedPresentationContext(
            id: proposal.id, abstractSyntax: proposal.abstractSyntax, transferSyntax: transferSyntax,
            requestorIsSCU: requestorIsSCU, requestorIsSCP: requestorIsSCP)
    }

    var window: AsyncOperationsWindow?
    if let proposed = requestorInfo.asyncOperationsWindow {
        window = AsyncOperationsWindow(
            maxInvoked: combineWindow(proposed.maxInvoked, policy.asyncOperationsWindow.maxInvoked),
            maxPerformed: combineWindow(proposed.maxPerformed, policy.asyncOperationsWindow.maxPerformed)
        )
    }

    let acceptorInfo = UserInformation(
        maxPDULength: policy.maxPDULength,
        implementationClassUID: policy.implementationClassUID,
        implementationVersionName: policy.implementationVersionName,
        asyncOperationsWindow: window,
        roleSelections: roleReplies,
        // SOP class extended negotiation: answered where a service says what it supports (PS3.7 D.3.3.5);
        // common extended negotiation is not answered (defaults apply).
        extendedNegotiations: extendedReplies
        // User identity: no 0x59 response (allowed by PS3.7 D.3.3.7 even if one was requested).
    )
    let ac = AssociateAccept(
        protocolVersion: 1,
        calledAETitle: rq.calledAETitle,
        callingAETitle: rq.callingAETitle,
        applicationContextName: UpperLayerUID.applicationContextName,
        presentationContexts: results,
        userInformation: acceptorInfo
    )
    let association = NegotiatedAssociation(
        callingAETitle: rq.callingAETitle,
        calledAETitle: rq.calledAETitle,
        acceptedContexts: accepted,
        peerMaxPDULength: requestorInfo.maxPDULength ?? 0,
        ourMaxPDULength: policy.maxPDULength,
        asyncOperationsWindow: window,
        peerImplementationClassUID: requestorInfo.implementationClassUID,
        peerImplementationVersionName: requestorInfo.implementationVersionName,
        userIdentity: requestorInfo.userIdentityRequest,
        extendedNegotiations: requestorInfo.extendedNegotiations,
        agreedExtendedNegotiations: agreed
    )
    return .accept(ac, association)
}

/// Window negotiation where 0 means unlimited: the smaller of the two limits.
private func combineWindow(_ proposed: UInt16, _ ours: UInt16) -> UInt16 {
    if proposed == 0 { return ours }
    if ours == 0 { return proposed }
    return min(proposed, ours)
}
