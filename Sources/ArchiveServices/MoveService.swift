import Archive
import DICOM
import DICOMNetwork
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// C-MOVE SCP (PS3.4 C.4.2): the instances the identifier selects go to the destination AE (looked up in
/// the configured remote AEs; unknown: 0xA801) over new associations, as C-STORE sub-operations carrying the
/// Move Originator AE Title and Message ID. A pending response after each sub-operation gives the counts; a
/// C-CANCEL stops before the next one (0xFE00 with the counts so far); the final response has the Failed SOP
/// Instance UID List when any failed (0xB000).
public struct MoveService: CollectingDIMSEService {
    public let engine: QueryEngine
    public let remotes: RemoteAETable
    /// Associations opened to the destination at once (a destination often accepts several).
    public let parallelAssociations: Int
    let transfer: InstanceTransfer
    let logger: Logger

    public init(engine: QueryEngine, remotes: RemoteAETable, parallelAssociations: Int = 1, logger: Logger,
                transcoder: (any PixelTranscoding)? = nil, threadPool: NIOThreadPool = .singleton) {
        self.engine = engine
        self.remotes = remotes
        self.parallelAssociations = max(1, parallelAssociations)
        self.transfer = InstanceTransfer(reading: InstanceReading(source: engine.source, transcoder: transcoder, threadPool: threadPool))
        self.logger = logger
    }

    public var commands: Set<CommandField> { [.cMoveRQ] }

    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        QueryModel.allCases.contains { $0.moveSOPClass == abstractSyntax } ? QueryRetrieveSupport.retrieve : nil
    }

    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        let calling = request.association.callingAETitle
        let destinationTitle = request.command.dataSet.string(.moveDestination) ?? ""
        guard let destination = remotes.lookup(destinationTitle) else {
            logger.notice("[C-MOVE] \(calling): unknown destination \(destinationTitle)")
            return try await responder.respond(status: .moveDestinationUnknown, comment: "unknown move destination \(destinationTitle.prefix(16))")
        }
        let instances: [ArchivedInstance]
        do { instances = try await RetrieveRequest.instances(request, engine: engine) } catch RetrieveRequest.Refusal.status(let status, let comment) {
            return try await responder.respond(status: status, comment: comment)
        }
        logger.info("[C-MOVE] \(calling) -> \(destination.aeTitle): \(instances.count) instance(s)")
        let progress = NIOLockedValueBox(SubOperations(total: instances.count))
        let originator = (aeTitle: calling, messageID: request.messageID)
        let groups = Self.split(instances, into: parallelAssociations)
        await withTaskGroup(of: Void.self) { workers in
            for group in groups {
                workers.addTask {
                    await send(group, to: destination, calledBy: request.association.calledAETitle, originator: originator,
                               request, responder, progress)
                }
            }
        }
        let final = progress.withLockedValue { $0 }
        let status: DIMSEStatus = request.isCancelled && final.remaining > 0 ? .cancel : final.finalStatus
        if status == .cancel {
            logger.info("[C-MOVE] \(calling) cancelled with \(final.remaining) instance(s) unsent")
            return try await responder.respond(status: .cancel, dataSet: final.failedList) { final.apply(to: &$0, final: false) }
        }
        logger.info("[C-MOVE] \(calling) -> \(destination.aeTitle): \(final.completed) sent, \(final.failed) failed, \(final.warning) warning(s)")
        try await responder.respond(status: status, dataSet: final.failedList) { final.apply(to: &$0, final: true) }
    }

    /// One association's share of the sub-operations.
    private func send(_ instances: [ArchivedInstance], to destination: RemoteAE, calledBy ourTitle: String,
                      originator: (aeTitle: String, messageID: UInt16), _ request: DIMSERequest, _ responder: DIMSEResponder,
                      _ progress: NIOLockedValueBox<SubOperations>) async {
        guard !instances.isEmpty else { return }
        var pending = instances[...]
        do {
            try await ClientAssociation.withAssociation(host: destination.host, port: destination.port,
                                                         request: associateRequest(instances, from: ourTitle, to: destination.aeTitle),
                                                         tls: remotes.tlsContext(for: destination), onEventLoop: true,
                                                         idle: ClientAssociation.peerIdle) { association in
                try await transfer.forEach(instances, among: Array(association.negotiated.acceptedContexts.values)) { instance, ctx, producer in
                    if request.isCancelled { return false }
                    pending = pending.dropFirst()
                    var status: DIMSEStatus?
                    if let ctx, let producer {
                        do {
                            status = try await association.store(sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID,
                                                                 contextID: ctx.id, moveOriginator: originator, dataSet: try producer.get()).status
                        } catch let error as AssociationError {
                            throw error
                        } catch let error as MessageWriter.BrokenMessage {
                            throw error
                        } catch {
                            logger.warning("[C-MOVE] \(instance.sopInstanceUID): \(error)")
                        }
                    } else {
                        logger.warning("[C-MOVE] \(destination.aeTitle) accepted no context for \(instance.sopClassUID) in \(instance.transferSyntaxUID)")
                    }
                    let snapshot = progress.withLockedValue { p -> SubOperations in
                        p.record(instance.sopInstanceUID, status)
                        return p
                    }
                    if snapshot.remaining > 0 && !request.isCancelled {
                        try await responder.respond(status: .pending) { snapshot.apply(to: &$0, final: false) }
                    }
                    return true
                }
            }
        } catch {
            logger.warning("[C-MOVE] to \(destination.aeTitle) at \(destination.host):\(destination.port): \(error)")
        }
        // What this association did not send (refused, aborted) failed, unless a cancel stopped it.
        if !request.isCancelled {
            progress.withLockedValue { $0.abandonRemaining(pending.map(\.sopInstanceUID)) }
        }
    }

    /// One context per SOP class and stored syntax, plus an uncompressed fallback per SOP class where the
    /// stored bytes can be re-encoded (at most 128 contexts: PS3.8 allows no more).
    func associateRequest(_ instances: [ArchivedInstance], from calling: String, to called: String) -> AssociateRequest {
        let reading = transfer.reading
        var proposals: [PresentationContextProposal] = []
        var seen = Set<[String]>()
        func add(_ sopClass: String, _ syntaxes: [String]) {
            guard proposals.count < 128, seen.insert([sopClass] + syntaxes).inserted else { return }
            proposals.append(PresentationContextProposal(id: UInt8(2 * proposals.count + 1), abstractSyntax: sopClass, transferSyntaxes: syntaxes))
        }
        for instance in instances {
            add(instance.sopClassUID, [instance.transferSyntaxUID])
            let fallbacks = Array(reading.syntaxes(from: instance.transferSyntaxUID).dropFirst())
            if !fallbacks.isEmpty { add(instance.sopClassUID, fallbacks) }
        }
        return AssociateRequest(calledAETitle: called, callingAETitle: calling, presentationContexts: proposals, maxPDULength: 131_072)
    }

    /// Instances dealt round-robin, each study's instances kept in order within a group.
    static func split(_ instances: [ArchivedInstance], into n: Int) -> [[ArchivedInstance]] {
        guard n > 1 else { return [instances] }
        var groups = Array(repeating: [ArchivedInstance](), count: n)
        for (i, instance) in instances.enumerated() { groups[i % n].append(instance) }
        return groups.filter { !$0.isEmpty }
    }
}
