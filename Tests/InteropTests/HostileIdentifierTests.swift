import ArcaServer
import ArchiveServices
import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// Crafted C-FIND and C-MOVE identifiers: each gets a failure status (or a bounded, correct answer), never a
/// crash or an unbounded result, and the server keeps serving.
@Suite(.serialized, .stopsServers) struct HostileIdentifierTests {
    static func find(_ port: Int, _ identifier: DataSet, sopClass: String = QueryModelUID.studyFind) async throws -> (CommandSet, Int) {
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "HOSTILE",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [sopClass]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) { association in
            var answers = 0
            let final = try await association.find(identifier, sopClassUID: sopClass) { _ in
                answers += 1
                return true
            }
            return (final, answers)
        }
    }

    static func identifier(_ level: String?, _ keys: [(DICOM.Tag, String)], charset: String? = nil) -> DataSet {
        var ds = DataSet()
        if let charset { ds.set(Element(tag: .specificCharacterSet, vr: .CS, bytes: Array(charset.utf8) + (charset.utf8.count % 2 == 1 ? [0x20] : []))) }
        if let level { ds.setString(level, for: .queryRetrieveLevel, vr: .CS) }
        for (tag, value) in keys { ds.setString(value, for: tag) }
        return ds
    }

    @Test(.needs(.pydicom)) func craftedIdentifiersGetFailureStatuses() async throws {
        let corpus = try Corpus.load()
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(corpus.files("explicit-le.dcm", "utf8.dcm"), into: server)

        let cases: [(String, DataSet, (DIMSEStatus) -> Bool)] = [
            ("no level", Self.identifier(nil, [(.patientName, "")]), { $0 == .identifierDoesNotMatchSOPClass }),
            ("unknown level", Self.identifier("WARD", [(.patientName, "")]), { $0 == .identifierDoesNotMatchSOPClass }),
            ("patient level in study root", Self.identifier("PATIENT", [(.patientID, "")]), { $0 == .identifierDoesNotMatchSOPClass }),
            ("series without its study", Self.identifier("SERIES", [(.modality, "CT")]), { $0 == .identifierDoesNotMatchSOPClass }),
            ("image key at study level", Self.identifier("STUDY", [(.sopInstanceUID, "1.2.3")]), { $0 == .identifierDoesNotMatchSOPClass }),
            ("malformed date range", Self.identifier("STUDY", [(.studyDate, "2024-01-01")]), { $0 == .cannotUnderstand }),
            ("letters as a date", Self.identifier("STUDY", [(.studyDate, "yesterday")]), { $0 == .cannotUnderstand }),
            ("malformed time", Self.identifier("STUDY", [(.studyTime, "25:99:99.9999999")]), { $0 == .cannotUnderstand }),
            ("too many UIDs", Self.identifier("STUDY", [(.studyInstanceUID, (0..<10_001).map { "1.2.\($0)" }.joined(separator: "\\"))]),
             { $0 == .cannotUnderstand }),
        ]
        for (name, identifier, expected) in cases {
            let (final, answers) = try await Self.find(server.port, identifier)
            #expect(expected(final.status ?? .success), "\(name): \(final.status.map { "\($0)" } ?? "no status") \(final.errorComment ?? "")")
            #expect(answers == 0, "\(name)")
        }

        // Large but legal: answered correctly and bounded.
        let tenThousand = (0..<9_999).map { "1.2.\($0)" } + [try Self.studyUID(corpus)]
        let (listFinal, listAnswers) = try await Self.find(server.port, Self.identifier("STUDY", [(.studyInstanceUID, tenThousand.joined(separator: "\\"))]))
        #expect(listFinal.status == .success && listAnswers == 1)
        // A value longer than any VR's (an LT's 10,240 characters) is refused: a pattern of 64,000 was matched
        // again on every row examined.
        let (longFinal, longAnswers) = try await Self.find(server.port, Self.identifier("STUDY", [(.patientName, String(repeating: "A*", count: 32_000))]))
        #expect(longFinal.status == .cannotUnderstand && longAnswers == 0)
        let (shorterFinal, _) = try await Self.find(server.port, Self.identifier("STUDY", [(.patientName, String(repeating: "A*", count: 5_000))]))
        #expect(shorterFinal.status == .success)
        let (charsetFinal, _) = try await Self.find(server.port, Self.identifier("STUDY", [(.patientName, "*")], charset: "ISO_IR 999"))
        #expect(charsetFinal.status == .success)
        // An identifier past the 1 MB a query may take is refused unread.
        let (bigFinal, _) = try await Self.find(server.port, Self.identifier("STUDY", [(Tag(0x0009, 0x1010), String(repeating: "x", count: 1_100_000))]))
        #expect(bigFinal.status == .outOfResources)
        // The wrong SOP class for the context's abstract syntax.
        #expect(try await server.echo() == .success)
    }

    static func studyUID(_ corpus: Corpus) throws -> String {
        try DICOMFile.read(path: corpus.files("explicit-le.dcm")[0].path, options: .headerOnly).dataSet.uid(.studyInstanceUID) ?? ""
    }

    /// With a destination it knows (port 1: nothing is sent, as nothing matches), the identifier itself is what
    /// is refused: no unique key for STUDY, an IMAGE key without the levels above it (study root), no level.
    @Test func craftedMoveIdentifiers() async throws {
        let server = try await TestServer.start { $0.remotes = [RemoteAE(aeTitle: "STORE_SCP", host: "127.0.0.1", port: 1)] }
        defer { Task { await server.stop() } }
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "HOSTILE",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [QueryModelUID.studyMove]))
        for identifier in [Self.identifier("STUDY", []), Self.identifier("IMAGE", [(.sopInstanceUID, "1.2")]), Self.identifier(nil, [])] {
            let (final, _) = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: server.port, request: request) {
                try await $0.move(identifier, sopClassUID: QueryModelUID.studyMove, destination: "STORE_SCP")
            }
            #expect(final.status == .identifierDoesNotMatchSOPClass, "\(final.dataSet.string(Tag(0x0000, 0x0902)) ?? "")")
        }
        #expect(try await server.echo() == .success)
    }

    /// Retrieve AE Title (0008,0054) is ours, asked for or not (PS3.4 C.4.1.1.3.2): asked for, it came back
    /// empty (read from the stored instance, which does not hold it) and a value for it matched nothing.
    @Test(.needs(.pydicom)) func retrieveAETitleIsOurs() async throws {
        let corpus = try Corpus.load()
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(corpus.files("explicit-le.dcm"), into: server)
        let study = try Self.studyUID(corpus)
        for (value, matches) in [("", true), ("STORE_SCP", true), ("STORE*", true), ("OTHER\\STORE_SCP", true), ("OTHER", false)] {
            var titles: [String?] = []
            let final = try await ClientAssociation.withAssociation(
                host: "127.0.0.1", port: server.port,
                request: AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "VIEWER",
                                          presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [QueryModelUID.studyFind]))) {
                try await $0.find(Self.identifier("STUDY", [(.studyInstanceUID, study), (.retrieveAETitle, value)]),
                                  sopClassUID: QueryModelUID.studyFind) { answer in
                    titles.append(answer.string(.retrieveAETitle))
                    return true
                }
            }
            #expect(final.status == .success, "\(value)")
            #expect(titles == (matches ? ["STORE_SCP"] : []), "\(value): \(titles)")
        }
    }

    /// A C-GET of `identifier` on `model`'s GET class, relational retrieval proposed: its final status and how
    /// many instances came.
    static func get(_ port: Int, model: String, _ identifier: DataSet, storing sopClasses: Set<String>) async throws -> (DIMSEStatus?, Int) {
        let folder = try ExternalTool.temporaryDirectory("arca-get")
        defer { try? FileManager.default.removeItem(at: folder) }
        var contexts = [PresentationContextProposal(id: 1, abstractSyntax: model, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian])]
        for (n, sopClass) in sopClasses.sorted().enumerated() {
            contexts.append(PresentationContextProposal(id: UInt8(3 + 2 * n), abstractSyntax: sopClass,
                                                        transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian]))
        }
        var request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "RELATIONAL", presentationContexts: contexts,
                                       roleSelections: sopClasses.sorted().map { RoleSelection(sopClassUID: $0, scuRole: false, scpRole: true) })
        request.userInformation.extendedNegotiations = [ExtendedNegotiation(sopClassUID: model, info: [1])]
        let final = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) {
            try await $0.get(identifier, sopClassUID: model, incoming: FolderStoreHandler(folder: folder.path)).0
        }
        return (final.status, try FileManager.default.contentsOfDirectory(atPath: folder.path).count)
    }

    /// A retrieve names what it sends with its level's unique key, relational retrieval or not (PS3.4
    /// C.4.2.2.1): without one, or with a wildcard or a list of Patient IDs, a C-GET took (and a C-MOVE sent to
    /// its destination) every instance the other keys did not narrow, the whole archive for an empty identifier.
    @Test(.needs(.pydicom)) func aRetrieveNamesWhatItSends() async throws {
        let corpus = try Corpus.load()
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let files = try corpus.files("explicit-le.dcm", "utf8.dcm")
        try await QueryRetrieveInteropTests.store(files, into: server)
        let stored = try files.map { try DICOMFile.read(path: $0.path, options: .headerOnly).dataSet }
        let classes = Set(stored.compactMap { $0.uid(.sopClassUID) })
        let series = stored.compactMap { $0.uid(.seriesInstanceUID) }
        let patient = try #require(stored[0].string(.patientID))
        #expect(series.count == 2 && Set(series).count == 2 && !patient.isEmpty)

        let refused: [(String, String, DataSet)] = [
            ("study level named by a series", QueryModelUID.studyGet, Self.identifier("STUDY", [(.seriesInstanceUID, series[0])])),
            ("series level with no key", QueryModelUID.studyGet, Self.identifier("SERIES", [])),
            ("a wildcard Patient ID", QueryModelUID.patientGet, Self.identifier("PATIENT", [(.patientID, String(patient.prefix(1)) + "*")])),
            ("a list of Patient IDs", QueryModelUID.patientGet, Self.identifier("PATIENT", [(.patientID, patient + "\\OTHER")])),
        ]
        for (name, model, identifier) in refused {
            let (status, received) = try await Self.get(server.port, model: model, identifier, storing: classes)
            #expect(status == .identifierDoesNotMatchSOPClass, "\(name): \(status.map { "\($0)" } ?? "no status")")
            #expect(received == 0, "\(name)")
        }
        // What relational retrieval does allow: the level's UIDs as a list, nothing above them.
        let (listStatus, listReceived) = try await Self.get(server.port, model: QueryModelUID.studyGet,
                                                            Self.identifier("SERIES", [(.seriesInstanceUID, series.joined(separator: "\\"))]),
                                                            storing: classes)
        #expect(listStatus == .success && listReceived == 2)
        let (patientStatus, patientReceived) = try await Self.get(server.port, model: QueryModelUID.patientGet,
                                                                  Self.identifier("PATIENT", [(.patientID, patient)]), storing: classes)
        #expect(patientStatus == .success && patientReceived == stored.filter { $0.string(.patientID) == patient }.count)
    }
}
