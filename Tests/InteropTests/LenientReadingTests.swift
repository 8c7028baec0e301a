import ArcaServer
import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// Files DCMTK and pydicom read that are not quite right, through `arca store` and `arca dump`: a meta header
/// naming the wrong syntax, a file cut short.
@Suite(.serialized, .stopsServers) struct LenientReadingTests {
    /// The mismatched files of `MismatchedFile.cases`, written to a temporary folder, with their datasets.
    static func mismatchedFiles() throws -> (dir: URL, files: [(url: URL, bytes: [UInt8], expected: DataSet, written: TransferSyntax)]) {
        let dir = try ExternalTool.temporaryDirectory("arca-mismatched")
        var files: [(URL, [UInt8], DataSet, TransferSyntax)] = []
        for (n, c) in MismatchedFile.cases.enumerated() {
            let (bytes, expected) = try MismatchedFile.make(declared: c.declared, written: c.written, sop: "1.2.3.9.\(n)")
            let url = dir.appendingPathComponent("m\(n).dcm")
            try FileWriter.write(bytes, to: url.path)
            files.append((url, bytes, expected, c.written))
        }
        return (dir, files)
    }

    /// Proposed in the syntax the bytes are in (the other uncompressed one as fallback), and sent as they are
    /// when the peer accepts it: the archived file's dataset bytes are the original's, after a meta header
    /// that names the right syntax. Arca's SCP prefers explicit VR, so the implicit VR dataset is re-encoded.
    @Test func arcaStoreSendsTheDataSetInTheSyntaxItIsIn() async throws {
        let (dir, files) = try Self.mismatchedFiles()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let results = try await StoreSCU(host: "127.0.0.1", port: server.port).send(files.map(\.url.path))
        #expect(results.count == 2 && results.allSatisfy { $0.succeeded }, "\(results.map { $0.error ?? "" })")
        #expect(results.allSatisfy { $0.warning?.contains("meta header says") == true }, "\(results.map(\.warning))")
        let archived = server.archivedFiles()
        #expect(archived.count == 2)
        for f in files {
            let sop = try #require(f.expected.uid(.sopInstanceUID))
            let url = try #require(archived.first { $0.lastPathComponent == sop + ".dcm" })
            let stored = try DICOMFile.read(path: url.path)
            #expect(stored.encodingMismatch == nil)
            #expect(stored.dataSet == f.expected)
            guard f.written == .explicitVRLittleEndian else { continue }
            #expect(stored.transferSyntax == f.written)
            let original = try DICOMFile.locateDataSet(path: f.url.path)
            let kept = try DICOMFile.locateDataSet(path: url.path)
            #expect(try Array(FileReader.readAll(path: url.path)[Int(kept.offset)...]) == Array(f.bytes[Int(original.offset)...]))
        }
    }

    @Test(.needs(.dcmtk)) func arcaStoreToDCMTKStorescp() async throws {
        let (dir, files) = try Self.mismatchedFiles()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try ExternalTool.temporaryDirectory("arca-storescp-mismatch")
        defer { try? FileManager.default.removeItem(at: out) }
        let port = PynetdicomTests.freePort()
        let peer = try await PynetdicomTests.startPeer("/usr/bin/storescp", ["-od", out.path, String(port)], port: port)
        defer { PynetdicomTests.stop(peer) }
        let results = try await StoreSCU(host: "127.0.0.1", port: port, calledAETitle: "ANY-SCP").send(files.map(\.url.path))
        #expect(results.allSatisfy { $0.succeeded }, "\(results.map { $0.error ?? "" })")
        let received = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(received.count == 2)
        for name in received {
            let r = try ExternalTool.run("/usr/bin/dcmdump", [out.appendingPathComponent(name).path])
            #expect(r.status == 0 && r.stdout.contains("(0010,0010) PN [DOE^JOHN]") && !r.stderr.contains("W:"), "\(r.stderr)")
        }
    }

