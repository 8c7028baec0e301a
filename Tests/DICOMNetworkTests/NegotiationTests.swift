import DICOM
import NIOCore
import Testing

@testable import DICOMNetwork

private let verification = "1.2.840.10008.1.1"
private let ctImage = "1.2.840.10008.5.1.4.1.1.2"
private let mrImage = "1.2.840.10008.5.1.4.1.1.4"
private let implicitLE = "1.2.840.10008.1.2"
private let explicitLE = "1.2.840.10008.1.2.1"
private let explicitBE = "1.2.840.10008.1.2.2"
private let deflated = "1.2.840.10008.1.2.1.99"
private let jpegBaseline = "1.2.840.10008.1.2.4.50"
private let jpeg2000 = "1.2.840.10008.1.2.4.91"

private func storePolicy(_ configure: (inout AssociationPolicy) -> Void = { _ in }) -> AssociationPolicy {
    var policy = AssociationPolicy(aeTitle: "STORE_SCP", acceptedAbstractSyntaxes: [verification, ctImage])
    configure(&policy)
    return policy
}

/// The store policy with a different answer for each of its SOP classes.
private func storePolicy(support configure: (inout AbstractSyntaxSupport) -> Void) -> AssociationPolicy {
    var support = AbstractSyntaxSupport(transferSyntaxes: .storage, acceptsRequestorSCP: true)
    configure(&support)
    return AssociationPolicy(aeTitle: "STORE_SCP", acceptedAbstractSyntaxes: [verification, ctImage], support: support)
}

private func request(
    called: String = "STORE_SCP", calling: String = "MODALITY",
    contexts: [PresentationContextProposal] = [PresentationContextProposal(id: 1, abstractSyntax: verification, transferSyntaxes: [implicitLE])],
    _ configure: (inout AssociateRequest) -> Void = { _ in }
) -> AssociateRequest {
    var rq = AssociateRequest(calledAETitle: called, callingAETitle: calling, presentationContexts: contexts)
    configure(&rq)
    return rq
}

private func accepted(
    _ outcome: NegotiationOutcome, sourceLocation: SourceLocation = #_sourceLocation
) -> (AssociateAccept, NegotiatedAssociation)? {
    switch outcome {
    case .accept(let ac, let association): return (ac, association)
    case .reject(let rj):
        Issue.record("unexpected rejection: \(rj)", sourceLocation: sourceLocation)
        return nil
    }
}

