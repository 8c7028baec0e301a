import ArcaServer
import Archive
import DICOMNetwork
import Foundation
import Logging
import NIOSSL
import Synchronization
import TestSupport

/// A test CA and the certificates the security tests use, made with the `openssl` command: a server
/// certificate (localhost, 127.0.0.1), a client certificate of that CA (CN=modality1), and a client
/// certificate of another CA the server does not trust.
struct TestPKI {
    let folder: URL
    var caCertificate: String { folder.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { folder.appendingPathComponent("server.pem").path }
    var serverKey: String { folder.appendingPathComponent("server.key").path }
    var clientCertificate: String { folder.appendingPathComponent("client.pem").path }
    var clientKey: String { folder.appendingPathComponent("client.key").path }
    var rogueCertificate: String { folder.appendingPathComponent("rogue-client.pem").path }
    var rogueKey: String { folder.appendingPathComponent("rogue-client.key").path }

    static func make() throws -> TestPKI {
        let folder = try ExternalTool.temporaryDirectory("arca-pki")
        func openssl(_ args: [String]) throws {
            let r = try ExternalTool.run("/usr/bin/openssl", args, currentDirectory: folder)
            guard r.status == 0 else { throw SettingsError("openssl \(args.joined(separator: " ")): \(r.stderr)") }
        }
        func ca(_ name: String, _ subject: String) throws {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2",
                         "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        func leaf(_ name: String, _ subject: String, ca: String, san: String?) throws {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            var ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
            if let san { ext += "subjectAltName=\(san)\n" }
            try ext.write(to: folder.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                         "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext"])
        }
        try ca("ca", "/O=Arca Test/CN=Arca Test CA")
        try ca("rogue-ca", "/O=Elsewhere/CN=Rogue CA")
        try leaf("server", "/O=Arca Test/CN=localhost", ca: "ca", san: "DNS:localhost,IP:127.0.0.1")
        try leaf("client", "/O=Arca Test/CN=modality1", ca: "ca", san: nil)
        try leaf("rogue-client", "/O=Elsewhere/CN=modality1", ca: "rogue-ca", san: nil)
        return TestPKI(folder: folder)
    }
}

/// Audit records kept in memory, for tests to read.
final class AuditCollector: AuditTrail, Sendable {
    private let records = Mutex<[AuditRecord]>([])
    func record(_ record: AuditRecord) { records.withLock { $0.append(record) } }
    var all: [AuditRecord] { records.withLock { $0 } }
    func events(_ event: AuditRecord.Event) -> [AuditRecord] { all.filter { $0.event == event } }
}

/// Arca in the test process with its plain port, its TLS port (when `tls_port` is set) and its HTTP server
/// (when `http_port` is not 0), as `arca serve` runs them.
final class SecurityServer: Sendable {
    let archive: URL
    let port: Int
    let tlsPort: Int?
    let httpPort: Int?
    private let servers: [DICOMServer]
    private let task: Task<Void, Error>

    static func start(audit: (any AuditTrail)? = nil, _ configure: (inout ServerSettings) -> Void) async throws -> SecurityServer {
        let archive = try ExternalTool.temporaryDirectory("arca-secure")
        var settings = ServerSettings()
        settings.port = 0
        settings.host = "127.0.0.1"
        settings.archive = archive.path
        settings.shutdownGraceSeconds = 2
        settings.httpPort = 0
        configure(&settings)
        let logger = Logger(label: "arca-test") { _ in SwiftLogNoOpLogHandler() }
        let app = ArcaApplication(settings: settings, logger: logger, audit: audit)
        let operations = try app.makeOperations(index: try app.openIndex(), dckv: nil)
        let plain = app.makeServer(operations)
        let secure = try app.makeTLSServer(operations)
        let (httpReady, ready) = AsyncStream.makeStream(of: Int.self)
        let http = try app.makeHTTPServer(operations) { port in
            ready.yield(port)
            ready.finish()
        }
        let servers = [plain] + (secure.map { [$0] } ?? [])
        let task = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let http { group.addTask { try await http.run() } }
                if let secure { group.addTask { try await secure.run() } }
                try await plain.run()
                group.cancelAll()
            }
        }
        let port = try await plain.waitUntilListening()
        let tlsPort = try await secure?.waitUntilListening()
        var httpPort: Int?
        if http != nil { for await p in httpReady { httpPort = p; break } }
        let started = SecurityServer(archive: archive, port: port, tlsPort: tlsPort, httpPort: httpPort, servers: servers, task: task,
                                     materializer: operations.storage.archive.materializer)
        StartedServers.register { try await started.stopAwaitingItsEnd() }
        return started
    }

    /// Acknowledged instances reach their files in the background (the ingest journal's materializer).
    private let materializer: Materializer?

    private init(archive: URL, port: Int, tlsPort: Int?, httpPort: Int?, servers: [DICOMServer], task: Task<Void, Error>,
                 materializer: Materializer?) {
        self.materializer = materializer
        self.archive = archive
        self.port = port
        self.tlsPort = tlsPort
        self.httpPort = httpPort
        self.servers = servers
        self.task = task
    }

    /// Returns once every acknowledged instance is in its file.
    func settle() { materializer?.drain() }

    func stop() async {
        try? await stopAwaitingItsEnd()
    }

    /// Shuts the servers down (again, if already asked) and waits for their end, throwing what they ended with.
    func stopAwaitingItsEnd() async throws {
        for s in servers.reversed() { s.shutdown() }
        do { try await task.value } catch {
            await TestServer.remove(archive, once: materializer)
            throw error
        }
        await TestServer.remove(archive, once: materializer)
    }

    /// C-ECHO with Arca's SCU, over TLS when `tls` is given; returns the status or the error's description.
    func echo(port: Int, calling: String = "ECHO_TEST", tls: NIOSSLContext? = nil) async -> String {
        let request = AssociateRequest(
            calledAETitle: "STORE_SCP", callingAETitle: calling,
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))
        do {
            return "\(try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request, tls: tls) { try await $0.echo() })"
        } catch {
            return "error: \(error)"
        }
    }
}
