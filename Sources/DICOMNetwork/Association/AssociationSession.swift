import DICOM
import Logging
import NIOCore
import NIOSSL

/// One association on the SCP side, from A-ASSOCIATE-RQ to release or abort: negotiation from the service
/// registry, DIMSE messages assembled from PDVs, each request handed to the service that performs it.
///
/// The session keeps reading while operations run. A streamed request (C-STORE) is fed to its sink by the
/// reading loop itself, so the socket's back-pressure follows the disk; a collected request (C-FIND, C-MOVE,
/// C-GET, N-ACTION…) runs in a task of its own, so a C-CANCEL, or the responses to a C-GET's sub-operations,
/// still reach it.
struct AssociationSession {
    let channel: NIOAsyncChannel<PDU, PDU>
    let configuration: SCPConfiguration
    let services: DIMSEServiceRegistry
    let registry: AssociationRegistry
    /// The session's thread (its channel's event loop), and whether the session may block it.
    let thread: AssociationThread
    let logger: Logger

    /// The dataset being received, and what it is for.
    private enum Incoming {
        case none
        /// Streaming into a storage sink (or read and dropped when the request was refused: `sink` nil).
        case streamed(command: CommandSet, contextID: UInt8, sink: (any InstanceSink)?, refusal: StoreOutcome?)
        /// Collected for a service that runs once it is complete.
        case collected(DIMSERequest, service: any CollectingDIMSEService, bytes: ByteBuffer)
        /// Read and dropped; then `status` answers the request (a dataset too large, an unknown operation…).
        case refused(command: CommandSet, contextID: UInt8, outcome: StoreOutcome)
        /// The dataset of a response from the requestor (nothing waits for it): read and dropped.
        case ignored
    }

    private struct ProtocolViolation: Error, CustomStringConvertible {
        let abort: Abort
        let description: String
        init(_ description: String, reason: Abort.Reason = .unexpectedPDU) {
            self.abort = Abort(source: .serviceProvider, reason: reason)
            self.description = description
        }
    }

