import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// DCMTK's echoscu and storescu against Arca's SCP: every instance of the corpus stored, datasets equal.
@Suite(.needs(.dcmtk), .serialized, .stopsServers) struct DCMTKStoreSCUTests {
    /// A DCMTK program's path (the tests that run one say `.needs(.dcmtk)`).
    static func dcmtk(_ tool: String) -> String { "/usr/bin/" + tool }

    @Test func echoscuSucceeds() async throws {
        let echoscu = Self.dcmtk("echoscu")
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync(echoscu, ["-v", "-aec", "STORE_SCP", "127.0.0.1", String(server.port)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((r.stdout + r.stderr).contains("Received Echo Response (Success)"))
    }

    /// Sends `files` with storescu and the given options; checks each is archived with an equal dataset.
    func sendAndVerify(_ files: [URL], options: [String], dropPrivate: Bool = false) async throws {
        let storescu = Self.dcmtk("storescu")
        try #require(!files.isEmpty, "no corpus file matched")
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync(storescu, ["-aec", "STORE_SCP", "-aet", "STORESCU", "-nh"] + options
                                     + ["127.0.0.1", String(server.port)] + files.map(\.path))
        #expect(r.status == 0, "storescu \(options): \(r.stderr)")
        #expect(!r.stderr.contains("E: "), "storescu \(options): \(r.stderr)")
        let stored = try Dictionary(server.archivedFiles().map { url in
            (try DICOMFile.read(path: url.path, options: .headerOnly).dataSet.uid(.sopInstanceUID) ?? "", url)
        }, uniquingKeysWith: { a, _ in a })
        #expect(stored.count == files.count, "\(options): \(stored.count) of \(files.count) stored")
        for file in files {
            let original = try DICOMFile.read(path: file.path)
            guard let sop = original.dataSet.uid(.sopInstanceUID), let url = stored[sop] else {
                Issue.record("\(options): \(file.lastPathComponent) not archived")
                continue
            }
            let archived = try DICOMFile.read(path: url.path)
            #expect(Canonical.valueLines(archived.dataSet, dropPrivate: dropPrivate)
                    == Canonical.valueLines(original.dataSet, dropPrivate: dropPrivate),
                    "\(options): \(file.lastPathComponent) differs after transfer")
            #expect(archived.meta.uid(.transferSyntaxUID) != nil)
        }
        #expect(server.incomingFiles().isEmpty)
    }

    static let uncompressed = ["implicit-le", "explicit-le", "explicit-be", "deflated", "utf8", "iso2022-jp", "cyrillic",
                               "multiframe-be", "no-preamble", "dcmtk-defined-lengths"]

    @Test(.needs(.pydicom), arguments: [["-pdu", "4096"], ["-pdu", "131072"], ["-xe"], ["-xb"], ["-xd"]])
    func storescuSendsTheUncompressedCorpus(options: [String]) async throws {
        let corpus = try Corpus.load()
        try await sendAndVerify(corpus.files(Self.uncompressed.map { $0 + ".dcm" }[...]), options: options)
    }

    @Test(.needs(.pydicom)) func storescuImplicitOnly() async throws {
        let corpus = try Corpus.load()
        // Implicit VR cannot say a private element is a sequence: those come back as UN bytes.
        try await sendAndVerify(corpus.files(Self.uncompressed.map { $0 + ".dcm" }[...]), options: ["-xi", "-pdu", "16384"], dropPrivate: true)
    }

    @Test(.needs(.pydicom), arguments: [("jpeg", "-xy"), ("j2k", "-xv"), ("rle", "-xr")])
    func storescuSendsEncapsulated(name: String, option: String) async throws {
        let corpus = try Corpus.load()
        try await sendAndVerify(corpus.files(name), options: [option])
    }

    @Test(.needs(.pydicom)) func eightStorescuAtOnce() async throws {
        let storescu = Self.dcmtk("storescu")
        let dir = try ExternalTool.temporaryDirectory("arca-ct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gen = ExternalTool.repositoryRoot.appendingPathComponent("scripts/gen-ct.py").path
        for i in 0..<8 {
            let r = try ExternalTool.run("python3", [gen, "10", dir.appendingPathComponent("s\(i)").path, "64"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let port = String(server.port)
        let results = try await withThrowingTaskGroup(of: ExternalTool.Result.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try await ExternalTool.runAsync(storescu, ["-aec", "STORE_SCP", "+sd", "127.0.0.1", port, dir.appendingPathComponent("s\(i)").path])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for r in results { #expect(r.status == 0, "\(r.stderr)") }
        #expect(server.archivedFiles().count == 80)
    }
}

extension Corpus {
    func files(_ names: ArraySlice<String>) -> [URL] {
        files.filter { names.contains($0.lastPathComponent) }
    }
}
