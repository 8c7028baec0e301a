import DICOM
import NIOCore
import NIOPosix

/// Why an SCU operation failed.
public struct AssociationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The SCU side of an association (`arca echo`, `arca store`): opened by `withAssociation`, used by one task.
public final class ClientAssociation {
    public let negotiated: NegotiatedAssociation
    private var inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<PDU>
    private let fragmenter: MessageFragmenter
    private var nextMessageID: UInt16 = 1
    private var released = false

    init(negotiated: NegotiatedAssociation, inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator,
         outbound: NIOAsyncChannelOutboundWriter<PDU>) {
        self.negotiated = negotiated
        self.inbound = inbound
        self.outbound = outbound
        self.fragmenter = MessageFragmenter(peerMaxPDULength: negotiated.peerMaxPDULength)
    }

    /// Connects, negotiates and runs `body`; releases the association afterwards (aborts it if `body` throws).
    public static func withAssociation<R>(
        host: String, port: Int, request: AssociateRequest, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (ClientAssociation) async throws -> R
    ) async throws -> R {
        let maxPDU = request.userInformation.maxPDULength ?? 0
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PDUDecoder(maxDataPDULength: maxPDU)),
                        MessageToByteHandler(PDUEncoder()),
                    ])
                    return try NIOAsyncChannel<PDU, PDU>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
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

    /// The accepted context for an abstract syntax, preferring one of `transferSyntaxes` in their order.
    public func context(for abstractSyntax: String, preferring transferSyntaxes: [String] = []) -> AcceptedPresentationContext? {
        let candidates = negotiated.acceptedContexts.values.filter { $0.abstractSyntax == abstractSyntax }.sorted { $0.id < $1.id }
        for ts in transferSyntaxes {
            if let c = candidates.first(where: { $0.transferSyntax == ts }) { return c }
        }
        return candidates.first
    }

    /// C-ECHO.
    public func echo() async throws -> DIMSEStatus {
        guard let ctx = context(for: UpperLayerUID.verificationSOPClass) else {
            throw AssociationError("the peer did not accept the Verification SOP Class")
        }
        let command = CommandSet.echoRequest(messageID: takeMessageID())
        try await send(command, contextID: ctx.id)
        return try await awaitResponse(to: command).status ?? .processingFailure
    }

    /// C-STORE of a dataset already encoded in the context's transfer syntax, streamed from `chunks`.
    public func store(sopClassUID: String, sopInstanceUID: String, contextID: UInt8,
                      dataSet chunks: (_ maxChunk: Int, _ emit: (ByteBuffer) async throws -> Void) async throws -> Void) async throws -> CommandSet {
        let command = CommandSet.storeRequest(messageID: takeMessageID(), sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID)
        try await send(command, contextID: contextID)
        var pending: ByteBuffer?
        // Each chunk goes out as one PDV; the last one carries the last-fragment bit, so hold one back.
        try await chunks(fragmenter.maxFragment) { chunk in
            if let previous = pending {
                try await outbound.write(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: false, isLast: false, data: previous)])))
            }
            pending = chunk
        }
        try await outbound.write(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: false, isLast: true,
                                                                 data: pending ?? ByteBuffer())])))
        return try await awaitResponse(to: command)
    }

    /// A-RELEASE: waits for the A-RELEASE-RP (answering a colliding A-RELEASE-RQ from the peer).
    public func release() async throws {
        guard !released else { return }
        released = true
        try await outbound.write(.releaseRQ)
        while let pdu = try await inbound.next() {
            switch pdu {
            case .releaseRP: return
            case .releaseRQ: try await outbound.write(.releaseRP)  // release collision (PS3.8 7.2)
            case .abort: return
            default: continue
            }
        }
    }

    private func takeMessageID() -> UInt16 {
        defer { nextMessageID = nextMessageID == UInt16.max ? 1 : nextMessageID + 1 }
        return nextMessageID
    }

    private func send(_ command: CommandSet, contextID: UInt8) async throws {
        try await outbound.write(contentsOf: fragmenter.pdus(ByteBuffer(bytes: try command.encoded()), contextID: contextID, isCommand: true))
    }

    /// Reads PDUs until the response command to `request` is complete.
    private func awaitResponse(to request: CommandSet) async throws -> CommandSet {
        var bytes = ByteBuffer()
        while let pdu = try await inbound.next() {
            switch pdu {
            case .dataTF(let data):
                for pdv in data.pdvs where pdv.isCommand {
                    var d = pdv.data
                    guard bytes.readableBytes + d.readableBytes <= CommandSet.maxEncodedLength else {
                        throw AssociationError("response command set too large")
                    }
                    bytes.writeBuffer(&d)
                    if pdv.isLast {
                        let response = try CommandSet.decode(bytes)
                        bytes.clear()
                        if response.messageIDBeingRespondedTo == request.messageID { return response }
                    }
                }
            case .abort(let a):
                released = true
                throw AssociationError("association aborted by the peer (\(a.reason))")
            case .releaseRQ:
                try await outbound.write(.releaseRP)
                released = true
                throw AssociationError("the peer released the association before responding")
            default:
                throw AssociationError("unexpected \(pdu.type) while waiting for a response")
            }
        }
        released = true
        throw AssociationError("connection closed while waiting for a response")
    }
}
