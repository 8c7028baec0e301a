import Archive
import DICOM
import DICOMNetwork
import Logging

/// C-FIND SCP (PS3.4 C.4.1), Patient Root and Study Root: a thin adapter over the archive's `QueryEngine`.
/// Each match is a pending response (0xFF00); a C-CANCEL ends it with 0xFE00; a query matching more than the
/// engine's limit answers the first matches and ends with 0xA700 and an Error Comment that says so (the
/// standard has no status for "more results"; a final failure is never mistaken for a complete answer).
public struct FindService: CollectingDIMSEService {
    public let engine: QueryEngine
    /// Person names insensitive to case and accents for every query (true), or only when the requestor
    /// negotiated fuzzy semantic matching (false: literal by default).
    public let foldsPersonNames: Bool
    let logger: Logger

    public init(engine: QueryEngine, foldsPersonNames: Bool = true, logger: Logger) {
        self.engine = engine
        self.foldsPersonNames = foldsPersonNames
        self.logger = logger
    }

    public var commands: Set<CommandField> { [.cFindRQ] }

    /// Answers in the first write: enough to spare most of the per-message system calls, few enough that the
    /// first answers go out at once. Later writes carry twice as many each, up to `maxBatch` (about 100 KB),
    /// which bounds what a C-CANCEL still lets through.
    static let batch = 32
    static let maxBatch = 512

    public func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
        QueryModel.allCases.contains { $0.findSOPClass == abstractSyntax } ? QueryRetrieveSupport.find(foldsPersonNames: foldsPersonNames) : nil
    }

    public func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
        guard let model = QueryModel(sopClassUID: request.context.abstractSyntax) else {
            return try await responder.respond(status: .sopClassNotSupported)
        }
        guard let identifier = request.dataSet else {
            return try await responder.respond(status: .identifierDoesNotMatchSOPClass, comment: "C-FIND-RQ without an identifier")
        }
        let query: Query
        do {
            query = try Query(identifier: identifier, model: model,
                              options: QueryRetrieveSupport.options(request, foldsPersonNames: foldsPersonNames))
        } catch let error as QueryError {
            logger.notice("[C-FIND] \(request.association.callingAETitle): refused: \(error)")
            return try await responder.respond(status: QueryRetrieveSupport.status(error), comment: error.description)
        }
        // Answers are encoded as the index is read (on this thread for a short query whose pages are cached, else
        // on an I/O thread) and go out in batches (one write each) while the rest is read; a C-CANCEL is honoured
        // between batches. The last batch and the final response go out in one write.
        var answered = 0
        var finalSent = false
        do {
            _ = try await engine.answers(to: query, syntax: try responder.dataSetSyntax(), batchSize: Self.batch, maxBatchSize: Self.maxBatch) { batch in
                guard !request.isCancelled else { return false }
                answered += batch.answers.count
                if let truncated = batch.truncated {
                    // Success, or 0xA700 with an Error Comment when the answers stop at the limit.
                    let (status, comment): (DIMSEStatus, String?) =
                        truncated ? (.outOfResources, "more than \(answered) matches: narrow the query") : (.success, nil)
                    logger.info("[C-FIND] \(request.association.callingAETitle) \(model.rawValue) root \(query.level): \(answered)\(truncated ? "+" : "") match(es)")
                    try await responder.respondPending(encoded: batch.answers, final: status, comment: comment)
                    finalSent = true
                } else {
                    try await responder.respondPending(encoded: batch.answers)
                }
                return true
            }
        } catch let error as QueryError {
            logger.warning("[C-FIND] \(request.association.callingAETitle): \(error)")
            return try await responder.respond(status: QueryRetrieveSupport.status(error), comment: error.description)
        }
        // The engine hands over a last batch unless the body stopped it, which only a C-CANCEL does.
        guard !finalSent else { return }
        logger.info("[C-FIND] \(request.association.callingAETitle) \(model.rawValue) root \(query.level): cancelled after \(answered) match(es)")
        try await responder.respond(status: .cancel)
    }
}
