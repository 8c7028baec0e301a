import ArcaServer
import Archive
import DICOMNetwork
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TestSupport

/// An Arca storage SCP running inside the test process on a free port, over a fresh archive folder.
final class TestServer: Sendable {
    let archive: URL
    let port: Int
    let server: DICOMServer
    /// The HTTP server's port (DICOMweb, the page), when started with `http: true`.
    let httpPort: Int?
    private let task: Task<Void, Error>
    /// Acknowledged instances reach their files in the background (the ingest journal's materializer).
    let materializer: Materializer?
    let journal: IngestJournal?

    /// The DICOMweb root, when the HTTP server runs.
    var dicomweb: String { "http://127.0.0.1:\(httpPort ?? 0)/dicom-web" }

    static func start(preStoreChecks: [any PreStoreCheck] = [], postStoreHooks: [any PostStoreHook] = [], http: Bool = false,
                      _ configure: (inout ServerSettings) -> Void = { _ in }) async throws -> TestServer {
        let archive = try ExternalTool.temporaryDirectory("arca-archive")
        var settings = ServerSettings()
        settings.port = 0
        settings.host = "127.0.0.1"
        settings.archive = archive.path
        settings.shutdownGraceSeconds = 2
        settings.httpPort = http ? Self.freePort() : 0
        configure(&settings)
        let logger = Logger(label: "arca-test") { _ in SwiftLogNoOpLogHandler() }
        let app = ArcaApplication(settings: settings, logger: logger, preStoreChecks: preStoreChecks, postStoreHooks: postStoreHooks)
        let dckv = try app.makeDCKVStore()
        let index = try app.openIndex()
        let compressor = try app.makeCompressor(index)
        let operations = try app.makeOperations(index: index, dckv: dckv, extraHooks: compressor.map { [$0] } ?? [])
        let server = app.makeServer(operations)
        // As `arca serve`: a merge interval of 0 means this process never merges.
        let merger = settings.mergeIntervalSeconds > 0 ? dckv.map(app.makeMerger) : nil
        let (httpReady, ready) = AsyncStream.makeStream(of: Int.self)
        let httpServer = try app.makeHTTPServer(operations) { port in
            ready.yield(port)
            ready.finish()
        }
        let task = Task {
            // The eDCKV merger and the HTTP server run beside the SCP, as `arca serve` runs them, until it stops.
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let merger { group.addTask { try await merger.run() } }
                if let httpServer { group.addTask { try await httpServer.run() } }
                if let compressor { group.addTask { try await compressor.run() } }
                try await server.run()
                group.cancelAll()
            }
        }
        let port = try await server.waitUntilListening()
        var httpPort: Int?
        if httpServer != nil { for await p in httpReady { httpPort = p; break } }
        let started = TestServer(archive: archive, port: port, server: server, httpPort: httpPort, task: task,
                                 materializer: operations.storage.archive.materializer, journal: operations.storage.archive.journal)
        StartedServers.register { try await started.stopAwaitingItsEnd() }
        return started
    }

    private init(archive: URL, port: Int, server: DICOMServer, httpPort: Int?, task: Task<Void, Error>, materializer: Materializer?,
                 journal: IngestJournal?) {
        self.archive = archive
        self.materializer = materializer
        self.journal = journal
        self.port = port
        self.server = server
        self.httpPort = httpPort
        self.task = task
    }

    /// A TCP port nothing listens on now (the kernel's pick for a socket bound to port 0).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func stop() async {
        try? await stopAwaitingItsEnd()
    }

    /// Shuts the server down (again, if already asked) and waits for its end, throwing what it ended with.
    func stopAwaitingItsEnd() async throws {
        server.shutdown()
        do { try await task.value } catch {
            await Self.remove(archive, once: materializer)
            throw error
        }
        await Self.remove(archive, once: materializer)
    }

    /// Removes an archive folder once every acknowledged instance is in place (a blocking wait, on a thread of its
    /// own). Removed before, the materializer retried its placements into a missing folder until its drain gave
    /// up, 30 s later, on the thread that released the archive.
    static func remove(_ archive: URL, once materializer: Materializer?) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                materializer?.drain()
                try? FileManager.default.removeItem(at: archive)
                done.resume()
            }
        }
    }

    /// Waits until every acknowledged instance is in its file.
    func settle() { materializer?.drain() }

    /// Every archived file (hidden folders skipped), once every acknowledged instance is in place.
    func archivedFiles() -> [URL] {
        settle()
        guard let walker = FileManager.default.enumerator(at: archive, includingPropertiesForKeys: nil,
                                                          options: [.skipsHiddenFiles]) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "dcm" }
    }

    /// The journal's holds once every session has ended and every acknowledged instance is in place: 0 unless a
    /// stream was left behind (an aborted or refused instance whose records were never given up).
    func journalHoldsWhenQuiet() async -> Int {
        await server.waitUntilQuiet()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.settle()
                done.resume()
            }
        }
        return journal?.holds ?? 0
    }

    /// Files under the hidden incoming folder (must be empty when nothing is being received).
    func incomingFiles() -> [String] {
        settle()
        return (try? FileManager.default.contentsOfDirectory(atPath: archive.path + "/.incoming")) ?? []
    }

    /// C-ECHO with Arca's own SCU.
    func echo(aec: String = "STORE_SCP") async throws -> DIMSEStatus {
        let request = AssociateRequest(
            calledAETitle: aec, callingAETitle: "ECHO_TEST",
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) { try await $0.echo() }
    }
}
