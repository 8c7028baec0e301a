import ArcaServer
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// The archive as `storescu` sees it: naming schemes, duplicate policies, refused UIDs, disk full, hooks.
@Suite(.serialized, .stopsServers) struct ArchiveInteropTests {
    /// A sample file with chosen UIDs/date, written to a temporary folder.
    static func sample(study: String? = nil, sop: String? = nil, date: String? = "20260102", description: String = "Test Study") throws -> URL {
        var file = SampleImage.secondaryCapture()
        if let study { file.dataSet.setString(study, for: .studyInstanceUID, vr: .UI) }
        if let sop {
            file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
            file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
        }
        if let date { file.dataSet.setString(date, for: .studyDate, vr: .DA) } else { file.dataSet.remove(.studyDate) }
        file.dataSet.setString(description, for: .studyDescription, vr: .LO)
        let dir = try ExternalTool.temporaryDirectory("arca-sample")
        let url = dir.appendingPathComponent("sample.dcm")
        try FileWriter.write(try file.serialized(), to: url.path)
        return url
    }

    static func storescu(_ server: TestServer, _ files: [URL], _ extra: [String] = []) async throws -> ExternalTool.Result {
        let storescu = DCMTKStoreSCUTests.dcmtk("storescu")
        return try await ExternalTool.runAsync(storescu, ["-v", "-aec", "STORE_SCP", "-nh"] + extra + ["127.0.0.1", String(server.port)] + files.map(\.path))
    }

    static func relativePaths(_ server: TestServer) -> [String] {
        server.archivedFiles().map { String($0.path.dropFirst(server.archive.path.count + 1)) }.sorted()
    }

    @Test(.needs(.dcmtk), arguments: [NamingScheme.uidHierarchical, .dateHierarchical, .flat])
    func namingScheme(_ naming: NamingScheme) async throws {
        let dated = try Self.sample(study: "1.2.3.4", sop: "1.2.3.4.1.1", date: "20260102")
        let undated = try Self.sample(study: "1.2.3.5", sop: "1.2.3.5.1.1", date: nil)
        let server = try await TestServer.start { $0.naming = naming }
        defer { Task { await server.stop() } }
        let r = try await Self.storescu(server, [dated, undated])
        #expect(r.status == 0, "\(r.stderr)")
        let series = try DICOMFile.read(path: dated.path).dataSet.uid(.seriesInstanceUID) ?? ""
        let series2 = try DICOMFile.read(path: undated.path).dataSet.uid(.seriesInstanceUID) ?? ""
        let expected: [String]
        switch naming {
        case .uidHierarchical: expected = ["1.2.3.4/\(series)/1.2.3.4.1.1.dcm", "1.2.3.5/\(series2)/1.2.3.5.1.1.dcm"]
        case .dateHierarchical: expected = ["2026/01/02/1.2.3.4/1.2.3.4.1.1.dcm", "undated/1.2.3.5/1.2.3.5.1.1.dcm"]
        case .flat: expected = ["1.2.3.4.1.1.dcm", "1.2.3.5.1.1.dcm"]
        }
        #expect(Self.relativePaths(server) == expected.sorted())
    }

    @Test(.needs(.dcmtk)) func overlongAndTraversalUIDsAreRefused() async throws {
        let long = try Self.sample(study: "1." + String(repeating: "2", count: 70), sop: "1.2.3.6.1")
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let r = try await Self.storescu(server, [long])
        #expect(r.stderr.contains("Received Store Response (Error: CannotUnderstand)"), "\(r.stderr)")
        #expect(server.archivedFiles().isEmpty)
    }

    @Test(.needs(.dcmtk)) func duplicateReject() async throws {
        let file = try Self.sample(sop: "1.2.3.7.1")
        let server = try await TestServer.start { $0.duplicate = .reject }
        defer { Task { await server.stop() } }
        let first = try await Self.storescu(server, [file])
        #expect(first.stderr.contains("(Success)"))
        let stored = try #require(server.archivedFiles().first)
        let before = try FileManager.default.attributesOfItem(atPath: stored.path)[.modificationDate] as? Date
        let second = try await Self.storescu(server, [file])
        #expect(second.stderr.contains("0x111"), "\(second.stderr)")
        #expect(server.archivedFiles().count == 1)
        #expect(try FileManager.default.attributesOfItem(atPath: stored.path)[.modificationDate] as? Date == before)
    }

    @Test(.needs(.dcmtk)) func duplicateReplace() async throws {
        let old = try Self.sample(sop: "1.2.3.8.1", description: "Old")
        let server = try await TestServer.start { $0.duplicate = .replace }
        defer { Task { await server.stop() } }
        let first = try await Self.storescu(server, [old])
        #expect(first.stderr.contains("(Success)"), "\(first.stderr)")
        let newer = try Self.sample(study: try DICOMFile.read(path: old.path).dataSet.uid(.studyInstanceUID), sop: "1.2.3.8.1", description: "New")
        // Same study, series differs (a new sample): the replacement lands at its own path, the old file goes.
        let r = try await Self.storescu(server, [newer])
        #expect(r.stderr.contains("(Success)"))
        let files = server.archivedFiles()
        #expect(files.count == 1)
        #expect(try files.first.map { try DICOMFile.read(path: $0.path).dataSet.string(.studyDescription) } == "New")
    }

