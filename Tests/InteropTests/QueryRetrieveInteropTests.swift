import ArcaServer
@testable import Archive
import ArchiveServices
import DICOM
import DICOMNetwork
import EDCKV
import Foundation
import Testing
import TestSupport

/// Query/retrieve and storage commitment with real peers: DCMTK findscu/movescu/getscu/storescp/dcmqrscp,
/// pynetdicom, Orthanc; and Arca's own clients against them.
@Suite(.serialized, .stopsServers) struct QueryRetrieveInteropTests {
    static let qr = ExternalTool.repositoryRoot.appendingPathComponent("scripts/qr").path
    static let interop = ExternalTool.repositoryRoot.appendingPathComponent("scripts/interop").path

    /// Stores files into a server with Arca's own SCU.
    static func store(_ files: [URL], into server: TestServer) async throws {
        let results = try await StoreSCU(host: "127.0.0.1", port: server.port).send(files.map(\.path))
        let failed = results.filter { !$0.succeeded }
        #expect(failed.isEmpty, "\(failed.map { "\($0.path): \($0.error ?? "") \($0.comment ?? "")" })")
    }

    // MARK: C-FIND against the independent reference

    /// Every query of scripts/qr/queries.json through findscu and through pynetdicom returns exactly the
    /// entities and values scripts/qr/reference.py computes from the stored files with pydicom.
    @Test(.needs(.pydicom, .dcmtk, .pynetdicom), arguments: ["findscu", "pynetdicom"]) func findMatchesTheReference(via client: String) async throws {
        let corpus = try ExternalTool.temporaryDirectory("qr-corpus")
        defer { try? FileManager.default.removeItem(at: corpus) }
        let made = try ExternalTool.run("python3", [Self.qr + "/make-corpus.py", corpus.path])
        #expect(made.status == 0, "\(made.stderr)")
        let server = try await TestServer.start { $0.strictCalledAETitle = false }
        defer { Task { await server.stop() } }
        let files = try FileManager.default.subpathsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".dcm") }
            .map { corpus.appendingPathComponent($0) }
        try await Self.store(files, into: server)
        let check = try await ExternalTool.runAsync("python3", [
            Self.qr + "/check-find.py", "--host", "127.0.0.1", "--port", String(server.port), "--aec", "ARCA",
            "--corpus", corpus.path, "--via", client, "--unknown-never-matches",
        ])
        #expect(check.status == 0, "\(check.stdout.split(separator: "\n").filter { !$0.hasPrefix("PASS") }.joined(separator: "\n"))\(check.stderr)")
        #expect(check.stdout.contains(" 0 failed"), "\(check.stdout.suffix(300))")
    }

    // MARK: C-MOVE and C-GET with DCMTK

    @Test(.needs(.pydicom, .dcmtk)) func movescuToStorescpAndGetscu() async throws {
        let study = try CTStudy.make(count: 6)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let destPort = PynetdicomTests.freePort()
        let server = try await TestServer.start { $0.remotes = [RemoteAE(aeTitle: "DEST", host: "127.0.0.1", port: destPort)] }
        defer { Task { await server.stop() } }
        try await Self.store(study.files, into: server)
        let stored = try study.dataSets()

        let received = try ExternalTool.temporaryDirectory("storescp")
        defer { try? FileManager.default.removeItem(at: received) }
        let scp = try await PynetdicomTests.startPeer("/usr/bin/storescp", ["-aet", "DEST", "-od", received.path, String(destPort)], port: destPort)
        defer { PynetdicomTests.stop(scp) }

        // Study, then one series, then one instance: every received file equals the stored one.
        let levels: [(String, [String])] = [
            ("STUDY", ["StudyInstanceUID=\(study.studyUID)"]),
            ("SERIES", ["StudyInstanceUID=\(study.studyUID)", "SeriesInstanceUID=\(study.seriesUID)"]),
            ("IMAGE", ["StudyInstanceUID=\(study.studyUID)", "SeriesInstanceUID=\(study.seriesUID)", "SOPInstanceUID=\(study.firstInstanceUID)"]),
        ]
        for (level, keys) in levels {
            for name in try FileManager.default.contentsOfDirectory(atPath: received.path) { try FileManager.default.removeItem(atPath: received.path + "/" + name) }
            let move = try await ExternalTool.runAsync("/usr/bin/movescu", ["-S", "-aec", "STORE_SCP", "-aem", "DEST", "-k", "QueryRetrieveLevel=\(level)"]
                                                       + keys.flatMap { ["-k", $0] } + ["127.0.0.1", String(server.port)])
            #expect(move.status == 0, "\(move.stderr)")
            let got = try receivedDataSets(received)
            #expect(got.count == (level == "IMAGE" ? 1 : stored.count), "\(level): \(got.count)")
            for (uid, ds) in got { #expect(ds == stored[uid], "\(level) \(uid) differs") }

            let getDir = try ExternalTool.temporaryDirectory("getscu")
            defer { try? FileManager.default.removeItem(at: getDir) }
            let get = try await ExternalTool.runAsync("/usr/bin/getscu", ["-S", "-aec", "STORE_SCP", "-od", getDir.path, "-k", "QueryRetrieveLevel=\(level)"]
                                                      + keys.flatMap { ["-k", $0] } + ["127.0.0.1", String(server.port)])
            #expect(get.status == 0, "\(get.stderr)")
            let fetched = try receivedDataSets(getDir)
            #expect(fetched.count == (level == "IMAGE" ? 1 : stored.count), "\(level) C-GET: \(fetched.count)")
            for (uid, ds) in fetched { #expect(ds == stored[uid], "C-GET \(level) \(uid) differs") }
        }

        // An unknown destination: 0xA801.
        let unknown = try await ExternalTool.runAsync("/usr/bin/movescu", ["-v", "-S", "-aec", "STORE_SCP", "-aem", "NOWHERE", "-k", "QueryRetrieveLevel=STUDY",
                                                                           "-k", "StudyInstanceUID=\(study.studyUID)", "127.0.0.1", String(server.port)])
        #expect((unknown.stdout + unknown.stderr).contains("MoveDestinationUnknown") || (unknown.stdout + unknown.stderr).contains("A801")
                || (unknown.stdout + unknown.stderr).contains("Move Destination Unknown"), "\(unknown.stdout)\(unknown.stderr)")
        let (final, _) = try await Self.arcaMove(to: server.port, destination: "NOWHERE", study: study.studyUID)
        #expect(final.status == .moveDestinationUnknown)
        // Zero matches: success with no sub-operations.
        let (none, _) = try await Self.arcaMove(to: server.port, destination: "DEST", study: "1.2.3.4.5.6.7")
        #expect(none.status == .success)
        #expect(none.dataSet.int(.numberOfCompletedSubOperations) == 0)
    }

    static func arcaMove(to port: Int, aec: String = "STORE_SCP", destination: String, study: String,
                         onPending: @escaping (CommandSet) -> Bool = { _ in true }) async throws -> (CommandSet, DataSet?) {
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString(study, for: .studyInstanceUID, vr: .UI)
        let sop = QueryModelUID.studyMove
        let request = AssociateRequest(calledAETitle: aec, callingAETitle: "ARCA_SCU",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [sop]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) {
            try await $0.move(identifier, sopClassUID: sop, destination: destination) { onPending($0) }
        }
    }

    /// A C-CANCEL during a move stops it: 0xFE00 with the counts so far, fewer instances sent than selected.
    @Test(.needs(.pydicom, .dcmtk)) func cancelStopsAMove() async throws {
        let study = try CTStudy.make(count: 30, rows: 256)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let destPort = PynetdicomTests.freePort()
        let server = try await TestServer.start { $0.remotes = [RemoteAE(aeTitle: "DEST", host: "127.0.0.1", port: destPort)] }
        defer { Task { await server.stop() } }
        try await Self.store(study.files, into: server)
        let received = try ExternalTool.temporaryDirectory("storescp")
        defer { try? FileManager.default.removeItem(at: received) }
        let scp = try await PynetdicomTests.startPeer("/usr/bin/storescp", ["-aet", "DEST", "-od", received.path, String(destPort)], port: destPort)
        defer { PynetdicomTests.stop(scp) }
        var pendings = 0
        let (final, _) = try await Self.arcaMove(to: server.port, destination: "DEST", study: study.studyUID) { _ in
            pendings += 1
            return pendings < 3
        }
        #expect(final.status == .cancel)
        let completed = final.dataSet.int(.numberOfCompletedSubOperations) ?? -1
        let remaining = final.dataSet.int(.numberOfRemainingSubOperations) ?? -1
        #expect(completed >= 3 && completed < 30, "completed \(completed)")
        #expect(remaining > 0 && completed + remaining + (final.dataSet.int(.numberOfFailedSubOperations) ?? 0) == 30,
                "remaining \(remaining), completed \(completed)")
    }

    // MARK: Storage commitment with pynetdicom

    /// A server that knows pynetdicom's commitment SCP (PYCOMMIT, listening on `listen`, a port drawn free).
    static func commitmentServer() async throws -> (server: TestServer, listen: Int) {
        let listen = PynetdicomTests.freePort()
        let server = try await TestServer.start {
            $0.remotes = [RemoteAE(aeTitle: "PYCOMMIT", host: "127.0.0.1", port: listen)]
        }
        return (server, listen)
    }

    /// One N-ACTION for `files` (and `bogus` UIDs never stored) from pynetdicom-commit.py in `mode` (the report on
    /// the same association or a new one): the N-EVENT-REPORT it received, as its JSON line.
    static func requestCommitment(_ server: TestServer, listen: Int, mode: String, _ files: [URL],
                                  bogus: [String] = []) async throws -> [String: Any]? {
        let r = try await ExternalTool.runAsync("python3", [interop + "/pynetdicom-commit.py", String(server.port), mode]
                                                + files.map(\.path) + (bogus.isEmpty ? [] : ["--bogus"] + bogus),
                                                environment: ["PYCOMMIT_LISTEN": String(listen)])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let report = r.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        if report == nil { Issue.record("no report: \(r.stdout)\(r.stderr)") }
        return report
    }

    @Test(.needs(.pydicom, .pynetdicom), arguments: ["same", "new"]) func storageCommitmentWithPynetdicom(mode: String) async throws {
        let study = try CTStudy.make(count: 4)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let (server, listen) = try await Self.commitmentServer()
        defer { Task { await server.stop() } }
        try await Self.store(study.files, into: server)
        let bogus = "1.2.826.0.1.3680043.10.1432.99.1"
        let report = try await Self.requestCommitment(server, listen: listen, mode: mode, study.files, bogus: [bogus])
        #expect(report?["event"] as? Int == 2)
        #expect(report?["transaction_matches"] as? Bool == true)
        #expect((report?["committed"] as? [String])?.count == 4)
        #expect((report?["failed"] as? [String: Int])?[bogus] == 0x0112)
    }

    /// A C-GET whose storage contexts list compressed syntaxes (as `arca get` and `getscu +xs` do) receives
    /// the archive's uncompressed instances: the contexts on which Arca sends take a native syntax first. It chose
    /// the compressed one (JPEG Lossless) and every sub-operation failed.
    @Test(.needs(.pydicom)) func aGetOfferingCompressedSyntaxesReceivesNativeInstances() async throws {
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        try await Self.store(study.files, into: server)
        let folder = try ExternalTool.temporaryDirectory("arca-get-compressed")
        defer { try? FileManager.default.removeItem(at: folder) }
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString(study.studyUID, for: .studyInstanceUID, vr: .UI)
        let ct = "1.2.840.10008.5.1.4.1.1.2"
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "ARCA_SCU", presentationContexts: [
            PresentationContextProposal(id: 1, abstractSyntax: QueryModelUID.studyGet, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian]),
            PresentationContextProposal(id: 3, abstractSyntax: ct, transferSyntaxes: [
                "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", UpperLayerUID.explicitVRLittleEndian]),
        ], roleSelections: [RoleSelection(sopClassUID: ct, scuRole: false, scpRole: true)])
        let final = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: server.port, request: request) {
            try await $0.get(identifier, sopClassUID: QueryModelUID.studyGet, incoming: FolderStoreHandler(folder: folder.path)).0
        }
        #expect(final.status == .success, "\(final.status.map { "\($0)" } ?? "no status") \(final.errorComment ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).count == 3)
    }

    /// A transaction of 12,000 references with 64-character UIDs (a perfusion study's worth, ~1.3 MB) is taken
    /// and reported: the collecting services' 1 MiB refused it, with 0xA700, which is no N-ACTION status.
    @Test(.needs(.pynetdicom)) func storageCommitmentOfManyReferences() async throws {
        let (server, listen) = try await Self.commitmentServer()
        defer { Task { await server.stop() } }
        let prefix = "1.2.826.0.1.3680043.10.1432.99."
        let uids = (0..<12_000).map { n in prefix + String(n) + "." + String(repeating: "9", count: 63 - prefix.count - String(n).count) }
        #expect(uids.allSatisfy { $0.count == 64 })
        let report = try await Self.requestCommitment(server, listen: listen, mode: "same", [], bogus: uids)
        #expect(report?["event"] as? Int == 2)
        #expect((report?["failed"] as? [String: Int])?.count == 12_000)
    }

    /// Instances acknowledged from the ingest journal and still held there (their rows hold a placeholder until
    /// the materializer has hashed them): the commitment waits for them to be put in place, reads their rows
    /// again, and reports them committed.
    @Test(.needs(.pydicom, .pynetdicom)) func storageCommitmentOfInstancesStillInTheJournal() async throws {
        let study = try CTStudy.make(count: 4)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let (server, listen) = try await Self.commitmentServer()
        defer { Task { await server.stop() } }
        let materializer = try #require(server.materializer)
        // Held for a minute: only a reader waiting for one of them ends the hold before that.
        materializer.setHold(Materializer.Hold(quietPeriod: 60, maxHold: 60, limit: 1 << 30))
        try await Self.store(study.files, into: server)
        #expect(materializer.materialized == 0)
        let report = try await Self.requestCommitment(server, listen: listen, mode: "same", study.files)
        #expect((report?["committed"] as? [String])?.count == 4)
        #expect(materializer.materialized == 4)
    }
}

