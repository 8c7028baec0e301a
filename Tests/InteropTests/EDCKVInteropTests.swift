import Archive
import ArcaServer
import DICOM
import DICOMNetwork
import EDCKV
import Foundation
import Logging
import Testing
import TestSupport

/// The eDCKV store end to end: DCMTK storescu sends a varied corpus into `--store dckv`, the server's merger
/// folds the spool into study files, and every exported instance has every element of the one sent.
@Suite(.serialized, .stopsServers) struct EDCKVInteropTests {
    /// The corpus plus what it lacks: an instance without InstanceNumber, and a second instance of a series
    /// (so instances share a series copy) — all in one study, with series that share a SeriesNumber.
    static func sendSet(_ corpus: Corpus) throws -> (dir: URL, plain: [URL], encapsulated: [(URL, String)]) {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-send")
        var plain: [URL] = []
        for name in DCMTKStoreSCUTests.uncompressed + ["no-meta-explicit", "no-meta-implicit"] {
            for url in corpus.files(name + ".dcm") {
                let to = dir.appendingPathComponent(url.lastPathComponent)
                try FileManager.default.copyItem(at: url, to: to)
                plain.append(to)
            }
        }
        let base = try DICOMFile.read(path: try #require(corpus.files("explicit-le.dcm").first).path)
        for (i, keepNumber) in [(1, false), (2, true)] {
            var ds = base.dataSet
            let sop = UIDGenerator.make()
            ds.setString(sop, for: .sopInstanceUID, vr: .UI)
            if keepNumber { ds.setString("\(900 + i)", for: .instanceNumber, vr: .IS) } else { ds.remove(.instanceNumber) }
            // A corrected patient name on one instance: kept as that instance's own value.
            if i == 2 { ds.setString("Doe^Johnny", for: .patientName, vr: .PN) }
            var meta = base.meta
            meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
            let url = dir.appendingPathComponent("extra-\(i).dcm")
            try FileWriter.write(try DICOMFile(meta: meta, dataSet: ds, transferSyntax: base.transferSyntax).serialized(), to: url.path)
            plain.append(url)
        }
        var encapsulated: [(URL, String)] = []
        for (name, option) in [("jpeg-1frame", "-xy"), ("jpeg-multiframe", "-xy"), ("j2k-multiframe", "-xv"), ("rle", "-xr")] {
            for url in corpus.files(name + ".dcm") {
                let to = dir.appendingPathComponent(url.lastPathComponent)
                try FileManager.default.copyItem(at: url, to: to)
                encapsulated.append((to, option))
            }
        }
        return (dir, plain, encapsulated)
    }

    /// Waits until the spool holds no instance folder and no study is being rebuilt.
    static func waitForMerge(_ root: String, seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let spool = root + "/" + StudyLayout.spoolFolder
            let pending = (FileManager.default.enumerator(atPath: spool)?.allObjects as? [String] ?? [])
                .filter { $0.split(separator: "/").count == 4 }
            if pending.isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the spool of \(root) was not merged within \(seconds) s")
    }

    /// Study directories under an eDCKV root.
    static func studies(_ root: String) throws -> [String] {
        var out: [String] = []
        for date in try FileManager.default.contentsOfDirectory(atPath: root).sorted() where date != StudyLayout.spoolFolder {
            for s in try FileManager.default.contentsOfDirectory(atPath: root + "/" + date).sorted() where !s.hasPrefix(".") {
                out.append(root + "/" + date + "/" + s)
            }
        }
        return out
    }

    @Test(.needs(.pydicom, .dcmtk, .b3sum)) func corpusThroughStorescuIntoDCKVExportsEqual() async throws {
        let corpus = try Corpus.load()
        let storescu = DCMTKStoreSCUTests.dcmtk("storescu")
        let (dir, plain, encapsulated) = try Self.sendSet(corpus)
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0.2; $0.mergeAfterSeconds = 0 }
        defer { Task { await server.stop() } }
        let port = String(server.port)
        let r = try await ExternalTool.runAsync(storescu, ["-aec", "STORE_SCP", "-nh", "127.0.0.1", port] + plain.map(\.path))
        #expect(r.status == 0 && !r.stderr.contains("E: "), "\(r.stderr)")
        for (url, option) in encapsulated {
            let e = try await ExternalTool.runAsync(storescu, ["-aec", "STORE_SCP", "-nh", option, "127.0.0.1", port, url.path])
            #expect(e.status == 0 && !e.stderr.contains("E: "), "\(url.lastPathComponent): \(e.stderr)")
        }
        let root = server.archive.path + "/" + DCKVStore.folder
        // Acknowledged instances reach the spool from the journal in the background.
        server.settle()
        try await Self.waitForMerge(root)
        // No Part-10 file was written: eDCKV only.
        #expect(server.archivedFiles().isEmpty)

        let out = try ExternalTool.temporaryDirectory("arca-dckv-export")
        var exported = 0
        for study in try Self.studies(root) {
            exported += try StudyExporter(studyDirectory: study).export(to: out.path)
            // Every composite file is named by the b3sum of its bytes.
            for name in try FileManager.default.contentsOfDirectory(atPath: study) {
                let b3 = try ExternalTool.run("/usr/bin/b3sum", ["--no-names", study + "/" + name])
                #expect(String(name.dropFirst(2)) == b3.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(name)")
            }
        }
        #expect(exported == plain.count + encapsulated.count)
        let cmp = try ExternalTool.run("python3", [ExternalTool.repositoryRoot.appendingPathComponent("scripts/interop/compare-datasets.py").path,
                                                    dir.path, out.path])
        #expect(cmp.status == 0, "\(cmp.stdout)\(cmp.stderr)")
        let verify = Verifier().verify(root)
        #expect(verify.findings.isEmpty, "\(verify.findings)")
        #expect(verify.instances == plain.count + encapsulated.count)

        // The index knows where each instance lives.
        let index = try SQLiteIndex(archive: server.archive.path)
        let rows = try index.allInstances()
        #expect(rows.count == exported && rows.allSatisfy { FileArchive.isEDCKVLocation($0.filePath) })
    }

