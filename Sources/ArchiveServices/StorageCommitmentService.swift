import Archive
import DICOM
import DICOMNetwork
import Logging
import NIOPosix

/// Storage Commitment Push Model SCP (PS3.4 J): an N-ACTION-RQ lists instances; Arca answers the N-ACTION-RSP
/// at once, then checks each instance (indexed, its file present and still hashing to the BLAKE3 recorded when
/// it was stored durably) and sends the N-EVENT-REPORT (event 1: all committed; 2: some failed, with Failure
/// Reason 0x0112 no such instance, 0x0119 class/instance conflict, 0x0110 processing failure) on the same
/// association while it is open, else on a new association to the requestor's configured address.
public struct StorageCommitmentService: CollectingDIMSEService {
    public static let sopClassUID = "1.2.840.10008.1.20.1"
    public static let sopInstanceUID = "1.2.840.10008.1.20.1.1"

    public let engine: QueryEngine
    public let remotes: RemoteAETable
    /// Our AE title, calling the requestor when the report goes on a new association.
    public let aeTitle: String
    let threadPool: NIOThreadPool
    let logger: Logger

    public init(engine: QueryEngine, remotes: RemoteAETable, aeTitle: String, logger: Logger, threadPool: NIOThreadPool = .singleton) {
        self.engine = engine
        self.remotes = remotes
        self.aeTitle = aeTitle
        self.logger = logger
        self.threadPool = threadPool
    }

    public var commands: Set<CommandField> { [.nActionRQ] }