/// The retrieve SOP class UIDs the tests use.
enum QueryModelUID {
    static let studyFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let studyMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let studyGet = "1.2.840.10008.5.1.4.1.2.2.3"
    static let patientGet = "1.2.840.10008.5.1.4.1.2.1.3"
}

/// Instances kept only in the eDCKV store are found and retrieved like files: while still spooled, and merged.
@Suite(.serialized, .stopsServers) struct EDCKVRetrieveTests {
    static func getStudy(_ port: Int, _ study: String, into folder: URL) async throws -> CommandSet {
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString(study, for: .studyInstanceUID, vr: .UI)
        let ct = "1.2.840.10008.5.1.4.1.1.2"
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "ARCA_SCU", presentationContexts: [
            PresentationContextProposal(id: 1, abstractSyntax: QueryModelUID.studyGet, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian]),
            PresentationContextProposal(id: 3, abstractSyntax: ct, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian]),
        ], roleSelections: [RoleSelection(sopClassUID: ct, scuRole: false, scpRole: true)])
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) {
            try await $0.get(identifier, sopClassUID: QueryModelUID.studyGet, incoming: FolderStoreHandler(folder: folder.path)).0
        }
    }

    @Test(.needs(.pydicom)) func spooledAndMergedInstancesAreRetrieved() async throws {
        let study = try CTStudy.make(count: 5)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let stored = try study.dataSets()
        // No merger at first: the instances stay in the spool.
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(study.files, into: server)
        #expect(server.archivedFiles().isEmpty)

        let spooled = try ExternalTool.temporaryDirectory("get-spooled")
        defer { try? FileManager.default.removeItem(at: spooled) }
        let first = try await Self.getStudy(server.port, study.studyUID, into: spooled)
        #expect(first.status == .success)
        let fromSpool = try receivedDataSets(spooled)
        #expect(fromSpool.count == stored.count)
        for (uid, ds) in fromSpool { #expect(ds == stored[uid], "spooled \(uid) differs") }

        // Merged into the study files, then retrieved again.
        let root = server.archive.path + "/" + DCKVStore.folder
        let report = try DCKVStore(archiveRoot: server.archive.path, policy: .reject).merger.mergeOnce(
            try #require(try MergeLock.tryAcquire(StudyLayout(root: root))))
        #expect(report.merged == stored.count)
        let merged = try ExternalTool.temporaryDirectory("get-merged")
        defer { try? FileManager.default.removeItem(at: merged) }
        let second = try await Self.getStudy(server.port, study.studyUID, into: merged)
        #expect(second.status == .success)
        let fromStudy = try receivedDataSets(merged)
        #expect(fromStudy.count == stored.count)
        for (uid, ds) in fromStudy { #expect(ds == stored[uid], "merged \(uid) differs") }
    }
}

/// `--compress jpeg-ls`: stored files become JPEG-LS after their acknowledgement, the index follows, and a
/// retrieve in an uncompressed syntax gives back the original pixel values exactly.
@Suite(.serialized, .stopsServers) struct CompressedStorageTests {
    @Test(.needs(.pydicom)) func compressedFilesAreRetrievedExactly() async throws {
        let study = try CTStudy.make(count: 4, rows: 128)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let server = try await TestServer.start { $0.compress = "jpeg-ls" }
        defer { Task { await server.stop() } }
        try await QueryRetrieveInteropTests.store(study.files, into: server)
        let index = try SQLiteIndex(archive: server.archive.path)
        // Compression runs in the background after each acknowledgement: wait for it (bounded). A file takes
        // its compressed form before its row is rewritten, so wait for the index to follow as well.
        var compressed = 0
        var report: IndexMaintenance.CheckReport?
        for _ in 0..<300 {
            compressed = try index.allInstances().filter { row in
                (try? DICOMFile.read(path: server.archive.path + "/" + row.filePath, options: .headerOnly).transferSyntax.uid) == "1.2.840.10008.1.2.4.80"
            }.count
            if compressed == study.files.count {
                report = try IndexMaintenance.check(root: server.archive.path, index: index)
                if report?.isClean == true { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(compressed == study.files.count)
        #expect(report?.isClean == true, "\(String(describing: report))")
        let out = try ExternalTool.temporaryDirectory("compressed-get")
        defer { try? FileManager.default.removeItem(at: out) }
        let final = try await EDCKVRetrieveTests.getStudy(server.port, study.studyUID, into: out)
        #expect(final.status == .success)
        let stored = try study.dataSets()
        let fetched = try receivedDataSets(out)
        #expect(fetched.count == stored.count)
        for (uid, ds) in fetched { #expect(ds[.pixelData]?.bytes == stored[uid]?[.pixelData]?.bytes, "\(uid): pixels differ") }
    }
}