private func rejected(_ outcome: NegotiationOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> AssociateReject? {
    switch outcome {
    case .accept:
        Issue.record("unexpected acceptance", sourceLocation: sourceLocation)
        return nil
    case .reject(let rj): return rj
    }
}

/// Negotiates one context proposing `syntaxes` and returns its result.
private func resultFor(
    _ syntaxes: [String], abstractSyntax: String = ctImage, policy: AssociationPolicy = storePolicy()
) -> PresentationContextResult? {
    let rq = request(contexts: [PresentationContextProposal(id: 1, abstractSyntax: abstractSyntax, transferSyntaxes: syntaxes)])
    return accepted(negotiate(rq, policy: policy, activeAssociations: 0))?.0.presentationContexts.first
}

@Suite struct NegotiationTests {
    @Test func acceptsTheDCMTKEchoRequest() throws {
        var bytes = ByteBufferAllocator().buffer(capacity: 256)
        bytes.writeBytes(dcmtkEchoAssociateRQ.hexDecoded)
        guard case .associateRQ(let rq)? = try PDU.decode(from: &bytes, limits: PDULimits(maxDataPDULength: 16384)) else {
            Issue.record("not decoded")
            return
        }
        guard let (ac, association) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 3)) else { return }
        #expect(ac.calledAETitle == "STORE_SCP")
        #expect(ac.callingAETitle == "ECHOSCU")
        #expect(ac.applicationContextName == UpperLayerUID.applicationContextName)
        #expect(ac.presentationContexts == [PresentationContextResult(id: 1, result: .acceptance, transferSyntax: implicitLE)])
        #expect(ac.userInformation.maxPDULength == AssociationPolicy.defaultMaxPDULength)
        #expect(ac.userInformation.implementationClassUID == "1.2.826.0.1.3680043.10.1432.1")
        #expect(ac.userInformation.implementationVersionName == "ARCA_010")
        #expect(ac.userInformation.asyncOperationsWindow == nil)
        #expect(ac.userInformation.roleSelections.isEmpty)
        #expect(association.peerMaxPDULength == 16384)
        #expect(association.peerImplementationVersionName == "OFFIS_DCMTK_367")
        #expect(association.acceptedContexts[1] == AcceptedPresentationContext(
            id: 1, abstractSyntax: verification, transferSyntax: implicitLE, requestorIsSCU: true, requestorIsSCP: false))

        // The A-ASSOCIATE-AC survives the codec.
        var out = ByteBufferAllocator().buffer(capacity: 256)
        try PDU.associateAC(ac).encode(into: &out)
        #expect(try PDU.decode(from: &out, limits: PDULimits(maxDataPDULength: 16384)) == .associateAC(ac))
    }

    @Test func calledAETitleMismatch() {
        let rj = rejected(negotiate(request(called: "OTHER"), policy: storePolicy(), activeAssociations: 0))
        #expect(rj == AssociateReject(result: .permanent, source: .serviceUser, reason: .calledAETitleNotRecognized))
        #expect(rj?.reason.rawValue == 7)
        let lax = storePolicy { $0.strictCalledAETitle = false }
        #expect(accepted(negotiate(request(called: "OTHER"), policy: lax, activeAssociations: 0)) != nil)
    }

    @Test func callingAETitleNotAllowed() {
        let policy = storePolicy { $0.allowedCallingAETitles = ["CT1", "MR1"] }
        let rj = rejected(negotiate(request(calling: "HACKER"), policy: policy, activeAssociations: 0))
        #expect(rj == AssociateReject(result: .permanent, source: .serviceUser, reason: .callingAETitleNotRecognized))
        #expect(rj?.reason.rawValue == 3)
        #expect(accepted(negotiate(request(calling: "CT1"), policy: policy, activeAssociations: 0)) != nil)
    }

    @Test func wrongApplicationContext() {
        let rq = request { $0.applicationContextName = "1.2.3.4" }
        let rj = rejected(negotiate(rq, policy: storePolicy(), activeAssociations: 0))
        #expect(rj == AssociateReject(result: .permanent, source: .serviceUser, reason: .applicationContextNameNotSupported))
        #expect(rj?.reason.rawValue == 2)
    }

    @Test func protocolVersionBitZero() {
        let rj = rejected(negotiate(request { $0.protocolVersion = 2 }, policy: storePolicy(), activeAssociations: 0))
        #expect(rj == AssociateReject(result: .permanent, source: .serviceProviderACSE, reason: .protocolVersionNotSupported))
        #expect(rj?.source.rawValue == 2 && rj?.reason.rawValue == 2)
        // Other bits are ignored as long as bit 0 is set.
        #expect(accepted(negotiate(request { $0.protocolVersion = 3 }, policy: storePolicy(), activeAssociations: 0)) != nil)
    }

    @Test func tooManyAssociations() {
        let policy = storePolicy { $0.maxAssociations = 2 }
        #expect(accepted(negotiate(request(), policy: policy, activeAssociations: 1)) != nil)
        let rj = rejected(negotiate(request(), policy: policy, activeAssociations: 2))
        #expect(rj == AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: .localLimitExceeded))
        #expect(rj?.result.rawValue == 2 && rj?.source.rawValue == 3 && rj?.reason.rawValue == 2)
    }

    @Test func abstractSyntaxNotAccepted() {
        #expect(resultFor([explicitLE], abstractSyntax: mrImage)?.result == .abstractSyntaxNotSupported)
        #expect(resultFor([explicitLE], abstractSyntax: mrImage)?.result.rawValue == 3)
    }

    @Test func noAcceptableTransferSyntax() {
        #expect(resultFor(["1.2.3.4.5"])?.result == .transferSyntaxesNotSupported)  // private TS refused by default
        #expect(resultFor([])?.result == .transferSyntaxesNotSupported)
        let noEncapsulated = storePolicy(support: { $0.transferSyntaxes.acceptsEncapsulated = false })
        #expect(resultFor([jpegBaseline], policy: noEncapsulated)?.result == .transferSyntaxesNotSupported)
        #expect(resultFor([jpegBaseline], policy: noEncapsulated)?.result.rawValue == 4)
        // A native syntax left out of the preference list is not taken as "encapsulated".
        let implicitOnly = storePolicy(support: { $0.transferSyntaxes.preference = [implicitLE] })
        #expect(resultFor([explicitLE, explicitBE], policy: implicitOnly)?.result == .transferSyntaxesNotSupported)
    }

    @Test func transferSyntaxPreference() {
        #expect(resultFor([implicitLE, explicitLE])?.transferSyntax == explicitLE)
        #expect(resultFor([deflated, explicitBE])?.transferSyntax == explicitBE)
        #expect(resultFor([deflated])?.transferSyntax == deflated)
        // Encapsulated syntaxes are accepted as proposed, ahead of native fallbacks in the same context.
        #expect(resultFor([implicitLE, jpegBaseline])?.transferSyntax == jpegBaseline)
        // The first proposed encapsulated syntax.
        #expect(resultFor([jpeg2000, jpegBaseline])?.transferSyntax == jpeg2000)
        #expect(resultFor(["1.2.3.4.5", jpegBaseline])?.transferSyntax == jpegBaseline)
        // An injected predicate decides which encapsulated syntaxes are known.
        let onlyJPEG = storePolicy(support: { $0.transferSyntaxes.isKnownTransferSyntax = { $0 == jpegBaseline } })
        #expect(resultFor([jpeg2000, jpegBaseline], policy: onlyJPEG)?.transferSyntax == jpegBaseline)
        // A custom preference order.
        let implicitFirst = storePolicy(support: { $0.transferSyntaxes.preference = [implicitLE, explicitLE] })
        #expect(resultFor([explicitLE, implicitLE], policy: implicitFirst)?.transferSyntax == implicitLE)
    }

    @Test func mixedContexts() {
        let rq = request(contexts: [
            PresentationContextProposal(id: 1, abstractSyntax: verification, transferSyntaxes: [implicitLE]),
            PresentationContextProposal(id: 3, abstractSyntax: mrImage, transferSyntaxes: [explicitLE]),
            PresentationContextProposal(id: 5, abstractSyntax: ctImage, transferSyntaxes: ["9.9"]),
            PresentationContextProposal(id: 7, abstractSyntax: ctImage, transferSyntaxes: [jpegBaseline]),
            PresentationContextProposal(id: 8, abstractSyntax: ctImage, transferSyntaxes: [explicitLE]),  // even ID
        ])
        guard let (ac, association) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac.presentationContexts.map(\.id) == [1, 3, 5, 7, 8])
        #expect(ac.presentationContexts.map(\.result) == [.acceptance, .abstractSyntaxNotSupported, .transferSyntaxesNotSupported, .acceptance, .noReason])
        #expect(Set(association.acceptedContexts.keys) == [1, 7])
        #expect(association.acceptedContexts[7]?.transferSyntax == jpegBaseline)
        #expect(association.acceptedContexts[7]?.abstractSyntax == ctImage)
    }

    @Test func roleSelection() {
        let contexts = [
            PresentationContextProposal(id: 1, abstractSyntax: ctImage, transferSyntaxes: [explicitLE]),
            PresentationContextProposal(id: 3, abstractSyntax: verification, transferSyntaxes: [implicitLE]),
        ]
        // C-GET style: the requestor proposes to be SCP for CT storage; a role item for a
        // SOP class not accepted (MR) gets no reply.
        let rq = request(contexts: contexts) {
            $0.userInformation.roleSelections = [
                RoleSelection(sopClassUID: ctImage, scuRole: false, scpRole: true),
                RoleSelection(sopClassUID: mrImage, scuRole: true, scpRole: true),
            ]
        }
        guard let (ac, association) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac.userInformation.roleSelections == [RoleSelection(sopClassUID: ctImage, scuRole: false, scpRole: true)])
        #expect(association.acceptedContexts[1]?.requestorIsSCP == true)
        #expect(association.acceptedContexts[1]?.requestorIsSCU == false)
        #expect(association.acceptedContexts[3]?.requestorIsSCU == true)  // default roles
        #expect(association.acceptedContexts[3]?.requestorIsSCP == false)

        // Both roles proposed: we accept the requestor as SCU (we are the storage SCP) and as SCP.
        let both = request(contexts: contexts) {
            $0.userInformation.roleSelections = [RoleSelection(sopClassUID: ctImage, scuRole: true, scpRole: true)]
        }
        guard let (ac2, _) = accepted(negotiate(both, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac2.userInformation.roleSelections == [RoleSelection(sopClassUID: ctImage, scuRole: true, scpRole: true)])

        // A policy that refuses to act as SCU towards the requestor.
        let noSCP = storePolicy(support: { $0.acceptsRequestorSCP = false })
        guard let (ac3, association3) = accepted(negotiate(both, policy: noSCP, activeAssociations: 0)) else { return }
        #expect(ac3.userInformation.roleSelections == [RoleSelection(sopClassUID: ctImage, scuRole: true, scpRole: false)])
        #expect(association3.acceptedContexts[1]?.requestorIsSCP == false)
    }

    @Test func asyncOperationsWindow() {
        // Not proposed: not answered.
        guard let (ac0, a0) = accepted(negotiate(request(), policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac0.userInformation.asyncOperationsWindow == nil)
        #expect(a0.asyncOperationsWindow == nil)
        // Proposed unlimited, we support (1, 1).
        let unlimited = request { $0.userInformation.asyncOperationsWindow = AsyncOperationsWindow(maxInvoked: 0, maxPerformed: 0) }
        guard let (ac1, a1) = accepted(negotiate(unlimited, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac1.userInformation.asyncOperationsWindow == .synchronous)
        #expect(a1.asyncOperationsWindow == .synchronous)
        // Proposed (5, 3), we support (10, unlimited).
        let some = request { $0.userInformation.asyncOperationsWindow = AsyncOperationsWindow(maxInvoked: 5, maxPerformed: 3) }
        let wide = storePolicy { $0.asyncOperationsWindow = AsyncOperationsWindow(maxInvoked: 10, maxPerformed: 0) }
        guard let (ac2, _) = accepted(negotiate(some, policy: wide, activeAssociations: 0)) else { return }
        #expect(ac2.userInformation.asyncOperationsWindow == AsyncOperationsWindow(maxInvoked: 5, maxPerformed: 3))
    }

    @Test func userIdentityIsAcceptedWithoutResponse() {
        let identity = UserIdentityRequest(type: .username, positiveResponseRequested: true, primaryField: Array("alice".utf8))
        let rq = request { $0.userInformation.userIdentityRequest = identity }
        guard let (ac, association) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac.userInformation.userIdentityResponse == nil)
        #expect(association.userIdentity == identity)
    }

    @Test func extendedNegotiationIsRecordedNotAnswered() {
        let rq = request {
            $0.userInformation.extendedNegotiations = [ExtendedNegotiation(sopClassUID: ctImage, info: [1])]
            $0.userInformation.commonExtendedNegotiations = [CommonExtendedNegotiation(sopClassUID: ctImage, serviceClassUID: "1.2.840.10008.4.2")]
        }
        guard let (ac, association) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 0)) else { return }
        #expect(ac.userInformation.extendedNegotiations.isEmpty)
        #expect(ac.userInformation.commonExtendedNegotiations.isEmpty)
        #expect(association.extendedNegotiations == [ExtendedNegotiation(sopClassUID: ctImage, info: [1])])
    }

    /// A service's extended negotiation answer is sent back and recorded as agreed.
    @Test func extendedNegotiationIsAnsweredByTheService() {
        let find = "1.2.840.10008.5.1.4.1.2.2.1"
        let support = AbstractSyntaxSupport(transferSyntaxes: .uncompressed) { proposed in proposed.map { $0 == 1 && true ? 1 : 0 } }
        let policy = AssociationPolicy(aeTitle: "STORE_SCP", acceptedAbstractSyntaxes: [find], support: support)
        let rq = request(contexts: [PresentationContextProposal(id: 1, abstractSyntax: find, transferSyntaxes: [explicitLE, jpegBaseline])]) {
            $0.userInformation.extendedNegotiations = [ExtendedNegotiation(sopClassUID: find, info: [1, 0, 1])]
        }
        guard let (ac, association) = accepted(negotiate(rq, policy: policy, activeAssociations: 0)) else { return }
        #expect(ac.presentationContexts.first?.transferSyntax == explicitLE)  // query models: uncompressed only
        #expect(ac.userInformation.extendedNegotiations == [ExtendedNegotiation(sopClassUID: find, info: [1, 0, 1])])
        #expect(association.extendedNegotiationFlag(find, byte: 0))
        #expect(!association.extendedNegotiationFlag(find, byte: 1))
        #expect(!association.extendedNegotiationFlag(find, byte: 7))
    }

    @Test func scuRequestDefaults() {
        let rq = AssociateRequest(
            calledAETitle: "PACS", callingAETitle: "ARCA",
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [verification, ctImage, mrImage]))
        #expect(rq.protocolVersion == 1)
        #expect(rq.applicationContextName == "1.2.840.10008.3.1.1.1")
        #expect(rq.presentationContexts.map(\.id) == [1, 3, 5])
        #expect(rq.presentationContexts.allSatisfy { $0.transferSyntaxes == [explicitLE, implicitLE] })
        #expect(rq.userInformation.implementationClassUID == DICOMImplementation.classUID)
        #expect(rq.userInformation.implementationVersionName == DICOMImplementation.versionName)
        #expect(rq.userInformation.maxPDULength == AssociationPolicy.defaultMaxPDULength)
        #expect(rq.userInformation.asyncOperationsWindow == nil)
        #expect(DICOMImplementation.classUID == "1.2.826.0.1.3680043.10.1432.1")
        #expect(DICOMImplementation.versionName == "ARCA_010")
    }

    @Test func scuSideViewOfTheAssociation() {
        let rq = AssociateRequest(
            calledAETitle: "STORE_SCP", callingAETitle: "ARCA",
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [verification, ctImage, mrImage]),
            maxPDULength: 32768,
            roleSelections: [RoleSelection(sopClassUID: ctImage, scuRole: true, scpRole: true)])
        guard let (ac, server) = accepted(negotiate(rq, policy: storePolicy(), activeAssociations: 0)) else { return }
        let client = NegotiatedAssociation(requested: rq, accepted: ac)
        #expect(client.acceptedContexts == server.acceptedContexts)
        #expect(client.peerMaxPDULength == AssociationPolicy.defaultMaxPDULength)
        #expect(client.ourMaxPDULength == 32768)
        #expect(server.peerMaxPDULength == 32768)
        #expect(client.peerImplementationClassUID == DICOMImplementation.classUID)
    }

    @Test func policyDecoderLimitsMatchAdvertisedLength() {
        let policy = storePolicy { $0.maxPDULength = 131072 }
        #expect(policy.decoderLimits.maxDataPDULength == 131072)
        #expect(policy.decoderLimits.maxAssociatePDULength == 1 << 20)
    }

    @Test func uidSyntax() {
        #expect(UpperLayerUID.isValidUID("1.2.840.10008.1.2.4.50"))
        #expect(UpperLayerUID.isValidUID("1.2.0.3"))
        #expect(!UpperLayerUID.isValidUID(""))
        #expect(!UpperLayerUID.isValidUID("1..2"))
        #expect(!UpperLayerUID.isValidUID("1.2."))
        #expect(!UpperLayerUID.isValidUID("1.02"))
        #expect(!UpperLayerUID.isValidUID("1.2a"))
        #expect(!UpperLayerUID.isValidUID(String(repeating: "1", count: 65)))
    }
}

extension String {
    /// Bytes of a hex string (whitespace ignored).
    fileprivate var hexDecoded: [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: continue
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}