    /// `files,dckv`: each instance becomes a Part-10 file (indexed by its path) and is merged into its study.
    @Test(.needs(.pydicom, .dcmtk)) func filesAndDCKVTogether() async throws {
        let corpus = try Corpus.load()
        let storescu = DCMTKStoreSCUTests.dcmtk("storescu")
        let files = corpus.files("explicit-le.dcm", "utf8.dcm", "cyrillic.dcm")
        let server = try await TestServer.start { $0.store = StoreTargets(files: true, dckv: true); $0.mergeIntervalSeconds = 0.2; $0.mergeAfterSeconds = 0 }
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync(storescu, ["-aec", "STORE_SCP", "-nh", "127.0.0.1", String(server.port)] + files.map(\.path))
        #expect(r.status == 0 && !r.stderr.contains("E: "), "\(r.stderr)")
        let root = server.archive.path + "/" + DCKVStore.folder
        // The spool is filled from each file once the materializer has put it in place (in the background).
        server.settle()
        try await Self.waitForMerge(root)
        #expect(server.archivedFiles().count == files.count)
        #expect(Verifier().verify(root).instances == files.count)
        let rows = try SQLiteIndex(archive: server.archive.path).allInstances()
        #expect(rows.count == files.count && rows.allSatisfy { !FileArchive.isEDCKVLocation($0.filePath) })
        // The index check looks at the files only; the eDCKV store has its own verify.
        let check = try IndexMaintenance.check(root: server.archive.path, index: try SQLiteIndex(archive: server.archive.path))
        #expect(check.isClean, "\(check)")
    }

