import DICOM
import NIOConcurrencyHelpers
import NIOCore

/// Produces a message's dataset in pieces of at most `maxChunk` bytes, handing each to `emit`: a dataset is
/// sent as it is read (a stored file, a rebuilt instance), never held whole.
public typealias DataSetProducer = (_ maxChunk: Int, _ emit: (ByteBuffer) async throws -> Void) async throws -> Void

/// Sends DIMSE messages on one association, a whole message at a time: operations running side by side
/// (a C-FIND's answers, a C-GET's sub-operations, a C-STORE's response) never interleave their PDVs, which
/// the receiver's message assembly forbids (PS3.7 6.3.1).
public final class MessageWriter: Sendable {
    private let outbound: NIOAsyncChannelOutboundWriter<PDU>
    public let fragmenter: MessageFragmenter
    private let lock = AsyncSemaphore(permits: 1)
    private let aborted = NIOLockedValueBox(false)

    /// Whether this writer ended the association with an A-ABORT (a message that failed midway): nothing may
    /// follow it, an A-RELEASE-RP least of all.
    public var hasAborted: Bool { aborted.withLockedValue { $0 } }

    public init(outbound: NIOAsyncChannelOutboundWriter<PDU>, peerMaxPDULength: UInt32) {
        self.outbound = outbound
        self.fragmenter = MessageFragmenter(peerMaxPDULength: peerMaxPDULength)
    }

    /// A dataset producer failed after part of its message went out: the association cannot continue.
    public struct BrokenMessage: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends a command and, when given, its dataset already encoded in the context's transfer syntax.
    public func send(_ command: CommandSet, contextID: UInt8, dataSet: [UInt8]? = nil) async throws {
        var command = command
        if dataSet != nil, !command.hasDataSet { command.setUS(0x0000, .commandDataSetType) }
        let commandBytes = ByteBuffer(bytes: try command.encoded())
        try await lock.withPermit {
            var pdus = fragmenter.pdus(commandBytes, contextID: contextID, isCommand: true)
            guard let dataSet else { return try await outbound.write(contentsOf: pdus) }
            // A batch's worth of PDUs at a time (`PDUBatch`): for a peer whose Maximum Length is a few bytes, a
            // storage commitment report of 100,000 references was millions of PDUs at once.
            var remaining = ByteBuffer(bytes: dataSet)
            let piece = fragmenter.maxFragment * PDUBatch.maxPDUs
            repeat {
                let bytes = remaining.readSlice(length: min(piece, remaining.readableBytes)) ?? ByteBuffer()
                pdus += fragmenter.pdus(bytes, contextID: contextID, isCommand: false, endsMessage: remaining.readableBytes == 0)
                try await outbound.write(contentsOf: pdus)
                pdus.removeAll(keepingCapacity: true)
            } while remaining.readableBytes > 0
        }
    }

    /// Sends several messages with one command in one write, each message's command and dataset in one PDU
    /// where the peer's Maximum Length allows: the pending answers of a C-FIND go out together instead of one
    /// flush (and one system call) each, and their command, the same for all, is encoded once. The PDUs are
    /// encoded here into one buffer that goes down the channel whole: one PDU at a time through the pipeline
    /// cost an allocation, a copy and a pass through every handler per answer.
    /// A `final` command without a dataset (the operation's final response) follows them in the same write.
    public func send(_ command: CommandSet, dataSets: [[UInt8]], contextID: UInt8, final: CommandSet? = nil) async throws {
        var command = command
        if !dataSets.isEmpty, !command.hasDataSet { command.setUS(0x0000, .commandDataSetType) }
        let commandBytes = try command.encoded()
        let finalBytes = try final.map { ByteBuffer(bytes: try $0.encoded()) }
        // Each PDU adds at most a 6-byte PDU header and two 6-byte PDV headers to what it carries.
        var batch = ByteBuffer()
        batch.reserveCapacity(dataSets.reduce(0) { $0 + $1.count + commandBytes.count + 18 } + (finalBytes?.readableBytes ?? 0) + 18)
        fragmenter.writePacked(command: commandBytes, dataSets: dataSets, contextID: contextID, into: &batch)
        if let finalBytes {
            for pdu in fragmenter.pdus(finalBytes, contextID: contextID, isCommand: true) { try pdu.encode(into: &batch) }
        }
        try await lock.withPermit { try await outbound.write(.encoded(batch)) }
    }

