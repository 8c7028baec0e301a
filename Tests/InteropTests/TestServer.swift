import ArcaServer
import Archive
import DICOMNetwork
import Foundation
import Logging
import TestSupport

/// An Arca storage SCP running inside the test process on a free port, over a fresh archive folder.
final class TestServer: Sendable {
    let archive: URL
    let port: Int
    let server: DICOMServer
    private let task: Task<Void, Error>

    static func start(preStoreChecks: [any PreStoreCheck] = [], postStoreHooks: [any PostStoreHook] = [],
                      _ configure: (inout ServerSettings) -> Void = { _ in }) async throws -> TestServer {
        let archive = try ExternalTool.temporaryDirectory("arca-archive")
        var settings = ServerSettings()
        settings.port = 0
        settings.host = "127.0.0.1"
        settings.archive = archive.path
        settings.shutdownGraceSeconds = 2
        configure(&settings)
        let logger = Logger(label: "arca-test") { _ in SwiftLogNoOpLogHandler() }
        let app = ArcaApplication(settings: settings, logger: logger, preStoreChecks: preStoreChecks, postStoreHooks: postStoreHooks)
        let dckv = try app.makeDCKVStore()
        let server = try app.makeServer(index: try app.openIndex(), dckv: dckv)
        let merger = dckv.map(app.makeMerger)
        let task = Task {
            // The eDCKV merger runs beside the SCP, as `arca serve` runs it, until the server stops.
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let merger { group.addTask { try await merger.run() } }
                try await server.run()
                group.cancelAll()
            }
        }
        let port = try await server.waitUntilListening()
        return TestServer(archive: archive, port: port, server: server, task: task)
    }

    private init(archive: URL, port: Int, server: DICOMServer, task: Task<Void, Error>) {
        self.archive = archive
        self.port = port
        self.server = server
        self.task = task
    }

    func stop() async {
        server.shutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: archive)
    }

    /// Every archived file (hidden folders skipped).
    func archivedFiles() -> [URL] {
        guard let walker = FileManager.default.enumerator(at: archive, includingPropertiesForKeys: nil,
                                                          options: [.skipsHiddenFiles]) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "dcm" }
    }

    /// Files under the hidden incoming folder (must be empty when nothing is being received).
    func incomingFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: archive.path + "/.incoming")) ?? []
    }

    /// C-ECHO with Arca's own SCU.
    func echo(aec: String = "STORE_SCP") async throws -> DIMSEStatus {
        let request = AssociateRequest(
            calledAETitle: aec, callingAETitle: "ECHO_TEST",
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) { try await $0.echo() }
    }
}
