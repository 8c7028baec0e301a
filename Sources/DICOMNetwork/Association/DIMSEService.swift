import DICOM
import NIOConcurrencyHelpers

/// A DIMSE service the SCP performs (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET, N-ACTION…). It declares what it
/// serves; negotiation and dispatch are derived from these declarations by ``DIMSEServiceRegistry``.
public protocol DIMSEService: Sendable {
    /// The request command fields it performs on its abstract syntaxes.
    var commands: Set<CommandField> { get }
    /// How a proposed abstract syntax is negotiated for this service; nil: not one of its SOP classes.
    func support(for abstractSyntax: String) -> AbstractSyntaxSupport?
}

/// A service whose request dataset (an identifier, an action's information) is small: the session collects
/// and decodes it, then runs ``perform(_:_:)`` in its own task while it keeps reading, so a C-CANCEL reaches
/// a running operation.
public protocol CollectingDIMSEService: DIMSEService {
    /// The largest request dataset accepted (bytes); a larger one fails the request (0xA700) unread.
    var maxRequestDataSetLength: Int { get }
    /// Performs the request: sends any number of pending responses and exactly one final response through
    /// `responder`. A thrown error sends a failure (0x0110 with the error as its comment) if no final response
    /// went out.
    func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws
}

extension CollectingDIMSEService {
    public var maxRequestDataSetLength: Int { 1 << 20 }
}

/// A service whose request dataset streams to a sink as it arrives (C-STORE: an image is never held whole).
/// The session answers with the sink's outcome once the last fragment is in.
public protocol StreamingDIMSEService: DIMSEService {
    /// Opens the sink for a request's dataset. Throwing refuses it: the thrown `StoreRefusal` (or 0xA700
    /// for other errors) is answered once the dataset has been read and dropped.
    func beginDataSet(_ request: DIMSERequest) async throws -> any InstanceSink
}

/// One request as a service sees it.
public struct DIMSERequest: Sendable {
    public let command: CommandSet
    /// The presentation context it came on (abstract syntax, transfer syntax of its dataset, roles).
    public let context: AcceptedPresentationContext
    public let association: NegotiatedAssociation
    /// The peer's address, e.g. "127.0.0.1:51234".
    public let peerAddress: String
    /// The peer's address and, over TLS, its certificate subject.
    public let peer: PeerIdentity
    /// The request's dataset decoded in the context's transfer syntax (collecting services); nil when none.
    public let dataSet: DataSet?
    let cancellation: CancellationSignal
    /// The thread the request is served on, and whether its service may block it (`AssociationThreads`).
    public let thread: AssociationThread

    public init(command: CommandSet, context: AcceptedPresentationContext, association: NegotiatedAssociation,
                peerAddress: String, peer: PeerIdentity? = nil, dataSet: DataSet? = nil,
                cancellation: CancellationSignal = CancellationSignal(), thread: AssociationThread = .shared) {
        self.command = command
        self.context = context
        self.association = association
        self.peerAddress = peerAddress
        self.peer = peer ?? PeerIdentity(address: peerAddress, host: nil)
        self.dataSet = dataSet
        self.cancellation = cancellation
        self.thread = thread
    }

    /// Whether the requestor sent a C-CANCEL for this request (or the association went away).
    public var isCancelled: Bool { cancellation.isCancelled || Task.isCancelled }

    public var messageID: UInt16 { command.messageID ?? 0 }
}

/// Set once by the session when a C-CANCEL-RQ names a running request; read by the operation between steps.
public final class CancellationSignal: Sendable {
    private let flag = NIOLockedValueBox(false)
    public init() {}
    public var isCancelled: Bool { flag.withLockedValue { $0 } }
    public func cancel() { flag.withLockedValue { $0 = true } }
}

/// The services of one SCP, in order of registration. Negotiation asks it how to answer each proposed
/// abstract syntax; the session asks it who performs each request.
public struct DIMSEServiceRegistry: Sendable {
    public let services: [any DIMSEService]

    public init(_ services: [any DIMSEService]) {
        self.services = services
    }

    /// The merged support of every service serving `abstractSyntax` (nil: none does).
    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        var merged: AbstractSyntaxSupport?
        for service in services {
            guard let s = service.support(for: abstractSyntax) else { continue }
            merged = merged.map { $0.merged(with: s) } ?? s
        }
        return merged
    }

    /// The service performing `command` on `abstractSyntax`.
    public func service(for command: CommandField, abstractSyntax: String) -> (any DIMSEService)? {
        services.first { $0.commands.contains(command) && $0.support(for: abstractSyntax) != nil }
    }

    /// Whether some service performs `command` at all (to tell "not on this SOP class" from "not supported").
    public func performs(_ command: CommandField) -> Bool {
        services.contains { $0.commands.contains(command) }
    }
}

/// C-ECHO (Verification SOP Class, PS3.4 A): answers success.
public struct VerificationService: CollectingDIMSEService {
    public init() {}
    public var commands: Set<CommandField> { [.cEchoRQ] }
    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        abstractSyntax == UpperLayerUID.verificationSOPClass ? AbstractSyntaxSupport(transferSyntaxes: .uncompressed) : nil
    }
    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        try await responder.respond(status: .success)
    }
}

/// C-STORE SCP over a ``StorageService``: every storage SOP class the predicate accepts, compressed syntaxes
/// kept as sent, each dataset streamed to the storage's sink.
public struct StorageSCPService: StreamingDIMSEService {
    public let storage: any StorageService
    public let acceptsSOPClass: @Sendable (String) -> Bool

    public init(storage: any StorageService, acceptsSOPClass: @escaping @Sendable (String) -> Bool) {
        self.storage = storage
        self.acceptsSOPClass = acceptsSOPClass
    }

    public var commands: Set<CommandField> { [.cStoreRQ] }

    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        acceptsSOPClass(abstractSyntax) ? AbstractSyntaxSupport(transferSyntaxes: .storage) : nil
    }

    public func beginDataSet(_ request: DIMSERequest) async throws -> any InstanceSink {
        guard let ts = request.context.syntax else {
            throw StoreRefusal(.cannotUnderstand, "transfer syntax \(request.context.transferSyntax) is not usable")
        }
        let command = request.command
        return try await storage.beginStore(StoreRequest(
            callingAETitle: request.association.callingAETitle, calledAETitle: request.association.calledAETitle,
            sopClassUID: command.affectedSOPClassUID ?? "", sopInstanceUID: command.affectedSOPInstanceUID ?? "",
            transferSyntax: ts, messageID: command.messageID ?? 0, priority: command.priority,
            moveOriginatorAETitle: command.moveOriginatorAETitle, thread: request.thread))
    }
}
