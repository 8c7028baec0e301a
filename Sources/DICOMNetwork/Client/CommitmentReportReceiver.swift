import DICOM
import NIOConcurrencyHelpers

/// The storage commitment requestor's side of a report sent on a new association (PS3.4 J.3.3): a service
/// for a listening SCP that takes N-EVENT-REPORTs of the Storage Commitment Push Model SOP class, answers
/// them, and hands them to whoever waits.
public struct CommitmentReportReceiver: CollectingDIMSEService {
    public static let sopClassUID = "1.2.840.10008.1.20.1"
    public let reports: AsyncStream<(CommandSet, DataSet?)>
    private let continuation: AsyncStream<(CommandSet, DataSet?)>.Continuation

    public init() {
        (reports, continuation) = AsyncStream.makeStream(of: (CommandSet, DataSet?).self)
    }

    public var commands: Set<CommandField> { [.nEventReportRQ] }

    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        abstractSyntax == Self.sopClassUID
            ? AbstractSyntaxSupport(transferSyntaxes: .uncompressed, acceptsRequestorSCU: true, acceptsRequestorSCP: true) : nil
    }

    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        try await responder.respond(status: .success) { rsp in
            if let type = request.command.dataSet.int(.eventTypeID) { rsp.setUS(UInt16(truncatingIfNeeded: type), .eventTypeID) }
        }
        continuation.yield((request.command, request.dataSet))
    }

    public func finish() { continuation.finish() }
}