    @Test(.needs(.dcmtk)) func duplicateIgnore() async throws {
        let old = try Self.sample(sop: "1.2.3.9.1", description: "Old")
        let server = try await TestServer.start { $0.duplicate = .ignore }
        defer { Task { await server.stop() } }
        _ = try await Self.storescu(server, [old])
        let newer = try Self.sample(study: try DICOMFile.read(path: old.path).dataSet.uid(.studyInstanceUID), sop: "1.2.3.9.1", description: "New")
        let r = try await Self.storescu(server, [newer])
        #expect(r.stderr.contains("(Success)"))
        let files = server.archivedFiles()
        #expect(files.count == 1)
        #expect(try files.first.map { try DICOMFile.read(path: $0.path).dataSet.string(.studyDescription) } == "Old")
        #expect(server.incomingFiles().isEmpty)
    }

    @Test(.needs(.dcmtk)) func twoConcurrentSendersOfOneInstanceUnderReject() async throws {
        let file = try Self.sample(sop: "1.2.3.10.1")
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        async let a = Self.storescu(server, [file])
        async let b = Self.storescu(server, [file])
        let results = try await [a, b]
        let successes = results.filter { $0.stderr.contains("(Success)") }.count
        let duplicates = results.filter { $0.stderr.contains("0x111") }.count
        #expect(successes == 1 && duplicates == 1, "\(results.map(\.stderr))")
        #expect(server.archivedFiles().count == 1)
    }

