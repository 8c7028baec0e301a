import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// pynetdicom as client of Arca's SCP, and Arca's SCU (`StoreSCU`, `arca store`'s engine) against
/// pynetdicom's and DCMTK's storage SCPs.
@Suite(.serialized, .stopsServers) struct PynetdicomTests {
    static var script: String { ExternalTool.repositoryRoot.appendingPathComponent("scripts/interop").path }

    @Test(.needs(.pynetdicom)) func pynetdicomEcho() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync("python3", [Self.script + "/pynetdicom-scu.py", "echo", String(server.port)])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    @Test(.needs(.pynetdicom, .pydicom)) func pynetdicomStoresWithAsyncWindow() async throws {
        let corpus = try Corpus.load()
        let files = corpus.files(["explicit-le.dcm", "implicit-le.dcm", "explicit-be.dcm", "utf8.dcm", "jpeg-multiframe.dcm", "rle.dcm"][...])
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let r = try await ExternalTool.runAsync("python3", [Self.script + "/pynetdicom-scu.py", "store", String(server.port)] + files.map(\.path))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(server.archivedFiles().count == files.count)
    }

    /// Starts a peer SCP process and waits until it accepts connections.
    /// Starts a peer listening on `port` and waits (10 s at most) until it accepts connections. A peer that exits
    /// instead (its port taken by another test's server: ports are drawn at random) fails at once, with what it
    /// printed on stderr.
    static func startPeer(_ executable: String, _ args: [String], port: Int) async throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        p.arguments = executable.hasPrefix("/") ? args : [executable] + args
        p.standardOutput = FileHandle.nullDevice
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        for _ in 0..<100 {
            if (try? RawConnection(port: port)) != nil { return p }
            guard p.isRunning else {
                let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw AssociationError("\(executable) exited with status \(p.terminationStatus) before listening on \(port): \(said)")
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        p.terminate()
        throw AssociationError("\(executable) did not start listening on \(port)")
    }

    /// `startPeer` on a free port, drawn again (three tries) when the one drawn turns out to be taken.
    static func startPeerOnFreePort(_ executable: String, _ args: (Int) -> [String]) async throws -> (port: Int, peer: Process) {
        var failure: (any Error)?
        for _ in 0..<3 {
            let port = freePort()
            do { return (port, try await startPeer(executable, args(port), port: port)) } catch { failure = error }
        }
        throw failure ?? AssociationError("\(executable) did not start")
    }

    /// SIGKILL and reap: pynetdicom's blocking server does not stop on SIGTERM.
    static func stop(_ p: Process) {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// The kernel's pick: a random port from 20000–40000 could be one of its ephemeral ports (32768 up), taken by
    /// an outgoing connection of a test running beside (storescp +tls then exits: "address already in use").
    static func freePort() -> Int { TestServer.freePort() }

    func storeWithArca(to port: Int, files: [URL], aec: String) async throws -> [StoreSCU.Result] {
        #expect(try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: AssociateRequest(
            calledAETitle: aec, callingAETitle: "ARCA_SCU",
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))) {
                try await $0.echo()
            } == .success)
        return try await StoreSCU(host: "127.0.0.1", port: port, callingAETitle: "ARCA_SCU", calledAETitle: aec).send(files.map(\.path))
    }

    @Test(.needs(.pynetdicom, .pydicom)) func arcaStoreAgainstPynetdicomSCP() async throws {
        let corpus = try Corpus.load()
        let out = try ExternalTool.temporaryDirectory("pynetdicom-scp")
        let port = Self.freePort()
        let peer = try await Self.startPeer("python3", [Self.script + "/pynetdicom-scp.py", String(port), out.path], port: port)
        defer { Self.stop(peer); try? FileManager.default.removeItem(at: out) }
        let results = try await storeWithArca(to: port, files: corpus.files, aec: "ANY_SCP")
        let failures = results.filter { !$0.succeeded }.map { "\($0.path): \($0.error ?? "")" }
        #expect(failures.isEmpty, "\(failures)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == corpus.files.count)
    }

    @Test(.needs(.dcmtk, .pydicom)) func arcaStoreAgainstDCMTKStorescp() async throws {
        let corpus = try Corpus.load()
        let out = try ExternalTool.temporaryDirectory("dcmtk-scp")
        let port = Self.freePort()
        // +xa: accept every transfer syntax, so compressed files go as they are.
        let peer = try await Self.startPeer("/usr/bin/storescp", ["+xa", "-od", out.path, String(port)], port: port)
        defer { Self.stop(peer); try? FileManager.default.removeItem(at: out) }
        let results = try await storeWithArca(to: port, files: corpus.files, aec: "STORESCP")
        let failures = results.filter { !$0.succeeded }.map { "\($0.path): \($0.error ?? "")" }
        #expect(failures.isEmpty, "\(failures)")
        let written = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(written.count == corpus.files.count)
        // What DCMTK wrote has the dataset we sent.
        for url in corpus.files {
            let original = try DICOMFile.read(path: url.path)
            guard let sop = original.dataSet.uid(.sopInstanceUID) else { continue }
            let match = try written.map { out.appendingPathComponent($0).path }.first {
                try DICOMFile.read(path: $0, options: .headerOnly).dataSet.uid(.sopInstanceUID) == sop
            }
            guard let match else { Issue.record("\(url.lastPathComponent) not received"); continue }
            #expect(Canonical.valueLines(try DICOMFile.read(path: match).dataSet) == Canonical.valueLines(original.dataSet),
                    "\(url.lastPathComponent)")
        }
    }
}
