import DICOM
import NIOConcurrencyHelpers
import NIOCore

/// What a service uses to answer one request: any number of pending responses, one final response, and,
/// on this same association, requests of its own that the requestor performs (the C-STORE sub-operations of
/// a C-GET, the N-EVENT-REPORT of a storage commitment).
public struct DIMSEResponder: Sendable {
    let request: CommandSet
    let context: AcceptedPresentationContext
    let association: NegotiatedAssociation
    /// Told of the final response (the session records it in the audit trail).
    let onFinal: (@Sendable (DIMSEStatus, CommandSet) -> Void)?
    let writer: MessageWriter
    let router: ResponseRouter
    let messageIDs: MessageIDs
    let operations: OperationTable

    /// The contexts accepted on this association (to pick one for a sub-operation).
    public var acceptedContexts: [AcceptedPresentationContext] {
        association.acceptedContexts.values.sorted { $0.id < $1.id }
    }

    /// Sends a response to the request: pending when `status` is 0xFF00/0xFF01, final otherwise (after a final
    /// response the operation no longer counts against the asynchronous operations window). `configure`
    /// adds fields (sub-operation counts…); `dataSet` is encoded in the request context's transfer syntax.
    public func respond(status: DIMSEStatus, comment: String? = nil, dataSet: DataSet? = nil,
                        _ configure: (inout CommandSet) -> Void = { _ in }) async throws {
        var response = CommandSet.response(answering: request, status: status, comment: comment)
        configure(&response)
        let bytes = try dataSet.map { try encode($0, contextID: context.id) }
        if !status.isPending {
            operations.finished(request.messageID ?? 0)
            onFinal?(status, response)
        }
        try await writer.send(response, contextID: context.id, dataSet: bytes)
    }

    /// Sends one pending response (0xFF00) per dataset already encoded in `dataSetSyntax()`, all in one write.
    public func respondPending(encoded dataSets: [[UInt8]]) async throws {
        let response = CommandSet.response(answering: request, status: .pending)
        try await writer.send(response, dataSets: dataSets, contextID: context.id)
    }

    /// Sends the last pending responses and the final response (`status`, not pending) in one write: a short
    /// answer costs the requestor one wake-up instead of two.
    public func respondPending(encoded dataSets: [[UInt8]], final status: DIMSEStatus, comment: String? = nil) async throws {
        let pending = CommandSet.response(answering: request, status: .pending)
        let response = CommandSet.response(answering: request, status: status, comment: comment)
        operations.finished(request.messageID ?? 0)
        onFinal?(status, response)
        try await writer.send(pending, dataSets: dataSets, contextID: context.id, final: response)
    }

    /// The transfer syntax of the request's presentation context: what its datasets are encoded in.
    public func dataSetSyntax() throws -> TransferSyntax {
        try syntax(contextID: context.id)
    }

    /// Sends a request of ours on context `contextID` (its dataset streamed from `producer`, if any) and waits
    /// for the requestor's response. The request gets a fresh Message ID.
    public func request(_ command: CommandSet, contextID: UInt8, producer: DataSetProducer? = nil) async throws -> CommandSet {
        var command = command
        let id = messageIDs.take()
        command.setUS(id, .messageID)
        try router.expect(id)
        if let producer {
            try await writer.send(command, contextID: contextID, producer: producer)
        } else {
            try await writer.send(command, contextID: contextID)
        }
        return try await router.response(to: id)
    }

    /// Sends a request of ours with a small dataset (an event report) and waits for the response.
    public func request(_ command: CommandSet, contextID: UInt8, dataSet: DataSet) async throws -> CommandSet {
        var command = command
        let id = messageIDs.take()
        command.setUS(id, .messageID)
        let bytes = try encode(dataSet, contextID: contextID)
        try router.expect(id)
        try await writer.send(command, contextID: contextID, dataSet: bytes)
        return try await router.response(to: id)
    }

    /// Encodes a dataset in the transfer syntax of one of this association's contexts.
    public func encode(_ dataSet: DataSet, contextID: UInt8) throws -> [UInt8] {
        try DataSetWriter.encode(dataSet, syntax: try syntax(contextID: contextID))
    }

    private func syntax(contextID: UInt8) throws -> TransferSyntax {
        guard let syntax = association.acceptedContexts[contextID]?.syntax else {
            throw DIMSEError("no usable transfer syntax on presentation context \(contextID)")
        }
        return syntax
    }
}

extension DIMSEStatus {
    /// Pending statuses (0xFF00, 0xFF01): more responses follow.
    public var isPending: Bool { rawValue == 0xFF00 || rawValue == 0xFF01 }
}

/// The requests of one association being performed, by Message ID: the asynchronous operations window
/// counts them, and a C-CANCEL finds them here.
final class OperationTable: Sendable {
    private let running = NIOLockedValueBox<[UInt16: CancellationSignal]>([:])
    /// At most this many at once (the negotiated Maximum Number Operations Invoked; 0: no limit).
    let window: Int

    init(window: Int) { self.window = window }

    /// Registers a request about to be performed; false when that would exceed the window.
    func start(_ messageID: UInt16, _ signal: CancellationSignal) -> Bool {
        running.withLockedValue { table in
            if window > 0 && table.count >= window { return false }
            table[messageID] = signal
            return true
        }
    }

    /// The final response is being sent: the requestor may invoke another operation.
    func finished(_ messageID: UInt16) {
        _ = running.withLockedValue { $0.removeValue(forKey: messageID) }
    }

    /// A C-CANCEL-RQ for `messageID`; false when no such operation runs (it already ended).
    func cancel(_ messageID: UInt16) -> Bool {
        guard let signal = running.withLockedValue({ $0[messageID] }) else { return false }
        signal.cancel()
        return true
    }

    func cancelAll() {
        for signal in running.withLockedValue({ Array($0.values) }) { signal.cancel() }
    }

    func isRunning(_ messageID: UInt16) -> Bool { running.withLockedValue { $0[messageID] != nil } }
}
