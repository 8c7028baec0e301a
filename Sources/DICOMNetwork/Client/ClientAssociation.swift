import DICOM
import NIOCore
import NIOPosix
import NIOSSL

/// Why an SCU operation failed.
public struct AssociationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The SCU side of an association (`arca echo/store/find/move/get/commit`, C-MOVE sub-operations): opened by
/// `withAssociation`, used by one task at a time. Messages are read with the same `MessageAssembler` the SCP
/// uses; requests the peer sends us meanwhile (the C-STOREs of a C-GET, an N-EVENT-REPORT) are answered
/// through the handlers of the operation waiting.
public final class ClientAssociation {
    public let negotiated: NegotiatedAssociation
    private var inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator
    private let writer: MessageWriter
    private var assembler = MessageAssembler()
    /// PDVs received in a PDU whose earlier PDVs completed a message: the next message starts with them.
    private var unread: ArraySlice<PDV> = []
    private let messageIDs = MessageIDs()
    private var released = false

    /// Largest response dataset collected (an identifier, a failed-instance list).
    public static let maxResponseDataSetLength = 16 << 20

    init(negotiated: NegotiatedAssociation, inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator,
         outbound: NIOAsyncChannelOutboundWriter<PDU>) {
        self.negotiated = negotiated
        self.inbound = inbound
        self.writer = MessageWriter(outbound: outbound, peerMaxPDULength: negotiated.peerMaxPDULength)
    }

