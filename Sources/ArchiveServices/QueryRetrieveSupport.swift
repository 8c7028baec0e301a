import Archive
import DICOMNetwork

/// How the query/retrieve SOP classes are negotiated: uncompressed syntaxes only (an identifier is small and
/// every peer offers Explicit or Implicit VR Little Endian), and the extended negotiation answered with
/// what Arca really does (PS3.4 C.5.1.1.2, C.5.2.1.2).
enum QueryRetrieveSupport {
    /// C-FIND's service-class-application-information: 1 relational queries, 2 combined date-time matching,
    /// 3 fuzzy semantic matching of person names, 4 timezone query adjustment (not done: 0).
    static func find(foldsPersonNames: Bool) -> AbstractSyntaxSupport {
        AbstractSyntaxSupport(transferSyntaxes: .uncompressed) { proposed in
            let ours: [UInt8] = [1, 1, 1, 0]
            return zip(proposed.prefix(ours.count), ours).map { $0 == 1 && $1 == 1 ? 1 : 0 }
        }
    }

    /// C-MOVE / C-GET: byte 1, relational retrieval (the levels above the retrieve level may go unnamed).
    static let retrieve = AbstractSyntaxSupport(transferSyntaxes: .uncompressed) { proposed in
        proposed.isEmpty ? nil : [proposed[0] == 1 ? 1 : 0]
    }

    /// The options a query on this association runs with.
    static func options(_ request: DIMSERequest, foldsPersonNames: Bool) -> QueryOptions {
        let a = request.association, sop = request.context.abstractSyntax
        return QueryOptions(relational: a.extendedNegotiationFlag(sop, byte: 0),
                            combinedDateTime: a.extendedNegotiationFlag(sop, byte: 1),
                            foldPersonNames: foldsPersonNames || a.extendedNegotiationFlag(sop, byte: 2))
    }

    /// The DIMSE status of a query error (PS3.4 C.4.1.1.4).
    static func status(_ error: QueryError) -> DIMSEStatus {
        switch error {
        case .identifierDoesNotMatch: return .identifierDoesNotMatchSOPClass
        case .badIdentifier: return .cannotUnderstand
        case .unavailable: return .outOfResources
        }
    }
}