    static var arca: String? {
        let path = ExternalTool.repositoryRoot.appendingPathComponent(".build/debug/arca").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// The tags of a dump's element lines, in order (items and delimiters left out).
    static func tags(_ dump: String) -> [String] {
        dump.split(separator: "\n").compactMap { line -> String? in
            let t = line.drop { $0 == " " }
            guard t.hasPrefix("("), !t.hasPrefix("(fffe,") else { return nil }
            return String(t.prefix(11))
        }
    }

    /// A sample file cut at several places, each dumped by `arca dump`: the tags of the whole file, and per cut its
    /// file and what `arca dump` said.
    static func cutDumps(_ arca: String, in dir: URL) throws -> (all: [String], cuts: [(cut: Int, path: String, dump: ExternalTool.Result)]) {
        var file = SampleImage.secondaryCapture(rows: 600, columns: 600)
        var item = DataSet()
        item.setString("T-D0050", for: Tag(0x0008, 0x0100), vr: .SH)
        file.dataSet.setItems([item, item], for: Tag(0x0008, 0x1032))
        let bytes = try file.serialized()
        let fullPath = dir.appendingPathComponent("full.dcm").path
        try FileWriter.write(bytes, to: fullPath)
        let full = try ExternalTool.run(arca, ["dump", fullPath])
        #expect(full.status == 0 && full.stderr.isEmpty, "\(full.stderr)")
        var cuts: [(cut: Int, path: String, dump: ExternalTool.Result)] = []
        for cut in [600, 800, 1000, bytes.count / 2, bytes.count - 10] {
            let path = dir.appendingPathComponent("cut-\(cut).dcm").path
            try FileWriter.write(Array(bytes[0..<cut]), to: path)
            cuts.append((cut, path, try ExternalTool.run(arca, ["dump", path])))
        }
        return (Self.tags(full.stdout), cuts)
    }

    /// `arca dump` of a file cut at several places lists the elements before the cut, then the error with its
    /// offset on stderr, and fails; a mismatched file dumps with a warning.
    @Test func arcaDumpOfCutAndMismatchedFiles() throws {
        guard let arca = Self.arca else {
            Issue.record(".build/debug/arca is not built: run `swift build` first (scripts/test does)")
            return
        }
        let dir = try ExternalTool.temporaryDirectory("arca-dump-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (allTags, cuts) = try Self.cutDumps(arca, in: dir)
        for (cut, _, r) in cuts {
            #expect(r.status != 0, "cut at \(cut)")
            #expect(r.stderr.contains("truncated at offset"), "cut at \(cut): \(r.stderr)")
            let tags = Self.tags(r.stdout)
            #expect(!tags.isEmpty && tags == Array(allTags.prefix(tags.count)), "cut at \(cut)")
        }
        let (mdir, mismatched) = try Self.mismatchedFiles()
        defer { try? FileManager.default.removeItem(at: mdir) }
        for f in mismatched {
            let r = try ExternalTool.run(arca, ["dump", f.url.path])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("warning: meta header says"), "\(r.stderr)")
            #expect(r.stdout.contains("(0010,0010) PN [DOE^JOHN]"))
        }
    }

    /// Where a file is cut, `arca dump` lists what `dcmdump +E` lists: the same elements, and the one the cut is in
    /// with what it has of its value (dcmdump may list that one, arca does not).
    @Test(.needs(.dcmtk)) func arcaDumpOfCutFilesMatchesDcmdump() throws {
        guard let arca = Self.arca else {
            Issue.record(".build/debug/arca is not built: run `swift build` first (scripts/test does)")
            return
        }
        let dir = try ExternalTool.temporaryDirectory("arca-dump-cut-dcmdump")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (cut, path, r) in try Self.cutDumps(arca, in: dir).cuts {
            let tags = Self.tags(r.stdout)
            let reference = try ExternalTool.run("/usr/bin/dcmdump", ["+E", path])
            let theirs = Self.tags(reference.stdout)
            #expect(reference.status != 0)
            #expect(tags == Array(theirs.prefix(tags.count)) && theirs.count - tags.count <= 1,
                    "cut at \(cut): arca \(tags.count) elements, dcmdump \(theirs.count)\n\(r.stdout)\n\(reference.stdout)")
        }
    }
}
