import DICOM
import Logging
import NIOCore

/// One association on the SCP side, from A-ASSOCIATE-RQ to release or abort: negotiation, DIMSE message
/// assembly from PDVs, C-ECHO, and C-STORE streamed into the storage service as fragments arrive.
struct AssociationSession {
    let channel: NIOAsyncChannel<PDU, PDU>
    let configuration: SCPConfiguration
    let storage: any StorageService
    let registry: AssociationRegistry
    let logger: Logger

    /// The message being received.
    private enum Incoming {
        case idle
        case command(contextID: UInt8, bytes: ByteBuffer)
        case dataSet(Transfer)
    }

    private struct Transfer {
        let contextID: UInt8
        let command: CommandSet
        let sink: (any InstanceSink)?
        let refusal: StoreOutcome?
        var received: UInt64 = 0
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
        switch negotiate(rq, policy: configuration.policy, activeAssociations: slot.othersActive) {
        case .reject(let rj):
            logger.notice("[REJECT] \(rq.callingAETitle) -> \(rq.calledAETitle) from \(peer): \(rj.reasonDescription)")
            try await outbound.write(.associateRJ(rj))
            return
        case .accept(let ac, let association):
            registry.activate(slot)
            try await outbound.write(.associateAC(ac))
            logger.info("[CONNECT] \(association.callingAETitle) -> \(association.calledAETitle) (active: \(registry.active))")
            try await established(association, &inbound, outbound)
        }
    }

    private func established(_ association: NegotiatedAssociation,
                             _ inbound: inout NIOAsyncChannelInboundStream<PDU>.AsyncIterator,
                             _ outbound: NIOAsyncChannelOutboundWriter<PDU>) async throws {
        let calling = association.callingAETitle
        let fragmenter = MessageFragmenter(peerMaxPDULength: association.peerMaxPDULength)
        var incoming = Incoming.idle
        func cancelTransfer() async {
            if case .dataSet(let t) = incoming { await t.sink?.cancel() }
            incoming = .idle
        }
        do {
            while let pdu = try await inbound.next() {
                switch pdu {
                case .dataTF(let data):
                    for pdv in data.pdvs {
                        incoming = try await handle(pdv, incoming, association, outbound, fragmenter)
                    }
                case .releaseRQ:
                    await cancelTransfer()
                    try await outbound.write(.releaseRP)
                    logger.info("[RELEASE] \(calling) disconnected (active: \(registry.active - 1))")
                    return
                case .abort(let abort):
                    await cancelTransfer()
                    logger.notice("[ABORT] \(calling) aborted the association (\(abort.reason))")
                    return
                case .associateRQ, .associateAC, .associateRJ, .releaseRP:
                    throw ProtocolViolation("unexpected \(pdu.type) on an established association")
                }
            }
            await cancelTransfer()
            logger.notice("[ABORT] \(calling) closed the connection without releasing")
        } catch let violation as ProtocolViolation {
            await cancelTransfer()
            logger.warning("[ABORT] \(calling): \(violation.description)")
            try? await outbound.write(.abort(violation.abort))
        } catch let error as PDUError {
            await cancelTransfer()
            logger.warning("[ABORT] \(calling): \(error)")
            try? await outbound.write(.abort(error.abort))
        } catch {
            await cancelTransfer()
            logger.error("[ERROR] \(calling): \(error)")
            try? await outbound.write(.abort(Abort(source: .serviceProvider, reason: .notSpecified)))
        }
    }