    /// Refusals leave nothing in the spool: a duplicate under `reject` (0x0111) and a validation failure
    /// (no Patient ID: 0xC001); the hidden folder of a refused instance is gone.
    @Test(.needs(.dcmtk)) func refusedInstancesLeaveNothingInTheSpool() async throws {
        let first = try ArchiveInteropTests.sample(sop: "1.2.3.77.1")
        var noID = try DICOMFile.read(path: try ArchiveInteropTests.sample(sop: "1.2.3.77.2").path)
        noID.dataSet.setString("", for: .patientID, vr: .LO)
        noID.dataSet.setString("1.2.3.77.2", for: .sopInstanceUID, vr: .UI)
        noID.meta.setString("1.2.3.77.2", for: .mediaStorageSOPInstanceUID, vr: .UI)
        let noIDURL = try ExternalTool.temporaryDirectory("arca-dckv-refused").appendingPathComponent("noid.dcm")
        try FileWriter.write(try noID.serialized(), to: noIDURL.path)
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        let ok = try await ArchiveInteropTests.storescu(server, [first])
        #expect(ok.stderr.contains("(Success)"), "\(ok.stderr)")
        let again = try await ArchiveInteropTests.storescu(server, [first])
        #expect(again.stderr.contains("0x111"), "\(again.stderr)")
        // DCMTK names every 0xCxxx "CannotUnderstand"; its debug dump shows the status itself.
        let refused = try await ArchiveInteropTests.storescu(server, [noIDURL], ["-d"])
        #expect(refused.stderr.contains("0xc001") || refused.stderr.contains("0xC001"), "\(refused.stderr)")
        let root = server.archive.path + "/" + DCKVStore.folder
        server.settle()
        let items = try Inventory.list(root)
        #expect(items.map(\.sopInstanceUID) == ["1.2.3.77.1"] && items.allSatisfy { $0.place == .spool })
        let hidden = (FileManager.default.enumerator(atPath: root + "/" + StudyLayout.spoolFolder)?.allObjects as? [String] ?? [])
            .filter { $0.split(separator: "/").last?.hasPrefix(".") == true && !$0.hasSuffix(".merge.lock") && !$0.hasSuffix(Spool.lockName) }
        #expect(hidden.isEmpty, "\(hidden)")
    }