    /// Sends a command whose dataset is streamed from `producer`. If the producer fails midway, the
    /// association is aborted (its half-sent message cannot be taken back) and `BrokenMessage` is thrown.
    /// PDUs go out in batches of about a megabyte (`PDUBatch`): one flush per PDU (16 KB for many peers) would cost a
    /// system call each, a third of a CT slice's sending time.
    public func send(_ command: CommandSet, contextID: UInt8, producer: DataSetProducer) async throws {
        let commandBytes = ByteBuffer(bytes: try command.encoded())
        try await lock.withPermit {
            var batch = PDUBatch(fragmenter.pdus(commandBytes, contextID: contextID, isCommand: true), bytes: commandBytes.readableBytes)
            var pending: ByteBuffer?
            do {
                // Each chunk goes out as one PDV; the last carries the last-fragment bit, so one is held back.
                try await producer(fragmenter.maxFragment) { chunk in
                    if let previous = pending {
                        batch.append(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: false, isLast: false, data: previous)])),
                                     bytes: previous.readableBytes)
                        if batch.isFull {
                            try await self.outbound.write(contentsOf: batch.pdus)
                            batch.removeAll()
                        }
                    }
                    pending = chunk
                }
            } catch {
                aborted.withLockedValue { $0 = true }
                try? await outbound.write(.abort(Abort(source: .serviceUser, reason: .notSpecified)))
                throw BrokenMessage(description: "dataset of \(command.commandField.map { "\($0)" } ?? "a message") failed midway: \(error)")
            }
            batch.append(.dataTF(DataTransfer(pdvs: [PDV(contextID: contextID, isCommand: false, isLast: true, data: pending ?? ByteBuffer())])),
                         bytes: pending?.readableBytes ?? 0)
            try await outbound.write(contentsOf: batch.pdus)
        }
    }

    /// A PDU outside any message (A-RELEASE, A-ABORT), after whatever message is being sent.
    public func write(_ pdu: PDU) async throws {
        try await lock.withPermit { try await outbound.write(pdu) }
    }
}

/// The PDUs a streamed message gathers for one write: about `maxBytes` of dataset, and at most `maxPDUs` PDUs.
/// A peer announcing a Maximum Length of a few bytes gets a PDU every few bytes: a megabyte's batch was a million
/// PDU values held at once (~100 MB for one C-GET association).
struct PDUBatch {
    static let maxBytes = 1 << 20
    static let maxPDUs = 1_024
    private(set) var pdus: [PDU]
    private(set) var bytes: Int

    init(_ pdus: [PDU] = [], bytes: Int = 0) {
        self.pdus = pdus
        self.bytes = bytes
    }

    mutating func append(_ pdu: PDU, bytes count: Int) {
        pdus.append(pdu)
        bytes += count
    }

    var isFull: Bool { bytes >= Self.maxBytes || pdus.count >= Self.maxPDUs }

    mutating func removeAll() {
        pdus.removeAll(keepingCapacity: true)
        bytes = 0
    }
}

/// Message IDs for the requests one side of an association sends (1…65535, wrapping, never 0).
public final class MessageIDs: Sendable {
    private let next = NIOLockedValueBox<UInt16>(1)
    public init() {}
    public func take() -> UInt16 {
        next.withLockedValue { n in
            let id = n
            n = n == .max ? 1 : n + 1
            return id
        }
    }
}

/// Responses to the requests we sent on an association (the C-STORE sub-operations of a C-GET, an
/// N-EVENT-REPORT), matched to their waiters by Message ID Being Responded To. The reading side delivers;
/// the requesting side waits. A response may arrive before its waiter asks: it is kept until then.
final class ResponseRouter: Sendable {
    private struct State {
        var expected: Set<UInt16> = []
        var arrived: [UInt16: CommandSet] = [:]
        var waiters: [UInt16: CheckedContinuation<CommandSet, Error>] = [:]
        var closed: (any Error)?
    }
    private let state = NIOLockedValueBox(State())

    /// Announces a request about to be sent, so its response is kept even if it comes first. Throws once the
    /// association is ending (released, aborted): the request must not be sent then.
    func expect(_ messageID: UInt16) throws {
        try state.withLockedValue { s in
            if let error = s.closed { throw error }
            s.expected.insert(messageID)
        }
    }

    /// Waits for the response to an expected request.
    func response(to messageID: UInt16) async throws -> CommandSet {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CommandSet, Error>) in
            let ready = state.withLockedValue { s -> Result<CommandSet, Error>? in
                if let response = s.arrived.removeValue(forKey: messageID) {
                    s.expected.remove(messageID)
                    return .success(response)
                }
                if let error = s.closed { return .failure(error) }
                s.waiters[messageID] = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Hands a received response to its waiter; false when nobody expected it.
    func deliver(_ response: CommandSet) -> Bool {
        guard let id = response.messageIDBeingRespondedTo else { return false }
        let (known, waiter) = state.withLockedValue { s -> (Bool, CheckedContinuation<CommandSet, Error>?) in
            guard s.expected.contains(id) else { return (false, nil) }
            if let waiter = s.waiters.removeValue(forKey: id) {
                s.expected.remove(id)
                return (true, waiter)
            }
            s.arrived[id] = response
            return (true, nil)
        }
        waiter?.resume(returning: response)
        return known
    }

    /// The association ended: every waiter, present and future, fails with `error`.
    func close(_ error: any Error) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<CommandSet, Error>] in
            s.closed = error
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume(throwing: error) }
    }
}