    /// Connects, negotiates and runs `body`; releases the association afterwards (aborts it if `body` throws).
    /// `onEventLoop`: the association's task (and `body`) runs on its channel's event loop, as the SCP's do, so
    /// each message read or written is no hop between Swift's global pool and the loop (a C-FIND answered in
    /// ~0.4 ms lost two of its wake-ups); `body` must then never block.
    /// The peer has `artim` to answer the A-ASSOCIATE-RQ, as DCMTK's ACSE timeout gives it 30 s; with `idle` (an
    /// hour without), an association on which nothing arrives for that long is aborted and closed (the server's own
    /// associations to its peers pass `peerIdle`: a peer that accepts TCP and never answers held a C-MOVE or a
    /// storage commitment report, and the association slot of its requestor, for ever).
    public static func withAssociation<R>(
        host: String, port: Int, request: AssociateRequest, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        tls: NIOSSLContext? = nil, onEventLoop: Bool = false, artim: TimeAmount = .seconds(30), idle: TimeAmount? = nil,
        _ body: (ClientAssociation) async throws -> R
    ) async throws -> R {
        // getaddrinfo reads the service as a number modulo 65,536: port 70000 connected to 4464 without a word.
        guard (1...65535).contains(port) else { throw AssociationError("\(port) is not a port (1 to 65535)") }
        let maxPDU = request.userInformation.maxPDULength ?? 0
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // SNI carries host names only; an address is verified through the chain alone.
                        let name = AddressPattern.parse(host) == nil ? host : nil
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: name))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        // Without `idle`, an hour: a peer silent that long is gone (a year kept a command-line
                        // tool waiting on a peer that never sent its final response).
                        AssociationTimerHandler(artim: artim, idle: idle ?? .hours(1)) { _ in },
                        // A peer with Nagle on (DCMTK's default) holds each small response until our ACK: acknowledge
                        // at once unless what was read is a request we answer (C-MOVE to storescp ran at 22/s without
                        // it, one delayed ACK per image).
                        ByteToMessageHandler(PDUDecoder(maxDataPDULength: maxPDU, coalescesDataTransfers: true)),
                        QuickAckHandler(),
                        MessageToByteHandler(PDUEncoder()),
                    ])
                    return try NIOAsyncChannel<PDU, PDU>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withTaskExecutorPreference(onEventLoop ? EventLoopTaskExecutor(channel.channel.eventLoop) : nil) {
            try await negotiate(channel, request: request, body)
        }
    }

    private static func negotiate<R>(_ channel: NIOAsyncChannel<PDU, PDU>, request: AssociateRequest,
                                     _ body: (ClientAssociation) async throws -> R) async throws -> R {
        try await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            try await outbound.write(.associateRQ(request))
            guard let reply = try await iterator.next() else { throw AssociationError("connection closed during negotiation") }
            switch reply {
            case .associateAC(let ac):
                let association = ClientAssociation(negotiated: NegotiatedAssociation(requested: request, accepted: ac),
                                                    inbound: iterator, outbound: outbound)
                do {
                    let result = try await body(association)
                    try await association.release()
                    return result
                } catch {
                    if !association.released { try? await outbound.write(.abort(.userInitiated)) }
                    throw error
                }
            case .associateRJ(let rj):
                throw AssociationError("association rejected: \(rj.reasonDescription) (result \(rj.result), source \(rj.source))")
            case .abort(let a):
                throw AssociationError("association aborted by the peer (\(a.reason))")
            default:
                throw AssociationError("unexpected \(reply.type) in answer to A-ASSOCIATE-RQ")
            }
        }
    }

    /// How long the server waits on a peer it called (a C-MOVE destination, a storage commitment requestor).
    public static let peerIdle: TimeAmount = .minutes(10)

    /// The accepted context for an abstract syntax, preferring one of `transferSyntaxes` in their order.
    public func context(for abstractSyntax: String, preferring transferSyntaxes: [String] = []) -> AcceptedPresentationContext? {
        let candidates = negotiated.acceptedContexts.values.filter { $0.abstractSyntax == abstractSyntax }.sorted { $0.id < $1.id }
        for ts in transferSyntaxes {
            if let c = candidates.first(where: { $0.transferSyntax == ts }) { return c }
        }
        return candidates.first
    }

    // MARK: - Operations

    /// C-ECHO.
    public func echo() async throws -> DIMSEStatus {
        guard let ctx = context(for: UpperLayerUID.verificationSOPClass) else {
            throw AssociationError("the peer did not accept the Verification SOP Class")
        }
        let command = CommandSet.echoRequest(messageID: messageIDs.take())
        try await writer.send(command, contextID: ctx.id)
        return try await response(to: command).command.status ?? .processingFailure
    }

    /// C-STORE of a dataset already encoded in the context's transfer syntax, streamed from `producer`.
    public func store(sopClassUID: String, sopInstanceUID: String, contextID: UInt8,
                      moveOriginator: (aeTitle: String, messageID: UInt16)? = nil,
                      dataSet producer: DataSetProducer) async throws -> CommandSet {
        var command = CommandSet.storeRequest(messageID: messageIDs.take(), sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID)
        if let moveOriginator {
            command.dataSet.setString(moveOriginator.aeTitle, for: .moveOriginatorApplicationEntityTitle, vr: .AE)
            command.setUS(moveOriginator.messageID, .moveOriginatorMessageID)
        }
        try await writer.send(command, contextID: contextID, producer: producer)
        return try await response(to: command).command
    }

    /// C-FIND with `identifier` on the context of `sopClassUID`: `onMatch` gets each pending answer and
    /// returns false to cancel (a C-CANCEL is sent; answers already on the way are still read). Returns the
    /// final response.
    public func find(_ identifier: DataSet, sopClassUID: String, onMatch: (DataSet) async throws -> Bool) async throws -> CommandSet {
        let (command, ctx) = try request(.cFindRQ, sopClassUID: sopClassUID)
        try await writer.send(command, contextID: ctx.id, dataSet: try encode(identifier, ctx))
        var cancelled = false
        while true {
            let reply = try await response(to: command)
            guard reply.command.status?.isPending == true else { return reply.command }
            if let ds = reply.dataSet, !cancelled, try await !onMatch(ds) {
                cancelled = true
                try await cancel(command, ctx)
            }
        }
    }

    /// C-MOVE of what `identifier` selects to `destination`; `onPending` gets each pending response (sub-operation
    /// counts) and returns false to cancel. Returns the final response and its dataset (Failed SOP Instance UID List).
    public func move(_ identifier: DataSet, sopClassUID: String, destination: String,
                     onPending: (CommandSet) async throws -> Bool = { _ in true }) async throws -> (CommandSet, DataSet?) {
        var (command, ctx) = try request(.cMoveRQ, sopClassUID: sopClassUID)
        command.dataSet.setString(destination, for: .moveDestination, vr: .AE)
        try await writer.send(command, contextID: ctx.id, dataSet: try encode(identifier, ctx))
        return try await retrieveResponses(command, ctx, onPending: onPending, incoming: nil)
    }

    /// C-GET of what `identifier` selects: the peer's C-STORE sub-operations arrive on this association and
    /// go to `incoming` (its outcome answers each). Returns the final response and its dataset.
    public func get(_ identifier: DataSet, sopClassUID: String, incoming: any IncomingStoreHandler,
                    onPending: (CommandSet) async throws -> Bool = { _ in true }) async throws -> (CommandSet, DataSet?) {
        let (command, ctx) = try request(.cGetRQ, sopClassUID: sopClassUID)
        try await writer.send(command, contextID: ctx.id, dataSet: try encode(identifier, ctx))
        return try await retrieveResponses(command, ctx, onPending: onPending, incoming: incoming)
    }

    /// N-ACTION-RQ on `sopClassUID` / `sopInstanceUID`; returns the N-ACTION-RSP.
    public func action(sopClassUID: String, sopInstanceUID: String, actionTypeID: UInt16, information: DataSet) async throws -> CommandSet {
        guard let ctx = context(for: sopClassUID, preferring: [UpperLayerUID.explicitVRLittleEndian]) else {
            throw AssociationError("the peer did not accept \(sopClassUID)")
        }
        var command = CommandSet()
        command.setUID(sopClassUID, .requestedSOPClassUID)
        command.setUS(CommandField.nActionRQ.rawValue, .commandField)
        command.setUS(messageIDs.take(), .messageID)
        command.setUS(0x0000, .commandDataSetType)
        command.setUID(sopInstanceUID, .requestedSOPInstanceUID)
        command.setUS(actionTypeID, .actionTypeID)
        try await writer.send(command, contextID: ctx.id, dataSet: try encode(information, ctx))
        return try await response(to: command).command
    }

    /// N-EVENT-REPORT-RQ (we perform the SOP class: e.g. a storage commitment report on an association of our
    /// own); returns the peer's status.
    public func eventReport(_ command: CommandSet, dataSet: DataSet) async throws -> DIMSEStatus {
        guard let sopClass = command.affectedSOPClassUID, let ctx = context(for: sopClass) else {
            throw AssociationError("the peer did not accept \(command.affectedSOPClassUID ?? "the SOP class")")
        }
        var command = command
        command.setUS(messageIDs.take(), .messageID)
        try await writer.send(command, contextID: ctx.id, dataSet: try encode(dataSet, ctx))
        return try await response(to: command).command.status ?? .processingFailure
    }

    /// Waits for an N-EVENT-REPORT-RQ from the peer, answers it with `status`, and returns it with its dataset.
    public func nextEventReport(answering status: DIMSEStatus = .success) async throws -> (CommandSet, DataSet?) {
        while true {
            let message = try await nextMessage(incoming: nil)
            guard case .request(let command, let contextID, let dataSet) = message, command.commandField == .nEventReportRQ else {
                continue
            }
            var rsp = CommandSet.response(to: command, field: .nEventReportRSP, status: status)
            if let type = command.dataSet.int(.eventTypeID) { rsp.setUS(UInt16(truncatingIfNeeded: type), .eventTypeID) }
            try await writer.send(rsp, contextID: contextID)
            return (command, dataSet)
        }
    }

    /// A-RELEASE: waits for the A-RELEASE-RP (answering a colliding A-RELEASE-RQ from the peer).
    public func release() async throws {
        guard !released else { return }
        released = true
        try await writer.write(.releaseRQ)
        while let pdu = try await inbound.next() {
            switch pdu {
            case .releaseRP: return
            case .releaseRQ: try await writer.write(.releaseRP)  // release collision (PS3.8 7.2)
            case .abort: return
            default: continue
            }
        }
    }

    // MARK: - Messages

    private func request(_ field: CommandField, sopClassUID: String) throws -> (CommandSet, AcceptedPresentationContext) {
        guard let ctx = context(for: sopClassUID, preferring: [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian]) else {
            throw AssociationError("the peer did not accept \(sopClassUID)")
        }
        var command = CommandSet()
        command.setUID(sopClassUID, .affectedSOPClassUID)
        command.setUS(field.rawValue, .commandField)
        command.setUS(messageIDs.take(), .messageID)
        command.setUS(0, .priority)
        command.setUS(0x0000, .commandDataSetType)
        return (command, ctx)
    }

    private func encode(_ dataSet: DataSet, _ ctx: AcceptedPresentationContext) throws -> [UInt8] {
        guard let syntax = ctx.syntax else {
            throw AssociationError("unusable transfer syntax \(ctx.transferSyntax)")
        }
        return try DataSetWriter.encode(dataSet, syntax: syntax)
    }

    private func cancel(_ command: CommandSet, _ ctx: AcceptedPresentationContext) async throws {
        var cancel = CommandSet()
        cancel.setUS(CommandField.cCancelRQ.rawValue, .commandField)
        cancel.setUS(command.messageID ?? 0, .messageIDBeingRespondedTo)
        cancel.setUS(CommandSet.noDataSet, .commandDataSetType)
        try await writer.send(cancel, contextID: ctx.id)
    }

    private func retrieveResponses(_ command: CommandSet, _ ctx: AcceptedPresentationContext,
                                   onPending: (CommandSet) async throws -> Bool,
                                   incoming: (any IncomingStoreHandler)?) async throws -> (CommandSet, DataSet?) {
        var cancelled = false
        while true {
            let reply = try await response(to: command, incoming: incoming)
            guard reply.command.status?.isPending == true else { return (reply.command, reply.dataSet) }
            if !cancelled, try await !onPending(reply.command) {
                cancelled = true
                try await cancel(command, ctx)
            }
        }
    }

    private enum Message {
        case response(CommandSet, DataSet?)
        case request(CommandSet, contextID: UInt8, DataSet?)
    }

    /// Reads until the next response to `request`, handling what the peer sends meanwhile. Inlined, as
    /// `nextMessage` is, into the operation that waits: each nonisolated async frame entered cost a task switch
    /// (a lock on the task's status) per answer of a C-FIND.
    @inline(__always) private func response(to request: CommandSet, incoming: (any IncomingStoreHandler)? = nil) async throws -> (command: CommandSet, dataSet: DataSet?) {
        while true {
            let message = try await nextMessage(incoming: incoming)
            switch message {
            case .response(let command, let dataSet):
                if command.messageIDBeingRespondedTo == request.messageID { return (command, dataSet) }
            case .request(let command, let contextID, _):
                // A request we have no handler for (an N-EVENT-REPORT while waiting on something else).
                try await writer.send(CommandSet.response(answering: command, status: .unrecognizedOperation), contextID: contextID)
            }
        }
    }

    /// Reads one message. C-STORE requests (a C-GET's sub-operations) are streamed to `incoming` and answered
    /// here, then reading goes on; other requests and responses are returned with their dataset collected.
    @inline(__always) private func nextMessage(incoming: (any IncomingStoreHandler)?) async throws -> Message {
        var header: (command: CommandSet, contextID: UInt8)?
        var collected = ByteBuffer()
        var sink: (any InstanceSink)?
        var refusal: StoreOutcome?
        func finishStore(_ command: CommandSet, _ contextID: UInt8) async throws {
            let outcome: StoreOutcome
            if let s = sink { outcome = await s.finish() } else { outcome = refusal ?? StoreOutcome(status: .storageFailed) }
            try await writer.send(CommandSet.response(to: command, field: .cStoreRSP, status: outcome.status, comment: outcome.comment),
                                  contextID: contextID)
            header = nil
            sink = nil
            refusal = nil
        }
        do {
            while true {
                // One PDU may carry the PDVs of several messages (PS3.8 9.3.5): what this message does not
                // take stays in `unread` for the next one.
                guard let pdv = unread.popFirst() else {
                    guard let pdu = try await inbound.next() else { break }
                    switch pdu {
                    case .dataTF(let data):
                        unread = data.pdvs[...]
                        continue
                    case .abort(let a):
                        released = true
                        throw AssociationError("association aborted by the peer (\(a.reason))")
                    case .releaseRQ:
                        try await writer.write(.releaseRP)
                        released = true
                        throw AssociationError("the peer released the association before responding")
                    default:
                        throw AssociationError("unexpected \(pdu.type) on an established association")
                    }
                }
                let event: MessageAssembler.Event?
                do { event = try assembler.feed(pdv) } catch let violation as MessageAssembler.Violation {
                    released = true
                    try? await writer.write(.abort(violation.abort))
                    throw AssociationError("the peer broke the message rules: \(violation.description)")
                }
                switch event {
                case nil: continue
                case .command(let command, let contextID, let expectsDataSet)?:
                    header = (command, contextID)
                    collected.clear()
                    let isStore = command.commandField == .cStoreRQ
                    if isStore { (sink, refusal) = await openSink(command, contextID, incoming) }
                    if !expectsDataSet {
                        if isStore { try await finishStore(command, contextID); continue }
                        return message(command, contextID, nil)
                    }
                case .dataSet(var bytes, _, let isLast)?:
                    guard let (command, contextID) = header else { continue }
                    if command.commandField == .cStoreRQ {
                        if let s = sink {
                            do { try await s.write(bytes) } catch {
                                await s.cancel()
                                sink = nil
                                refusal = StoreOutcome(status: .outOfResources, comment: "\(error)")
                            }
                        }
                        if isLast { try await finishStore(command, contextID) }
                        continue
                    }
                    guard collected.readableBytes + bytes.readableBytes <= Self.maxResponseDataSetLength else {
                        throw AssociationError("the peer's \(command.commandField.map { "\($0)" } ?? "message") dataset exceeds \(Self.maxResponseDataSetLength) bytes")
                    }
                    // A dataset in one fragment (a C-FIND answer, nearly always) is read where it arrived.
                    if isLast, collected.readableBytes == 0 { return message(command, contextID, try decode(bytes, contextID)) }
                    collected.writeBuffer(&bytes)
                    if isLast { return message(command, contextID, try decode(collected, contextID)) }
                }
            }
            released = true
            throw AssociationError("connection closed while waiting for a response")
        } catch {
            await sink?.cancel()
            throw error
        }
    }

    private func message(_ command: CommandSet, _ contextID: UInt8, _ dataSet: DataSet?) -> Message {
        command.commandField?.isResponse == true ? .response(command, dataSet) : .request(command, contextID: contextID, dataSet)
    }

    private func decode(_ bytes: ByteBuffer, _ contextID: UInt8) throws -> DataSet? {
        guard bytes.readableBytes > 0 else { return nil }
        guard let context = negotiated.acceptedContexts[contextID] else {
            throw AssociationError("dataset on unknown presentation context \(contextID)")
        }
        return try AssociationSession.decode(bytes, in: context)
    }

    private func openSink(_ command: CommandSet, _ contextID: UInt8, _ incoming: (any IncomingStoreHandler)?) async -> ((any InstanceSink)?, StoreOutcome?) {
        guard let incoming, let ctx = negotiated.acceptedContexts[contextID], ctx.requestorIsSCP,
              let syntax = ctx.syntax else {
            return (nil, StoreOutcome(status: .sopClassNotSupported, comment: "no C-STORE expected on context \(contextID)"))
        }
        let request = StoreRequest(callingAETitle: negotiated.calledAETitle, calledAETitle: negotiated.callingAETitle,
                                   sopClassUID: command.affectedSOPClassUID ?? "", sopInstanceUID: command.affectedSOPInstanceUID ?? "",
                                   transferSyntax: syntax, messageID: command.messageID ?? 0, priority: command.priority,
                                   moveOriginatorAETitle: command.moveOriginatorAETitle)
        do { return (try await incoming.beginStore(request), nil) } catch let r as StoreRefusal {
            return (nil, r.outcome)
        } catch {
            return (nil, StoreOutcome(status: .outOfResources, comment: "\(error)"))
        }
    }
}

/// Where an SCU puts the instances a C-GET sends it (a folder, an archive).
public protocol IncomingStoreHandler: Sendable {
    func beginStore(_ request: StoreRequest) async throws -> any InstanceSink
}