    /// Advances message assembly by one PDV.
    private func handle(_ pdv: PDV, _ state: Incoming, _ association: NegotiatedAssociation,
                        _ outbound: NIOAsyncChannelOutboundWriter<PDU>, _ fragmenter: MessageFragmenter) async throws -> Incoming {
        guard let context = association.acceptedContexts[pdv.contextID] else {
            throw ProtocolViolation("PDV on presentation context \(pdv.contextID), which was not accepted", reason: .invalidPDUParameterValue)
        }
        switch state {
        case .idle where pdv.isCommand, .command where pdv.isCommand:
            var bytes: ByteBuffer
            if case .command(let id, let b) = state {
                guard id == pdv.contextID else { throw ProtocolViolation("command fragments on two presentation contexts") }
                bytes = b
            } else {
                bytes = ByteBuffer()
            }
            var fragment = pdv.data
            guard bytes.readableBytes + fragment.readableBytes <= CommandSet.maxEncodedLength else {
                throw ProtocolViolation("command set larger than \(CommandSet.maxEncodedLength) bytes", reason: .invalidPDUParameterValue)
            }
            bytes.writeBuffer(&fragment)
            guard pdv.isLast else { return .command(contextID: pdv.contextID, bytes: bytes) }
            let command: CommandSet
            do { command = try CommandSet.decode(bytes) } catch {
                throw ProtocolViolation("\(error)", reason: .invalidPDUParameterValue)
            }
            return try await dispatch(command, context, association, outbound, fragmenter)
        case .dataSet(var transfer) where !pdv.isCommand:
            guard transfer.contextID == pdv.contextID else {
                throw ProtocolViolation("dataset fragment on context \(pdv.contextID), command was on \(transfer.contextID)")
            }
            transfer.received += UInt64(pdv.data.readableBytes)
            guard transfer.received <= configuration.maxObjectSize else {
                throw ProtocolViolation("dataset grows past the maximum object size (\(configuration.maxObjectSize) bytes)",
                                        reason: .invalidPDUParameterValue)
            }
            if let sink = transfer.sink {
                do { try await sink.write(pdv.data) } catch {
                    // The sink failed (disk full…): keep reading the dataset, answer with its outcome at the end.
                    await sink.cancel()
                    transfer = Transfer(contextID: transfer.contextID, command: transfer.command, sink: nil,
                                        refusal: StoreOutcome(status: .outOfResources, comment: "\(error)"), received: transfer.received)
                }
            }
            guard pdv.isLast else { return .dataSet(transfer) }
            let outcome: StoreOutcome
            if let sink = transfer.sink { outcome = await sink.finish() } else {
                outcome = transfer.refusal ?? StoreOutcome(status: .storageFailed, comment: "not stored")
            }
            try await respond(to: transfer.command, .cStoreRSP, outcome, transfer.contextID, outbound, fragmenter)
            return .idle
        default:
            throw ProtocolViolation(pdv.isCommand ? "command fragment while a dataset was expected" : "dataset fragment without a command")
        }
    }

    /// Acts on a complete command: answers C-ECHO, opens a sink for C-STORE, refuses what Arca does not serve.
    private func dispatch(_ command: CommandSet, _ context: AcceptedPresentationContext, _ association: NegotiatedAssociation,
                          _ outbound: NIOAsyncChannelOutboundWriter<PDU>, _ fragmenter: MessageFragmenter) async throws -> Incoming {
        let field = command.commandField ?? CommandField(rawValue: 0)
        switch field {
        case .cEchoRQ:
            logger.debug("[C-ECHO] from \(association.callingAETitle)")
            try await respond(to: command, .cEchoRSP, .success, context.id, outbound, fragmenter)
            return .idle
        case .cStoreRQ:
            guard command.hasDataSet else {
                try await respond(to: command, .cStoreRSP, StoreOutcome(status: .cannotUnderstand, comment: "C-STORE-RQ without dataset"),
                                  context.id, outbound, fragmenter)
                return .idle
            }
            guard let ts = TransferSyntax(uid: context.transferSyntax) else {
                throw ProtocolViolation("context \(context.id) has no usable transfer syntax")
            }
            let request = StoreRequest(
                callingAETitle: association.callingAETitle, calledAETitle: association.calledAETitle,
                sopClassUID: command.affectedSOPClassUID ?? "", sopInstanceUID: command.affectedSOPInstanceUID ?? "",
                transferSyntax: ts, messageID: command.messageID ?? 0, priority: command.priority,
                moveOriginatorAETitle: command.moveOriginatorAETitle)
            do {
                let sink = try await storage.beginStore(request)
                return .dataSet(Transfer(contextID: context.id, command: command, sink: sink, refusal: nil))
            } catch let refusal as StoreRefusal {
                return .dataSet(Transfer(contextID: context.id, command: command, sink: nil, refusal: refusal.outcome))
            } catch {
                return .dataSet(Transfer(contextID: context.id, command: command, sink: nil,
                                         refusal: StoreOutcome(status: .outOfResources, comment: "\(error)")))
            }
        case .cCancelRQ:
            return .idle
        default:
            guard !field.isResponse else { throw ProtocolViolation("unexpected \(field) from the requestor") }
            let rsp = CommandField(rawValue: field.rawValue | 0x8000)
            let outcome = StoreOutcome(status: .unrecognizedOperation, comment: "\(field) is not supported")
            if command.hasDataSet {
                return .dataSet(Transfer(contextID: context.id, command: command, sink: nil, refusal: outcome))
            }
            try await respond(to: command, rsp, outcome, context.id, outbound, fragmenter)
            return .idle
        }
    }

    private func respond(to command: CommandSet, _ field: CommandField, _ outcome: StoreOutcome, _ contextID: UInt8,
                         _ outbound: NIOAsyncChannelOutboundWriter<PDU>, _ fragmenter: MessageFragmenter) async throws {
        var rspField = field
        if command.commandField != .cStoreRQ && command.commandField != .cEchoRQ, let f = command.commandField {
            rspField = CommandField(rawValue: f.rawValue | 0x8000)
        }
        let response = CommandSet.response(to: command, field: rspField, status: outcome.status, comment: outcome.comment)
        let bytes = ByteBuffer(bytes: try response.encoded())
        try await outbound.write(contentsOf: fragmenter.pdus(bytes, contextID: contextID, isCommand: true))
    }
}