    @Test(.needs(.dcmtk)) func execOnStoreAndStudyStableHooks() async throws {
        let out = try ExternalTool.temporaryDirectory("arca-hooks")
        let file = try Self.sample(study: "1.2.3.11", sop: "1.2.3.11.1.1")
        let server = try await TestServer.start {
            $0.execOnStore = "echo #a #i #s #o #p >> \(out.path)/stored.txt"
            $0.execOnStudyStable = "echo #s #i #n >> \(out.path)/stable.txt"
            $0.stableAfterSeconds = 1
        }
        defer { Task { await server.stop() } }
        _ = try await Self.storescu(server, [file], ["-aet", "MODALITY1"])
        var stored = "", stable = ""
        for _ in 0..<60 {
            stored = (try? String(contentsOfFile: out.path + "/stored.txt", encoding: .utf8)) ?? ""
            stable = (try? String(contentsOfFile: out.path + "/stable.txt", encoding: .utf8)) ?? ""
            if !stored.isEmpty && !stable.isEmpty { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(stored.hasPrefix("MODALITY1 HELLO001 1.2.3.11 1.2.3.11.1.1 \(server.archive.path)/1.2.3.11/"), "\(stored)")
        #expect(stable == "1.2.3.11 HELLO001 1\n", "\(stable)")
    }

    /// A private value of 3 MB before the pixel data (an encapsulated document, a vendor blob): the header
    /// parse that indexes the instance skips it as it passes instead of holding it; the file keeps it, byte for
    /// byte, and the instance is indexed by its attributes.
    @Test func aLongValueBeforeThePixelDataIsStoredNotHeld() async throws {
        var file = SampleImage.secondaryCapture()
        file.dataSet.set(Element(tag: Tag(0x0009, 0x0010), vr: .LO, bytes: Array("ARCA TEST ".utf8)))
        file.dataSet.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }))
        file.dataSet.setString("LONGVALUE", for: .patientID, vr: .LO)
        let dir = try ExternalTool.temporaryDirectory("arca-long-value")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("long.dcm")
        let bytes = try file.serialized()
        try FileWriter.write(bytes, to: url.path)
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let results = try await StoreSCU(host: "127.0.0.1", port: server.port).send([url.path])
        #expect(results.first?.status == .success, "\(results.first?.comment ?? "")")
        server.settle()
        let stored = try #require(server.archivedFiles().first)
        let read = try DICOMFile.read(path: stored.path)
        #expect(read.dataSet[Tag(0x0009, 0x1010)]?.bytes == file.dataSet[Tag(0x0009, 0x1010)]?.bytes)
        #expect(read.dataSet.string(.patientID) == "LONGVALUE")
        let (final, answers) = try await HostileIdentifierTests.find(server.port, HostileIdentifierTests.identifier(
            "STUDY", [(.patientID, "LONGVALUE"), (.studyInstanceUID, "")]))
        #expect(final.status == .success && answers == 1)
    }

    @Test func validationRuleRefusesWithC001() async throws {
        let file = try Self.sample(sop: "1.2.3.12.1")
        let server = try await TestServer.start { $0.validation.allowedModalities = ["CT"] }
        defer { Task { await server.stop() } }
        let results = try await StoreSCU(host: "127.0.0.1", port: server.port).send([file.path])
        #expect(results.first?.status == .storageFailed)
        #expect(results.first?.comment?.contains("allowed_modalities") == true, "\(results.first?.comment ?? "")")
        #expect(server.archivedFiles().isEmpty)
    }

    /// A 4 MB tmpfs as the archive: storing fills it, 0xA700 follows, nothing partial stays, and storing works
    /// again once space is freed.
    @Test(.needs(.root, .pydicom)) func diskFullAnswersA700AndRecovers() async throws {
        let mountPoint = try ExternalTool.temporaryDirectory("arca-tmpfs")
        let mounted = try ExternalTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint.path])
        try ExternalTool.require(mounted.status == 0, "a tmpfs mount (needs root): \(mounted.stderr)")
        // Lazily (MNT_DETACH): this runs before the server's stop below (an unawaited task) has closed its journal
        // and index on the mount, and a plain umount then failed busy and left the mount behind (8 in /tmp here).
        defer {
            _ = try? ExternalTool.run("/bin/umount", ["-l", mountPoint.path])
            try? FileManager.default.removeItem(at: mountPoint)
        }
        let ct = try ExternalTool.temporaryDirectory("arca-ct-full")
        let gen = ExternalTool.repositoryRoot.appendingPathComponent("scripts/gen-ct.py").path
        _ = try ExternalTool.run("python3", [gen, "12", ct.path, "512"])
        let files = try FileManager.default.contentsOfDirectory(at: ct, includingPropertiesForKeys: nil).sorted { $0.path < $1.path }
        let archive = mountPoint.appendingPathComponent("archive")
        let server = try await TestServer.start { $0.archive = archive.path }
        defer { Task { await server.stop() } }
        let scu = StoreSCU(host: "127.0.0.1", port: server.port, callingAETitle: "FULL", calledAETitle: "STORE_SCP")
        let results = try await scu.send(files.map(\.path))
        let statuses = results.map { $0.status?.rawValue }
        #expect(statuses.contains(0x0000))
        #expect(statuses.contains(0xA700), "\(statuses)")
        #expect(results.filter { $0.status?.rawValue == 0xA700 }.allSatisfy { ($0.comment ?? "").contains("disk full") })
        // Acknowledged instances are copied out of the journal into `.incoming/` and renamed in the background
        // (in batches that wait a little for company): a `.part` being materialized is not a leftover, and an
        // instance not yet placed would fill the space freed below, so wait (bounded) until the materializer is
        // idle or stuck on the full disk.
        var incoming: [String] = []
        for _ in 0..<100 {
            incoming = (try? FileManager.default.contentsOfDirectory(atPath: archive.path + "/.incoming")) ?? []
            if let m = server.materializer, !m.isIdle && m.lastError == nil {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            if incoming.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(incoming.isEmpty, "\(incoming)")
        // Every archived file is whole.
        for url in (FileManager.default.enumerator(at: archive, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "dcm" }) ?? [] {
            #expect((try? DICOMFile.read(path: url.path)) != nil, "\(url.lastPathComponent) is not whole")
        }
        // Free space: acknowledged instances the full disk held back in the journal are placed on the
        // materializer's next try (once a second) and take some of it again, so free it until they are all in
        // place and the materializer is idle.
        func archivedFiles() -> [URL] {
            (FileManager.default.enumerator(at: archive, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "dcm" }) ?? []
        }
        for _ in 0..<10 {
            for url in archivedFiles() { try FileManager.default.removeItem(at: url) }
            for _ in 0..<30 where server.materializer?.isIdle == false { try await Task.sleep(for: .milliseconds(100)) }
            if server.materializer?.isIdle != false { break }
        }
        for url in archivedFiles() { try FileManager.default.removeItem(at: url) }
        #expect(server.materializer?.isIdle != false, "the materializer still holds instances: \(String(describing: server.materializer?.lastError))")
        // Then the refused ones go through, one at a time: on a 4 MB disk the journal holds about two instances,
        // so a third sent at once waits for the first two to be placed and their segments recycled, which a CI
        // machine under load once took longer than the 2 s a store waits for room (0xA700, as designed).
        let refused = results.filter { $0.status?.rawValue == 0xA700 }.prefix(3).map(\.path)
        var again: [StoreSCU.Result] = []
        for path in refused {
            again += try await scu.send([path])
            for _ in 0..<100 where server.materializer?.isIdle == false { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(again.count == refused.count && again.allSatisfy { $0.status == .success },
                "\(again.map { "\($0.status?.rawValue ?? 0) \($0.comment ?? "")" })")
    }
}
