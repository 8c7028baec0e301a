import Archive
import DICOM
import DICOMNetwork

/// What C-MOVE and C-GET share before sending: the identifier read as a query and the instances it selects
/// (PS3.4 C.4.2.2.1: unique keys at the level, a list of UIDs allowed, keys above the level too).
enum RetrieveRequest {
    enum Refusal: Error {
        case status(DIMSEStatus, String)
    }

    static func instances(_ request: DIMSERequest, engine: QueryEngine) async throws -> [ArchivedInstance] {
        guard let model = QueryModel(sopClassUID: request.context.abstractSyntax) else {
            throw Refusal.status(.sopClassNotSupported, "not a retrieve SOP class")
        }
        guard let identifier = request.dataSet else {
            throw Refusal.status(.identifierDoesNotMatchSOPClass, "no identifier")
        }
        do {
            let options = QueryRetrieveSupport.options(request, foldsPersonNames: true)
            var query = try Query(identifier: identifier, model: model, options: options)
            // A retrieve is decided by the unique keys: other keys are ignored, not matched.
            query.keys = query.keys.filter { key in model.levels.contains { $0.uniqueKey == key.tag } }
            guard query.key(query.level.uniqueKey).map({ !$0.match.isUniversal }) ?? false || options.relational else {
                throw QueryError.identifierDoesNotMatch("no \(query.level) unique key \(query.level.uniqueKey) to retrieve")
            }
            return try await engine.instances(query)
        } catch let error as QueryError {
            throw Refusal.status(QueryRetrieveSupport.status(error), error.description)
        }
    }
}