    /// A dataset cut short inside its pixel data: the eDCKV store cannot encode it, so it is refused (0xC000)
    /// before it is acknowledged. Acknowledged, it failed in the materializer on every retry and held every
    /// instance behind it in the journal. The files store keeps such a dataset as received, as before.
    @Test func aDataSetCutShortIsRefusedByTheDCKVStore() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try DICOMFile.read(path: try ArchiveInteropTests.sample(sop: "1.2.3.78.1").path).serialized()
        let cut = dir.appendingPathComponent("cut.dcm")
        try FileWriter.write(Array(whole.dropLast(100)), to: cut.path)
        let next = try ArchiveInteropTests.sample(sop: "1.2.3.78.2")
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        let refused = try await StoreSCU(host: "127.0.0.1", port: server.port).send([cut.path])
        #expect(refused.first?.status == .cannotUnderstand, "\(refused.first?.comment ?? "")")
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send([next.path])
        #expect(stored.first?.status == .success)
        server.settle()
        #expect(try Inventory.list(server.archive.path + "/" + DCKVStore.folder).map(\.sopInstanceUID) == ["1.2.3.78.2"])
        let files = try await TestServer.start()
        defer { Task { await files.stop() } }
        let kept = try await StoreSCU(host: "127.0.0.1", port: files.port).send([cut.path])
        #expect(kept.first?.status == .success)
    }

    /// Sequences nested deeper than an eDCKV key holds (29) are refused before they are acknowledged: the
    /// header's parser allowed 64, and the spool refused such an instance in the materializer on every retry,
    /// holding every instance behind it in the journal.
    @Test func sequencesNestedDeeperThanAKeyHoldsAreRefusedByTheDCKVStore() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-deep")
        defer { try? FileManager.default.removeItem(at: dir) }
        func nested(_ levels: Int, sop: String) throws -> String {
            var file = try DICOMFile.read(path: try ArchiveInteropTests.sample(sop: sop).path)
            var item = DataSet()
            item.setString("innermost", for: Tag(0x0008, 0x0100), vr: .SH)
            for _ in 1..<levels {
                var outer = DataSet()
                outer.setItems([item], for: Tag(0x0008, 0x1140))
                item = outer
            }
            file.dataSet.setItems([item], for: Tag(0x0008, 0x1140))
            let path = dir.appendingPathComponent("\(sop).dcm").path
            try FileWriter.write(try file.serialized(), to: path)
            return path
        }
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        let refused = try await StoreSCU(host: "127.0.0.1", port: server.port).send([try nested(30, sop: "1.2.3.77.1")])
        #expect(refused.first?.status == .cannotUnderstand, "\(refused.first?.comment ?? "")")
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send([try nested(29, sop: "1.2.3.77.2")])
        #expect(stored.first?.status == .success, "\(stored.first?.comment ?? "")")
        server.settle()
        #expect(try Inventory.list(server.archive.path + "/" + DCKVStore.folder).map(\.sopInstanceUID) == ["1.2.3.77.2"])
    }

    /// Elements out of order (here one after the pixel data), or a group 0002 repeated in the dataset after the
    /// meta, are refused before they are acknowledged under the eDCKV store: its keys must ascend, and the spool
    /// refused such an instance in the materializer on every retry. The files store keeps it as received.
    @Test func elementsOutOfOrderAreRefusedByTheDCKVStore() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-order")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try DICOMFile.read(path: try ArchiveInteropTests.sample(sop: "1.2.3.76.1").path)
        #expect(file.transferSyntax.uid == "1.2.840.10008.1.2.1")  // explicit VR little endian: the bytes below
        // (0010,0020) LO "X " after the pixel data; then, in another file, (0002,0002) UI at the dataset's start.
        let late = dir.appendingPathComponent("late.dcm").path
        try FileWriter.write(try file.serialized() + [0x10, 0x00, 0x20, 0x00, 0x4C, 0x4F, 0x02, 0x00, 0x58, 0x20], to: late)
        let next = try ArchiveInteropTests.sample(sop: "1.2.3.76.2")
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        let refused = try await StoreSCU(host: "127.0.0.1", port: server.port).send([late])
        #expect(refused.first?.status == .cannotUnderstand, "\(refused.first?.comment ?? "")")
        #expect(refused.first?.comment?.contains("out of order") == true, "\(refused.first?.comment ?? "")")
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send([next.path])
        #expect(stored.first?.status == .success)
        server.settle()
        #expect(try Inventory.list(server.archive.path + "/" + DCKVStore.folder).map(\.sopInstanceUID) == ["1.2.3.76.2"])
        let files = try await TestServer.start()
        defer { Task { await files.stop() } }
        #expect(try await StoreSCU(host: "127.0.0.1", port: files.port).send([late]).first?.status == .success)
    }

    /// What the eDCKV encoder would hold in memory past its budget is refused before it is acknowledged, with
    /// 0xA700: values before (0020,0013) wait there for the instance's key. Two private values of 33 MiB passed the
    /// header's check (long values are skipped, not held) and failed in the spool on every retry; one is stored.
    @Test func valuesTheEncoderWouldHoldPastItsBudgetAreRefused() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-budget")
        defer { try? FileManager.default.removeItem(at: dir) }
        func withPrivateValues(_ count: Int, sop: String) throws -> String {
            var file = try DICOMFile.read(path: try ArchiveInteropTests.sample(sop: sop).path)
            file.dataSet.setString("ARCA BUDGET TEST", for: Tag(0x0009, 0x0010), vr: .LO)
            for n in 0..<count {
                file.dataSet.set(Element(tag: Tag(0x0009, 0x1010 + UInt16(n)), vr: .OB, bytes: [UInt8](repeating: 7, count: 33 << 20)))
            }
            let path = dir.appendingPathComponent("\(sop).dcm").path
            try FileWriter.write(try file.serialized(), to: path)
            return path
        }
        let server = try await TestServer.start { $0.store = .dckv; $0.mergeIntervalSeconds = 0 }
        defer { Task { await server.stop() } }
        let refused = try await StoreSCU(host: "127.0.0.1", port: server.port).send([try withPrivateValues(2, sop: "1.2.3.78.1")])
        #expect(refused.first?.status == .outOfResources, "\(refused.first?.comment ?? "")")
        #expect(refused.first?.comment?.contains("before (0020,0013)") == true, "\(refused.first?.comment ?? "")")
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send([try withPrivateValues(1, sop: "1.2.3.78.2")])
        #expect(stored.first?.status == .success, "\(stored.first?.comment ?? "")")
        server.settle()
        #expect(try Inventory.list(server.archive.path + "/" + DCKVStore.folder).map(\.sopInstanceUID) == ["1.2.3.78.2"])
    }

    /// An archive of eDCKV instances alone whose index.db was deleted: the start rebuilds the index with them. It
    /// came back empty, without a word (only files were looked for).
    @Test func aMissingIndexIsRebuiltWithTheDCKVInstances() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-rebuild")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try DCKVStore(archiveRoot: dir.path, policy: .reject)
        for n in 1...2 { _ = try store.store(partTenFileAt: try ArchiveInteropTests.sample(sop: "1.2.3.79.\(n)").path) }
        var settings = ServerSettings()
        settings.archive = dir.path
        settings.store = .dckv
        let app = ArcaApplication(settings: settings, logger: Logger(label: "arca-test") { _ in SwiftLogNoOpLogHandler() })
        let index = try #require(try app.openIndex() as? SQLiteIndex)
        for n in 1...2 {
            #expect(try index.filePathNow(ofInstance: "1.2.3.79.\(n)").map(FileArchive.isEDCKVLocation) == true)
        }
        // `arca index check` checks the eDCKV rows too: it skipped them, and said all was well with none left.
        func check() throws -> IndexMaintenance.CheckReport {
            try IndexMaintenance.check(root: dir.path, index: index,
                                       edckvLocations: Set(DCKVIndexRows.records(archiveRoot: dir.path).records.map(\.filePath)))
        }
        let clean = try check()
        #expect(clean.isClean && clean.checked == 2)
        try FileManager.default.removeItem(atPath: dir.path + "/" + DCKVStore.folder)
        #expect(try check().rowsWithoutFiles.count == 2)
    }

    /// `scripts/dckv-test`, run on the built `arca`: several processes, SIGKILL, restarts.
    static func script(_ arguments: [String]) async throws -> ExternalTool.Result? {
        let root = ExternalTool.repositoryRoot
        let arca = root.appendingPathComponent(".build/debug/arca").path
        guard FileManager.default.isExecutableFile(atPath: arca) else {
            Issue.record("\(arca) is not built: run `swift build` first (scripts/test does)")
            return nil
        }
        return try await ExternalTool.runAsync(root.appendingPathComponent("scripts/dckv-test").path, arguments,
                                               environment: ["ARCA": arca])
    }

    /// Three `arca serve --store dckv` processes on one archive receive one study's instances in parallel;
    /// one of them merges (the lock decides): each instance ends up in the study exactly once.
    @Test(.needs(.dcmtk, .pydicom)) func threeServersReceiveOneStudyEachInstanceOnce() async throws {
        guard let r = try await Self.script(["concurrency", "300"]) else { return }
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("dckv-test concurrency: 300 instances from 3 processes merged exactly once"))
    }

    /// The merger SIGKILLed at random moments 10 times during a 1,000-instance merge: after each restart
    /// nothing is lost, nothing duplicated, no temporary or superseded file left.
    @Test(.needs(.dcmtk, .pydicom)) func mergerKilledTenTimesLosesNothing() async throws {
        guard let r = try await Self.script(["crash", "1000", "10"]) else { return }
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("dckv-test crash: 10 kills during a 1000-instance merge"))
    }
}
