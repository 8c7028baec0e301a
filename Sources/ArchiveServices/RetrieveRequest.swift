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
            // The level's own unique key names what to send, relational retrieve or not (relational retrieve only
            // lets the levels above go unnamed, PS3.4 C.4.2.2.1.2): without it, or with a wildcard or a list of
            // Patient IDs, a C-MOVE shipped every matching patient, or the whole archive, to its destination.
            guard let own = query.key(query.level.uniqueKey), !own.match.isUniversal else {
                throw QueryError.identifierDoesNotMatch("no \(query.level) unique key \(query.level.uniqueKey) to retrieve")
            }
            for key in query.keys where !key.match.isUniversal && !Self.names(key) {
                throw QueryError.identifierDoesNotMatch(
                    "\(DataDictionary.entry(for: key.tag)?.keyword ?? "\(key.tag)") \(key.tag) must be a single value\(key.vr == .UI ? " or a list of UIDs" : "") to retrieve")
            }
            return try await engine.instances(query)
        } catch let error as QueryError {
            throw Refusal.status(QueryRetrieveSupport.status(error), error.description)
        }
    }

    /// Single Value Matching, or for a UID List of UID Matching: the only ways a retrieve's unique key names
    /// entities (PS3.4 C.4.2.2.1, C.4.3.2.1).
    static func names(_ key: QueryKey) -> Bool {
        switch key.match {
        case .single: return true
        case .anyOf(let values):
            return key.vr == .UI && values.allSatisfy { if case .single = $0 { true } else { false } }
        default: return false
        }
    }
}
