import Archive
import DICOM
import DICOMNetwork
import Logging
import NIOPosix

/// C-GET SCP (PS3.4 C.4.3): the instances the identifier selects go back as C-STORE sub-operations on the
/// requesting association itself, on the storage contexts where the requestor took the SCP role. An
/// instance with no such context (or none in a syntax it can be sent in) is a failed sub-operation.
public struct GetService: CollectingDIMSEService {
    public let engine: QueryEngine
    /// The storage SOP classes the requestor may receive on this association (role selection granted).
    public let acceptsStorageSOPClass: @Sendable (String) -> Bool
    let transfer: InstanceTransfer
    let logger: Logger

    public init(engine: QueryEngine, acceptsStorageSOPClass: @escaping @Sendable (String) -> Bool, logger: Logger,
                transcoder: (any PixelTranscoding)? = nil, threadPool: NIOThreadPool = .singleton) {
        self.engine = engine
        self.acceptsStorageSOPClass = acceptsStorageSOPClass
        self.transfer = InstanceTransfer(reading: InstanceReading(source: engine.source, transcoder: transcoder, threadPool: threadPool))
        self.logger = logger
    }

    public var commands: Set<CommandField> { [.cGetRQ] }

    /// The retrieve SOP classes, and the storage classes with the requestor's SCP role (what a C-GET SCU
    /// proposes to receive its images on).
    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        if QueryModel.allCases.contains(where: { $0.getSOPClass == abstractSyntax }) { return QueryRetrieveSupport.retrieve }
        if acceptsStorageSOPClass(abstractSyntax) {
            return AbstractSyntaxSupport(transferSyntaxes: .storage, acceptsRequestorSCU: false, acceptsRequestorSCP: true)
        }
        return nil
    }

    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        let calling = request.association.callingAETitle
        let instances: [ArchivedInstance]
        do { instances = try await RetrieveRequest.instances(request, engine: engine) } catch RetrieveRequest.Refusal.status(let status, let comment) {
            return try await responder.respond(status: status, comment: comment)
        }
        logger.info("[C-GET] \(calling): \(instances.count) instance(s)")
        let contexts = responder.acceptedContexts.filter(\.requestorIsSCP)
        var progress = SubOperations(total: instances.count)
        var ended = false
        try await transfer.forEach(instances, among: contexts) { instance, ctx, producer in
            if request.isCancelled { return false }
            var status: DIMSEStatus?
            if let ctx, let producer {
                do {
                    let command = CommandSet.storeRequest(messageID: 0, sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID)
                    status = try await responder.request(command, contextID: ctx.id, producer: try producer.get()).status
                } catch let error as MessageWriter.BrokenMessage {
                    throw error
                } catch let error as DIMSEError {
                    // The association ended while waiting for the response.
                    logger.warning("[C-GET] \(calling): \(error)")
                    ended = true
                    return false
                } catch {
                    logger.warning("[C-GET] \(instance.sopInstanceUID): \(error)")
                }
            } else {
                logger.warning("[C-GET] \(calling) took no storage context for \(instance.sopClassUID) in \(instance.transferSyntaxUID)")
            }
            progress.record(instance.sopInstanceUID, status)
            if progress.remaining > 0 {
                let snapshot = progress
                try await responder.respond(status: .pending) { snapshot.apply(to: &$0, final: false) }
            }
            return true
        }
        if ended { return }
        if request.isCancelled && progress.remaining > 0 {
            logger.info("[C-GET] \(calling) cancelled with \(progress.remaining) instance(s) unsent")
            return try await responder.respond(status: .cancel, dataSet: progress.failedList) { progress.apply(to: &$0, final: false) }
        }
        logger.info("[C-GET] \(calling): \(progress.completed) sent, \(progress.failed) failed, \(progress.warning) warning(s)")
        let final = progress
        try await responder.respond(status: final.finalStatus, dataSet: final.failedList) { final.apply(to: &$0, final: true) }
    }
}
