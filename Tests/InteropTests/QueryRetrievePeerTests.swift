import ArcaServer
import ArchiveServices
import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// Orthanc and dcmqrscp beside Arca: Orthanc queries and retrieves from Arca through its REST API, Arca moves
/// a study into Orthanc, and `arca find/move/get` work against Orthanc and dcmqrscp as against Arca.
@Suite(.serialized, .stopsServers) struct QueryRetrievePeerTests {
    static var arca: String? {
        let path = ExternalTool.repositoryRoot.appendingPathComponent(".build/debug/arca").path
        return ExternalTool.exists(path) ? path : nil
    }

    @Test(.needs(.pydicom, .orthanc, .curl)) func orthancQueriesAndRetrievesFromArcaAndArcaMovesIntoOrthanc() async throws {
        let first = try CTStudy.make(count: 4), second = try CTStudy.make(count: 3)
        defer { for s in [first, second] { try? FileManager.default.removeItem(at: s.folder) } }
        // Each needs the other's port: Orthanc starts first, Arca knows it, then Orthanc learns Arca's by REST.
        let orthanc = try await OrthancPeer.start(modalities: [:])
        defer { orthanc.stop() }
        let withOrthanc = try await TestServer.start { s in
            s.remotes = [RemoteAE(aeTitle: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort)]
        }
        defer { Task { await withOrthanc.stop() } }
        try await QueryRetrieveInteropTests.store(first.files + second.files, into: withOrthanc)
        _ = try await orthanc.put("/modalities/store_scp", "{\"AET\":\"STORE_SCP\",\"Host\":\"127.0.0.1\",\"Port\":\(withOrthanc.port)}")

        // Orthanc queries Arca at study level and retrieves the answer into itself (C-MOVE to ORTHANC).
        let query = try await orthanc.post("/modalities/store_scp/query",
                                           "{\"Level\":\"Study\",\"Query\":{\"StudyInstanceUID\":\"\(first.studyUID)\",\"PatientID\":\"\"}}")
        guard let queryID = (query as? [String: Any])?["ID"] as? String else { Issue.record("no query: \(query)"); return }
        let answers = try orthanc.get("/queries/\(queryID)/answers") as? [Any]
        #expect(answers?.count == 1)
        let content = try orthanc.get("/queries/\(queryID)/answers/0/content?simplify") as? [String: Any]
        #expect(content?["PatientID"] as? String == "BENCH1")
        _ = try await orthanc.post("/queries/\(queryID)/retrieve", "ORTHANC")
        let firstUIDs = Set(try first.dataSets().keys)
        #expect(try orthanc.instanceUIDs() == firstUIDs)

        // Arca moves the second study into Orthanc.
        let (final, _) = try await QueryRetrieveInteropTests.arcaMove(to: withOrthanc.port, destination: "ORTHANC", study: second.studyUID)
        #expect(final.status == .success, "\(final.errorComment ?? "")")
        let secondUIDs = Set(try second.dataSets().keys)
        #expect(try orthanc.instanceUIDs() == firstUIDs.union(secondUIDs))
    }

    /// `arca find`, `arca move` and `arca get` against Orthanc and against dcmqrscp: the same answers and
    /// the same files as from Arca.
    @Test(.needs(.pydicom, .orthanc, .curl, .dcmqrscp), arguments: ["orthanc", "dcmqrscp"]) func arcaClientsAgainstPeers(peer: String) async throws {
        guard let arca = Self.arca else {
            Issue.record(".build/debug/arca is not built: run `swift build` first (scripts/test does)")
            return
        }
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let receiver = try await TestServer.start { $0.strictCalledAETitle = false }
        defer { Task { await receiver.stop() } }
        let (port, aec, stop): (Int, String, () -> Void)
        if peer == "orthanc" {
            let o = try await OrthancPeer.start(modalities: ["STORE_SCP": receiver.port, "ARCA_SCU": 1])
            (port, aec, stop) = (o.dicomPort, "ORTHANC", { o.stop() })
        } else {
            let q = try await DCMQRSCPPeer.start(hosts: ["STORE_SCP": receiver.port, "ARCA_SCU": 1])
            (port, aec, stop) = (q.port, "DCMQRSCP", { q.stop() })
        }
        defer { stop() }
        let sent = try await StoreSCU(host: "127.0.0.1", port: port, calledAETitle: aec).send(study.files.map(\.path))
        #expect(sent.filter { !$0.succeeded }.isEmpty, "\(sent.map { "\($0.error ?? "") \($0.status.map { "\($0)" } ?? "")" })")

        let common = ["127.0.0.1", String(port), "--aec", aec]
        let find = try await ExternalTool.runAsync(arca, ["find"] + common + ["--level", "STUDY", "-k", "PatientID=BENCH1", "--json"])
        #expect(find.status == 0, "\(find.stderr)")
        #expect(find.stdout.contains(study.studyUID), "\(find.stdout)")
        let series = try await ExternalTool.runAsync(arca, ["find"] + common + ["--level", "SERIES", "-k", "StudyInstanceUID=\(study.studyUID)"])
        #expect(series.status == 0 && series.stdout.contains(study.seriesUID), "\(series.stdout)\(series.stderr)")

        let move = try await ExternalTool.runAsync(arca, ["move"] + common + ["--dest", "STORE_SCP", "--level", "STUDY",
                                                                              "-k", "StudyInstanceUID=\(study.studyUID)"])
        #expect(move.status == 0, "\(move.stdout)\(move.stderr)")
        let stored = try study.dataSets()
        #expect(Set(receiver.archivedFiles().compactMap { try? DICOMFile.read(path: $0.path, options: .headerOnly).dataSet.uid(.sopInstanceUID) })
                == Set(stored.keys))

        let out = try ExternalTool.temporaryDirectory("arca-get")
        defer { try? FileManager.default.removeItem(at: out) }
        let get = try await ExternalTool.runAsync(arca, ["get"] + common + ["--out", out.path, "--level", "SERIES",
                                                                            "-k", "StudyInstanceUID=\(study.studyUID)", "-k", "SeriesInstanceUID=\(study.seriesUID)"])
        #expect(get.status == 0, "\(get.stdout)\(get.stderr)")
        let fetched = try receivedDataSets(out)
        #expect(fetched.count == stored.count)
        for (uid, ds) in fetched { #expect(ds == stored[uid], "\(peer): C-GET \(uid) differs") }
    }
}