    /// 16 MiB: a request of 100,000 references (a perfusion or tomosynthesis study's instances in one
    /// transaction, ~115 bytes each with 64-character UIDs) fits; at the collecting services' 1 MiB, one of
    /// ~9,000 was refused.
    public var maxRequestDataSetLength: Int { 16 << 20 }

    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        abstractSyntax == Self.sopClassUID ? AbstractSyntaxSupport(transferSyntaxes: .uncompressed) : nil
    }

    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        let calling = request.association.callingAETitle
        let command = request.command
        guard command.dataSet.uid(.requestedSOPInstanceUID) == Self.sopInstanceUID else {
            return try await responder.respond(status: .noSuchObjectInstance, comment: "not the Storage Commitment instance")
        }
        guard command.dataSet.int(.actionTypeID) == 1 else {
            return try await responder.respond(status: DIMSEStatus(rawValue: 0x0123), comment: "no such action type")  // No Such Action
        }
        guard let info = request.dataSet, let transaction = info.uid(.transactionUID) else {
            return try await responder.respond(status: DIMSEStatus(rawValue: 0x0120), comment: "Transaction UID missing")  // Missing Attribute
        }
        let references = info.items(.referencedSOPSequence).map {
            (sopClass: $0.uid(.referencedSOPClassUID) ?? "", sopInstance: $0.uid(.referencedSOPInstanceUID) ?? "")
        }
        guard references.count <= 100_000 else {
            return try await responder.respond(status: .resourceLimitation, comment: "more than 100000 references")
        }
        try await responder.respond(status: .success) { $0.setUS(1, .actionTypeID) }

        let report = await verify(references)
        logger.info("[COMMIT] \(calling): transaction \(transaction): \(report.committed.count) committed, \(report.failed.count) failed")
        let (eventCommand, eventData) = Self.eventReport(transaction: transaction, report, retrieveAETitle: engine.retrieveAETitle)
        if request.association.acceptedContexts[request.context.id] != nil {
            do {
                let answer = try await responder.request(eventCommand, contextID: request.context.id, dataSet: eventData)
                if answer.status?.isSuccess == true { return }
                logger.warning("[COMMIT] \(calling) answered the report with \(answer.status.map { "\($0)" } ?? "no status")")
                return
            } catch {
                logger.info("[COMMIT] \(calling): the association is gone (\(error)); reporting on a new one")
            }
        }
        await reportOnNewAssociation(to: calling, eventCommand, eventData)
    }

    struct Report {
        var committed: [(sopClass: String, sopInstance: String)] = []
        var failed: [(sopClass: String, sopInstance: String, reason: UInt16)] = []
    }

    /// Each reference checked against the index and the stored bytes.
    func verify(_ references: [(sopClass: String, sopInstance: String)]) async -> Report {
        let uids = references.map(\.sopInstance).filter { UIDString.isValid($0) }
        var stored: [String: ArchivedInstance] = [:]
        var failure: UInt16?
        do {
            stored = try await instances(uids)
            // Acknowledged from the ingest journal and not yet in place: their rows hold a placeholder until the
            // materializer has hashed them (a batch, milliseconds; its syncfs also makes them durable, which a
            // deferred-durability commitment waits for). Read again once they are.
            let pending = stored.values.filter { JournalChecksum.isPlaceholder($0.hash) }
            if !pending.isEmpty {
                let source = engine.source
                for instance in pending { _ = try? await threadPool.runIfActive { source.waitInPlace(instance.location) } }
                for (uid, instance) in try await instances(pending.map(\.sopInstanceUID)) { stored[uid] = instance }
            }
        } catch {
            logger.warning("[COMMIT] the index could not answer: \(error)")
            failure = 0x0110
        }
        let source = engine.source
        var report = Report()
        // Each file is hashed once however often the request names it: 100,000 references to one large instance
        // read and hashed it 100,000 times on the two I/O threads every query and retrieval shares.
        var intactness: [String: Bool] = [:]
        for ref in references {
            if let failure {
                report.failed.append((ref.sopClass, ref.sopInstance, failure))
                continue
            }
            guard let instance = stored[ref.sopInstance] else {
                report.failed.append((ref.sopClass, ref.sopInstance, 0x0112))
                continue
            }
            guard instance.sopClassUID == ref.sopClass else {
                report.failed.append((ref.sopClass, ref.sopInstance, 0x0119))
                continue
            }
            let intact: Bool
            if let known = intactness[instance.location] {
                intact = known
            } else {
                // Durable first: a row's hash is settled just before the materializer's syncfs, and a deferred
                // instance read in between was reported committed before it was on the device.
                intact = (try? await threadPool.runIfActive {
                    try source.waitDurable(instance.location) && source.isIntact(instance.location, hash: instance.hash)
                }) ?? false
                intactness[instance.location] = intact
            }
            if intact { report.committed.append(ref) } else { report.failed.append((ref.sopClass, ref.sopInstance, 0x0110)) }
        }
        return report
    }

    /// The index's rows of these instances.
    private func instances(_ uids: [String]) async throws -> [String: ArchivedInstance] {
        guard !uids.isEmpty else { return [:] }
        let query = Query(model: .studyRoot, level: .image,
                          keys: [QueryKey(tag: .sopInstanceUID, vr: .UI, match: .anyOf(uids.map { .single($0) }))])
        var out: [String: ArchivedInstance] = [:]
        for instance in try await engine.instances(query) { out[instance.sopInstanceUID] = instance }
        return out
    }

    static func eventReport(transaction: String, _ report: Report, retrieveAETitle: String?) -> (CommandSet, DataSet) {
        var command = CommandSet()
        command.setUID(sopClassUID, .affectedSOPClassUID)
        command.setUS(CommandField.nEventReportRQ.rawValue, .commandField)
        command.setUS(0x0000, .commandDataSetType)
        command.setUID(sopInstanceUID, .affectedSOPInstanceUID)
        command.setUS(report.failed.isEmpty ? 1 : 2, .eventTypeID)
        var ds = DataSet()
        ds.setString(transaction, for: .transactionUID, vr: .UI)
        if let retrieveAETitle { ds.setString(retrieveAETitle, for: .retrieveAETitle, vr: .AE) }
        if !report.committed.isEmpty {
            ds.setItems(report.committed.map { ref in
                var item = DataSet()
                item.setString(ref.sopClass, for: .referencedSOPClassUID, vr: .UI)
                item.setString(ref.sopInstance, for: .referencedSOPInstanceUID, vr: .UI)
                return item
            }, for: .referencedSOPSequence)
        }
        if !report.failed.isEmpty {
            ds.setItems(report.failed.map { ref in
                var item = DataSet()
                item.setString(ref.sopClass, for: .referencedSOPClassUID, vr: .UI)
                item.setString(ref.sopInstance, for: .referencedSOPInstanceUID, vr: .UI)
                item.setUInt16(ref.reason, for: .failureReason)
                return item
            }, for: .failedSOPSequence)
        }
        return (command, ds)
    }

    /// The report on an association of our own to the requestor, which must accept us in the SCP role of the
    /// Storage Commitment SOP class (PS3.4 J.3.3). Tried three times, a few seconds apart.
    private func reportOnNewAssociation(to requestor: String, _ command: CommandSet, _ data: DataSet) async {
        guard let remote = remotes.lookup(requestor) else {
            logger.warning("[COMMIT] cannot report to \(requestor): not a configured remote AE (--remote \(requestor)=host:port)")
            return
        }
        let associate = AssociateRequest(
            calledAETitle: remote.aeTitle, callingAETitle: aeTitle,
            presentationContexts: [PresentationContextProposal(id: 1, abstractSyntax: Self.sopClassUID,
                                                               transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian])],
            roleSelections: [RoleSelection(sopClassUID: Self.sopClassUID, scuRole: false, scpRole: true)])
        for attempt in 1...3 {
            do {
                let status = try await ClientAssociation.withAssociation(host: remote.host, port: remote.port, request: associate,
                                                                         tls: remotes.tlsContext(for: remote),
                                                                         idle: ClientAssociation.peerIdle) { association in
                    try await association.eventReport(command, dataSet: data)
                }
                logger.info("[COMMIT] report delivered to \(remote) (\(status))")
                return
            } catch {
                logger.warning("[COMMIT] report to \(remote), attempt \(attempt): \(error)")
                if attempt < 3 { try? await Task.sleep(for: .seconds(2 * attempt)) }
            }
        }
    }
}