    func run() async {
        let peer = channel.channel.remoteAddress?.description ?? "?"
        do {
            try await channel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                try await serve(&iterator, outbound, peer: peer)
            }
        } catch let error as NIOSSLError {
            // A plain client on the TLS port, a certificate we do not trust, no certificate where one is required:
            // only this connection ends. Recorded as ATNA's security alert would be.
            logger.warning("[TLS] \(peer): \(error)")
            configuration.audit?.record(AuditRecord(event: .association, outcome: .refused, who: nil, address: peer, target: nil,
                                                    status: nil, details: ["tls": "true", "reason": "TLS: \(error)"]))
        } catch {
            logger.error("[ERROR] \(peer): \(error)")
        }
    }

    private func serve(_ inbound: inout NIOAsyncChannelInboundStream<PDU>.AsyncIterator,
                       _ outbound: NIOAsyncChannelOutboundWriter<PDU>, peer: String) async throws {
        // Before the association: only an A-ASSOCIATE-RQ is acceptable.
        let first: PDU?
        do { first = try await inbound.next() } catch let error as PDUError {
            logger.warning("[ABORT] \(peer): \(error)")
            try? await outbound.write(.abort(error.abort))
            return
        }
        guard let first else { return }
        guard case .associateRQ(let rq) = first else {
            logger.warning("[ABORT] \(peer): \(first.type) before A-ASSOCIATE-RQ")
            try? await outbound.write(.abort(Abort(source: .serviceProvider, reason: .unexpectedPDU)))
            return
        }
        let slot = registry.reserve()
        defer { registry.release(slot) }
        // The handshake is over once a decrypted PDU arrived, so the client certificate (if any) is known.
        let identity = PeerIdentity(
            address: peer, host: channel.channel.remoteAddress?.ipAddress,
            certificateSubject: configuration.tls == nil ? nil : await DICOMTLS.peerSubject(on: channel.channel),
            isTLS: configuration.tls != nil)
        let decision: NegotiationOutcome
        let refusal = configuration.access.admission(callingAETitle: rq.callingAETitle, peer: identity)
        if refusal != nil {
            // One reason on the wire whichever rule failed: answering a configured title from the wrong address
            // differently (reason 1) told a prober which titles exist. The log and the audit say which it was.
            decision = .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .callingAETitleNotRecognized))
        } else {
            decision = negotiate(rq, policy: configuration.policy, activeAssociations: slot.othersActive)
        }
        switch decision {
        case .reject(let rj):
            let why = refusal?.description ?? rj.reasonDescription
            logger.notice("[REJECT] \(rq.callingAETitle) -> \(rq.calledAETitle) from \(peer): \(why)")
            audit(.association, .refused, rq.callingAETitle, identity, target: rq.calledAETitle, status: nil,
                  ["reason": why, "tls": "\(identity.isTLS)"])
            try await outbound.write(.associateRJ(rj))
            return
        case .accept(let ac, let association):
            registry.activate(slot)
            audit(.association, .success, rq.callingAETitle, identity, target: rq.calledAETitle, status: nil, ["tls": "\(identity.isTLS)"])
            try await outbound.write(.associateAC(ac))
            logger.info("[CONNECT] \(association.callingAETitle) -> \(association.calledAETitle)\(identity.isTLS ? " (TLS)" : "") (active: \(registry.active))")
            let writer = MessageWriter(outbound: outbound, peerMaxPDULength: association.peerMaxPDULength)
            try await established(association, peer: identity, &inbound, writer)
        }
    }

    private func audit(_ event: AuditRecord.Event, _ outcome: AuditRecord.Outcome, _ who: String, _ peer: PeerIdentity,
                       target: String?, status: String?, _ details: [String: String]) {
        configuration.audit?.record(AuditRecord(event: event, outcome: outcome, who: who, address: peer.address,
                                                certificateSubject: peer.certificateSubject, target: target,
                                                status: status, details: details))
    }

    /// The audit record of a request's final response.
    private func auditResponse(_ command: CommandSet, status: DIMSEStatus, response: CommandSet?, dataSet: DataSet?,
                               subject: StoreOutcome.Subject? = nil, _ association: NegotiatedAssociation, _ peer: PeerIdentity) {
        guard configuration.audit != nil, let field = command.commandField else { return }
        let event: AuditRecord.Event
        var details: [String: String] = [:]
        switch field {
        case .cStoreRQ: event = .store
        case .cFindRQ: event = .query
        case .cMoveRQ, .cGetRQ: event = .retrieve
        case .nActionRQ: event = .commitment
        case .cEchoRQ: event = .verification
        default: return
        }
        if let subject {
            details["patient_id"] = subject.patientID
            details["study"] = subject.studyInstanceUID
        }
        details["operation"] = "\(field)"
        if let sopClass = command.affectedSOPClassUID { details["sop_class"] = sopClass }
        if let instance = command.affectedSOPInstanceUID { details["sop_instance"] = instance }
        if field == .cMoveRQ, let destination = command.dataSet.string(.moveDestination) { details["destination"] = destination }
        if let dataSet {
            // The identifier's keys say whose data was asked for (ATNA's participant object: patient, study).
            if let level = dataSet.string(.queryRetrieveLevel) { details["level"] = level }
            if let id = dataSet.string(.patientID), !id.isEmpty { details["patient_id"] = id }
            if let study = dataSet.string(.studyInstanceUID), !study.isEmpty { details["study"] = study }
            if let accession = dataSet.string(.accessionNumber), !accession.isEmpty { details["accession"] = accession }
        }
        if let response {
            if let n = response.dataSet.int(.numberOfCompletedSubOperations) { details["completed"] = "\(n)" }
            if let n = response.dataSet.int(.numberOfFailedSubOperations) { details["failed"] = "\(n)" }
            if let comment = response.dataSet.string(.errorComment) { details["comment"] = comment }
        }
        audit(event, status.auditOutcome, association.callingAETitle, peer, target: association.calledAETitle,
              status: status.hex, details)
    }

    private func established(_ association: NegotiatedAssociation, peer: PeerIdentity,
                             _ inbound: inout NIOAsyncChannelInboundStream<PDU>.AsyncIterator,
                             _ writer: MessageWriter) async throws {
        let calling = association.callingAETitle
        let router = ResponseRouter()
        let window = association.asyncOperationsWindow ?? .synchronous
        let operations = OperationTable(window: Int(window.maxInvoked))
        let messageIDs = MessageIDs()
        var assembler = MessageAssembler(maxDataSetLength: configuration.maxObjectSize)
        var incoming = Incoming.none

        func abandonIncoming() async {
            if case .streamed(_, _, let sink?, _) = incoming { await sink.cancel() }
            incoming = .none
            assembler.reset()
        }

        // A discarding group: each operation's task is freed as it ends. A plain task group keeps every finished
        // child until its result is read, so an association answering 3,000 C-FINDs held ~40 MB of finished
        // tasks until it ended (and paid a page fault for each of their fresh pages).
        let released = await withDiscardingTaskGroup { running -> Bool in
            var released = false
            defer {
                // Ending any other way than a release: what still runs is cancelled (the group then waits for it to
                // stop). Either way requests of ours can no longer be answered.
                if !released {
                    operations.cancelAll()
                    running.cancelAll()
                }
                router.close(DIMSEError(released ? "the requestor released the association" : "the association ended"))
            }
            do {
                while let pdu = try await inbound.next() {
                    switch pdu {
                    case .dataTF(let data):
                        for pdv in data.pdvs {
                            guard association.acceptedContexts[pdv.contextID] != nil else {
                                throw ProtocolViolation("PDV on presentation context \(pdv.contextID), which was not accepted",
                                                        reason: .invalidPDUParameterValue)
                            }
                            let event: MessageAssembler.Event?
                            do { event = try assembler.feed(pdv) } catch let violation as MessageAssembler.Violation {
                                throw ProtocolViolation(violation.description, reason: violation.reason)
                            }
                            switch event {
                            case nil:
                                continue
                            case .command(let command, let contextID, let expectsDataSet)?:
                                incoming = try await received(command, contextID: contextID, expectsDataSet: expectsDataSet,
                                                              association, peer: peer, writer, router, operations, messageIDs, &running)
                            case .dataSet(let bytes, _, let isLast)?:
                                incoming = try await dataSetFragment(bytes, isLast: isLast, incoming, association, peer: peer, writer, router,
                                                                     operations, messageIDs, &running)
                            }
                        }
                    case .releaseRQ:
                        await abandonIncoming()
                        // Requests of ours can no longer be answered (a storage commitment then reports on a new
                        // association); operations still running answer first (the group waits for them when
                        // this returns); then the release is confirmed.
                        released = true
                        return true
                    case .abort(let abort):
                        await abandonIncoming()
                        logger.notice("[ABORT] \(calling) aborted the association (\(abort.reason))")
                        return false
                    case .associateRQ, .associateAC, .associateRJ, .releaseRP, .encoded:
                        throw ProtocolViolation("unexpected \(pdu.type) on an established association")
                    }
                }
                await abandonIncoming()
                logger.notice("[ABORT] \(calling) closed the connection without releasing")
            } catch let violation as ProtocolViolation {
                await abandonIncoming()
                logger.warning("[ABORT] \(calling): \(violation.description)")
                try? await writer.write(.abort(violation.abort))
            } catch let error as PDUError {
                await abandonIncoming()
                logger.warning("[ABORT] \(calling): \(error)")
                try? await writer.write(.abort(error.abort))
            } catch {
                await abandonIncoming()
                logger.error("[ERROR] \(calling): \(error)")
                try? await writer.write(.abort(Abort(source: .serviceProvider, reason: .notSpecified)))
            }
            return false
        }
        // An operation that aborted the association while it drained (a retrieve whose file failed midway) has
        // ended it: no release follows the A-ABORT.
        guard released, !writer.hasAborted else { return }
        try await writer.write(.releaseRP)
        logger.info("[RELEASE] \(calling) disconnected (active: \(registry.active - 1))")
    }

    /// A complete command from the requestor: a response to one of our requests, a C-CANCEL, or a request
    /// for a service. Returns what its dataset (if any) is for.
    private func received(_ command: CommandSet, contextID: UInt8, expectsDataSet: Bool, _ association: NegotiatedAssociation,
                          peer: PeerIdentity, _ writer: MessageWriter, _ router: ResponseRouter, _ operations: OperationTable,
                          _ messageIDs: MessageIDs, _ running: inout DiscardingTaskGroup) async throws -> Incoming {
        guard let context = association.acceptedContexts[contextID], let field = command.commandField else {
            throw ProtocolViolation("command on an unknown presentation context")
        }
        if field.isResponse {
            if !router.deliver(command) {
                logger.warning("[DIMSE] \(association.callingAETitle): unexpected \(field) (message \(command.messageIDBeingRespondedTo ?? 0)) ignored")
            }
            return expectsDataSet ? .ignored : .none
        }
        if field == .cCancelRQ {
            let target = command.messageIDBeingRespondedTo ?? 0
            if operations.cancel(target) { logger.info("[C-CANCEL] \(association.callingAETitle) cancels message \(target)") }
            return expectsDataSet ? .ignored : .none
        }
        let signal = CancellationSignal()
        guard operations.start(command.messageID ?? 0, signal) else {
            throw ProtocolViolation("more outstanding operations than the negotiated window (\(operations.window))")
        }
        let request = DIMSERequest(command: command, context: context, association: association, peerAddress: peer.address,
                                   peer: peer, cancellation: signal, thread: thread.serial(operations.window == 1))
        if let refusal = refusal(of: command, field, on: context) ?? accessRefusal(of: command, field, association, peer) {
            return try await refuse(command, context.id, refusal, expectsDataSet, writer, operations, association, peer)
        }
        switch services.service(for: field, abstractSyntax: context.abstractSyntax) {
        case let service as any StreamingDIMSEService:
            guard expectsDataSet else {
                return try await refuse(command, context.id, StoreOutcome(status: .cannotUnderstand, comment: "\(field) without a dataset"),
                                        false, writer, operations, association, peer)
            }
            do {
                let sink = try await service.beginDataSet(request)
                return .streamed(command: command, contextID: context.id, sink: sink, refusal: nil)
            } catch let refusal as StoreRefusal {
                return .streamed(command: command, contextID: context.id, sink: nil, refusal: refusal.outcome)
            } catch {
                return .streamed(command: command, contextID: context.id, sink: nil,
                                 refusal: StoreOutcome(status: .outOfResources, comment: "\(error)"))
            }
        case let service as any CollectingDIMSEService:
            guard expectsDataSet else {
                start(request, service, writer, router, operations, messageIDs, &running)
                return .none
            }
            return .collected(request, service: service, bytes: ByteBuffer())
        default:
            let outcome = services.performs(field)
                ? StoreOutcome(status: .sopClassNotSupported, comment: "\(field) is not supported on \(context.abstractSyntax)")
                : StoreOutcome(status: .unrecognizedOperation, comment: "\(field) is not supported")
            return try await refuse(command, context.id, outcome, expectsDataSet, writer, operations, association, peer)
        }
    }

    /// Why a request cannot be performed on its context, before any service sees it.
    private func refusal(of command: CommandSet, _ field: CommandField, on context: AcceptedPresentationContext) -> StoreOutcome? {
        // An N-EVENT-REPORT comes from the side performing the SOP class (a storage commitment SCP reporting on
        // an association it opened); every other request from its user.
        guard context.requestorIsSCU || field == .nEventReportRQ else {
            return StoreOutcome(status: .sopClassNotSupported,
                                comment: "the requestor did not negotiate the SCU role on presentation context \(context.id)")
        }
        let sopClass = command.affectedSOPClassUID ?? command.dataSet.uid(.requestedSOPClassUID)
        if let sopClass, sopClass != context.abstractSyntax {
            return StoreOutcome(status: .sopClassNotSupported,
                                comment: "SOP Class \(sopClass) sent on the context of \(context.abstractSyntax)")
        }
        return nil
    }

    /// An operation the access rules do not grant this peer: 0x0124 (Refused: Not Authorized).
    private func accessRefusal(of command: CommandSet, _ field: CommandField, _ association: NegotiatedAssociation,
                               _ peer: PeerIdentity) -> StoreOutcome? {
        let access = configuration.access
        guard !access.isEmpty else { return nil }
        let calling = association.callingAETitle
        guard let kind = DICOMServiceKind(field) else {
            // A request of no service a rule can grant (N-GET, N-SET, N-CREATE, N-DELETE, N-EVENT-REPORT) is granted
            // to no one: let through, it would have been open to every admitted peer once a service performed it.
            logger.notice("[REFUSED] \(calling) from \(peer.address): \(field) is granted by no access rule")
            return StoreOutcome(status: .notAuthorized, comment: "\(field) is granted by no access rule")
        }
        guard access.permits(kind, callingAETitle: calling, peer: peer) else {
            logger.notice("[REFUSED] \(calling) from \(peer.address): \(field) not allowed")
            return StoreOutcome(status: .notAuthorized, comment: "\(calling) may not use \(kind.rawValue)")
        }
        if field == .cMoveRQ {
            let destination = command.dataSet.string(.moveDestination) ?? ""
            guard access.permitsMove(to: destination, callingAETitle: calling, peer: peer) else {
                logger.notice("[REFUSED] \(calling) from \(peer.address): C-MOVE to \(destination) not allowed")
                return StoreOutcome(status: .notAuthorized, comment: "\(calling) may not move to \(destination.prefix(16))")
            }
        }
        if field == .cGetRQ, !access.permitsGet(callingAETitle: calling, peer: peer) {
            logger.notice("[REFUSED] \(calling) from \(peer.address): C-GET not allowed (its rule lists move destinations)")
            return StoreOutcome(status: .notAuthorized, comment: "\(calling) may retrieve to its listed destinations only (C-MOVE)")
        }
        return nil
    }

    /// Answers a request with a failure once its dataset (if any) has been read and dropped.
    private func refuse(_ command: CommandSet, _ contextID: UInt8, _ outcome: StoreOutcome, _ expectsDataSet: Bool,
                        _ writer: MessageWriter, _ operations: OperationTable, _ association: NegotiatedAssociation,
                        _ peer: PeerIdentity) async throws -> Incoming {
        if expectsDataSet { return .refused(command: command, contextID: contextID, outcome: outcome) }
        try await respond(to: command, outcome, contextID, writer, operations, association, peer)
        return .none
    }

    /// A dataset fragment of the current message.
    private func dataSetFragment(_ fragment: ByteBuffer, isLast: Bool, _ incoming: Incoming, _ association: NegotiatedAssociation,
                                 peer: PeerIdentity,
                                 _ writer: MessageWriter, _ router: ResponseRouter, _ operations: OperationTable,
                                 _ messageIDs: MessageIDs, _ running: inout DiscardingTaskGroup) async throws -> Incoming {
        switch incoming {
        case .none:
            throw ProtocolViolation("dataset fragment without a request")
        case .ignored:
            return isLast ? .none : .ignored
        case .refused(let command, let contextID, let outcome):
            guard isLast else { return incoming }
            try await respond(to: command, outcome, contextID, writer, operations, association, peer)
            return .none
        case .streamed(let command, let contextID, var sink, var refusal):
            if let s = sink {
                do { try await s.write(fragment) } catch {
                    // The sink failed (disk full…): keep reading the dataset, answer with its outcome at the end.
                    await s.cancel()
                    sink = nil
                    refusal = StoreOutcome(status: .outOfResources, comment: "\(error)")
                }
            }
            guard isLast else { return .streamed(command: command, contextID: contextID, sink: sink, refusal: refusal) }
            let outcome: StoreOutcome
            if let sink { outcome = await sink.finish() } else {
                outcome = refusal ?? StoreOutcome(status: .storageFailed, comment: "not stored")
            }
            try await respond(to: command, outcome, contextID, writer, operations, association, peer)
            return .none
        case .collected(let request, let service, var bytes):
            if bytes.readableBytes + fragment.readableBytes > service.maxRequestDataSetLength {
                let outcome = StoreOutcome(status: request.command.commandField?.isNormalized == true ? .resourceLimitation : .outOfResources,
                                           comment: "request dataset larger than \(service.maxRequestDataSetLength) bytes")
                return isLast ? try await refuse(request.command, request.context.id, outcome, false, writer, operations, association, peer)
                    : .refused(command: request.command, contextID: request.context.id, outcome: outcome)
            }
            var piece = fragment
            bytes.writeBuffer(&piece)
            guard isLast else { return .collected(request, service: service, bytes: bytes) }
            let dataSet: DataSet
            do { dataSet = try Self.decode(bytes, in: request.context) } catch {
                return try await refuse(request.command, request.context.id,
                                        StoreOutcome(status: .cannotUnderstand, comment: "unreadable dataset: \(error)"), false, writer, operations,
                                        association, peer)
            }
            let complete = DIMSERequest(command: request.command, context: request.context, association: request.association,
                                        peerAddress: request.peerAddress, peer: request.peer, dataSet: dataSet,
                                        cancellation: request.cancellation, thread: request.thread)
            start(complete, service, writer, router, operations, messageIDs, &running)
            return .none
        }
    }

    /// Runs a collected request in its own task; an error that escapes the service becomes a failure response.
    private func start(_ request: DIMSERequest, _ service: any CollectingDIMSEService, _ writer: MessageWriter,
                       _ router: ResponseRouter, _ operations: OperationTable, _ messageIDs: MessageIDs,
                       _ running: inout DiscardingTaskGroup) {
        let onFinal: @Sendable (DIMSEStatus, CommandSet) -> Void = { [self] status, response in
            auditResponse(request.command, status: status, response: response, dataSet: request.dataSet, request.association, request.peer)
        }
        let responder = DIMSEResponder(request: request.command, context: request.context, association: request.association, onFinal: onFinal,
                                       writer: writer, router: router, messageIDs: messageIDs, operations: operations)
        let logger = self.logger
        running.addTask {
            do {
                try await service.perform(request, responder)
            } catch is MessageWriter.BrokenMessage {
                logger.warning("[DIMSE] \(request.association.callingAETitle): association aborted during a sub-operation")
            } catch {
                logger.warning("[DIMSE] \(request.association.callingAETitle): \(request.command.commandField.map { "\($0)" } ?? "request") failed: \(error)")
            }
            // A service that ended without a final response (it threw, or forgot) still answers once.
            if operations.isRunning(request.messageID) {
                try? await responder.respond(status: .processingFailure, comment: "the operation failed")
            }
        }
    }

    private func respond(to command: CommandSet, _ outcome: StoreOutcome, _ contextID: UInt8, _ writer: MessageWriter,
                         _ operations: OperationTable, _ association: NegotiatedAssociation, _ peer: PeerIdentity) async throws {
        let response = CommandSet.response(answering: command, status: outcome.status, comment: outcome.comment)
        auditResponse(command, status: outcome.status, response: response, dataSet: nil, subject: outcome.subject, association, peer)
        operations.finished(command.messageID ?? 0)
        try await writer.send(response, contextID: contextID)
    }

    /// A collected request dataset, decoded in its context's transfer syntax.
    static func decode(_ bytes: ByteBuffer, in context: AcceptedPresentationContext) throws -> DataSet {
        guard let syntax = context.syntax else { throw DIMSEError("unknown transfer syntax \(context.transferSyntax)") }
        if let flat = bytes.withUnsafeReadableBytes({ FlatDataSetReader.read($0, syntax: syntax) }) { return flat }
        var parser = DataSetParser(transferSyntax: syntax, options: ParseOptions(maxDepth: 16))
        var builder = DataSetBuilder()
        try bytes.withUnsafeReadableBytes { try parser.feed($0, to: &builder) }
        try parser.finish(&builder)
        return builder.dataSet
    }
}
