import ArcaServer
import Archive
import ArchiveServices
import DICOM
import DICOMNetwork
import DICOMweb
import Foundation
import NIOSSL
import Testing
import TestSupport

/// DICOM TLS, HTTPS, access control and the audit trail (issue 13), with DCMTK's TLS clients and server, curl,
/// and a CA made by the test with `openssl`.
@Suite(.serialized, .stopsServers) struct SecurityTests {
    static func dcmtk(_ tool: String, _ args: [String]) async throws -> ExternalTool.Result {
        try await ExternalTool.runAsync("/usr/bin/" + tool, args)
    }

    /// DCMTK's echoscu, storescu and findscu with `+tls`/`+tla` against Arca's TLS port: anonymous clients and
    /// clients with a certificate; what storescu sent is archived and findscu finds it; the plain port still
    /// works beside the TLS one; the audit trail says which associations were TLS.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func dcmtkClientsOverTLS() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let study = try CTStudy.make(count: 4)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let audit = AuditCollector()
        let server = try await SecurityServer.start(audit: audit) {
            $0.tlsPort = 0
            $0.tlsCertificate = pki.serverCertificate
            $0.tlsKey = pki.serverKey
        }
        defer { Task { await server.stop() } }
        let tls = String(try #require(server.tlsPort))
        let anonymous = ["+tla", "+cf", pki.caCertificate, "-aec", "STORE_SCP"]
        let withCertificate = ["+tls", pki.clientKey, pki.clientCertificate, "+cf", pki.caCertificate, "-aec", "STORE_SCP"]

        let echo1 = try await Self.dcmtk("echoscu", anonymous + ["127.0.0.1", tls])
        #expect(echo1.status == 0, "\(echo1.stderr)")
        let echo2 = try await Self.dcmtk("echoscu", withCertificate + ["127.0.0.1", tls])
        #expect(echo2.status == 0, "\(echo2.stderr)")
        let store = try await Self.dcmtk("storescu", withCertificate + ["127.0.0.1", tls] + study.files.map(\.path))
        #expect(store.status == 0, "\(store.stderr)")
        let found = try ExternalTool.temporaryDirectory("findscu-tls")
        defer { try? FileManager.default.removeItem(at: found) }
        let find = try await Self.dcmtk("findscu", anonymous + ["-S", "-X", "-od", found.path, "-k", "QueryRetrieveLevel=SERIES",
                                                                "-k", "StudyInstanceUID=\(study.studyUID)", "-k", "SeriesInstanceUID",
                                                                "-k", "NumberOfSeriesRelatedInstances", "127.0.0.1", tls])
        #expect(find.status == 0, "\(find.stderr)")
        let answers = try FileManager.default.contentsOfDirectory(atPath: found.path).filter { $0.hasPrefix("rsp") }
        #expect(answers.count == 1)
        if let first = answers.first {
            let ds = try DICOMFile.read(path: found.appendingPathComponent(first).path).dataSet
            #expect(ds.string(.numberOfSeriesRelatedInstances) == "4")
        }
        // The plain port serves beside the TLS port.
        #expect(await server.echo(port: server.port) == "\(DIMSEStatus.success)")
        let associations = audit.events(.association)
        #expect(associations.filter { $0.details["tls"] == "true" && $0.outcome == .success }.count == 4)
        #expect(associations.contains { $0.details["tls"] == "false" })
        #expect(audit.events(.store).filter { $0.outcome == .success }.count == 4)
        #expect(audit.events(.query).count == 1)
    }

    /// Mutual TLS (`tls_ca`): a client certificate of our CA is admitted; no certificate, a certificate of
    /// another CA, and a plain DICOM client on the TLS port are all refused, and the server keeps serving.
    /// Arca's own SCU with and without its certificate behaves the same.
    @Test(.needs(.dcmtk, .openssl, .curl)) func mutualTLSRefusesWithoutHarm() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let server = try await SecurityServer.start {
            $0.tlsPort = 0
            $0.tlsCertificate = pki.serverCertificate
            $0.tlsKey = pki.serverKey
            $0.tlsCA = pki.caCertificate
        }
        defer { Task { await server.stop() } }
        let tls = try #require(server.tlsPort)
        let good = ["+tls", pki.clientKey, pki.clientCertificate, "+cf", pki.caCertificate, "-aec", "STORE_SCP", "127.0.0.1", String(tls)]
        #expect(try await Self.dcmtk("echoscu", good).status == 0)
        let anonymous = try await Self.dcmtk("echoscu", ["+tla", "+cf", pki.caCertificate, "-aec", "STORE_SCP", "127.0.0.1", String(tls)])
        #expect(anonymous.status != 0)
        let rogue = try await Self.dcmtk("echoscu", ["+tls", pki.rogueKey, pki.rogueCertificate, "+cf", pki.caCertificate,
                                                     "-aec", "STORE_SCP", "127.0.0.1", String(tls)])
        #expect(rogue.status != 0)
        let plain = try await Self.dcmtk("echoscu", ["-to", "5", "-aec", "STORE_SCP", "127.0.0.1", String(tls)])
        #expect(plain.status != 0)
        // Still serving, on both ports.
        #expect(try await Self.dcmtk("echoscu", good).status == 0)
        #expect(await server.echo(port: server.port) == "\(DIMSEStatus.success)")

        let withCertificate = try DICOMTLS.clientContext(ca: pki.caCertificate, certificate: pki.clientCertificate, key: pki.clientKey)
        #expect(await server.echo(port: tls, tls: withCertificate) == "\(DIMSEStatus.success)")
        let without = try DICOMTLS.clientContext(ca: pki.caCertificate, certificate: nil, key: nil)
        #expect(await server.echo(port: tls, tls: without).hasPrefix("error"))
        // A server certificate from a CA the client does not trust is refused by the client.
        let wrongTrust = try DICOMTLS.clientContext(ca: pki.rogueCertificate, certificate: pki.clientCertificate, key: pki.clientKey)
        #expect(await server.echo(port: tls, tls: wrongTrust).hasPrefix("error"))
    }

    /// DCMTK's `storescp +tls` with the test CA's server certificate, requiring a client certificate, writing into `out`.
    static func startTLSStorescp(_ pki: TestPKI, into out: URL) async throws -> (port: Int, peer: Process) {
        try await PynetdicomTests.startPeerOnFreePort("/usr/bin/storescp") { port in
            ["+tls", pki.serverKey, pki.serverCertificate, "+cf", pki.caCertificate, "--require-peer-cert", "-od", out.path, String(port)]
        }
    }

    /// The built `arca`, or nil with the reason recorded.
    static func builtArca() -> String? {
        if let arca = LenientReadingTests.arca { return arca }
        Issue.record(".build/debug/arca is not built: run `swift build` first (scripts/test does)")
        return nil
    }

    /// `arca echo` and `arca store --tls` against DCMTK's `storescp +tls` requiring a client certificate.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func arcaClientsAgainstStorescpTLS() async throws {
        guard let arca = Self.builtArca() else { return }
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let out = try ExternalTool.temporaryDirectory("storescp-tls")
        defer { try? FileManager.default.removeItem(at: out) }
        let (port, peer) = try await Self.startTLSStorescp(pki, into: out)
        defer { PynetdicomTests.stop(peer) }
        let files = ["--tls-ca", pki.caCertificate, "--tls-certificate", pki.clientCertificate, "--tls-key", pki.clientKey]
        let echo = try await ExternalTool.runAsync(arca, ["echo", "127.0.0.1", String(port), "--aec", "ANY_SCP", "--tls"] + files)
        #expect(echo.status == 0, "\(echo.stdout)\(echo.stderr)")
        let store = try await ExternalTool.runAsync(arca, ["store", "127.0.0.1", String(port), "--aec", "ANY_SCP", "--tls"] + files
                                                    + study.files.map(\.path))
        #expect(store.status == 0, "\(store.stdout)\(store.stderr)")
        let received = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(received.count == 3, "\(received)")
        // Without our certificate storescp refuses the handshake.
        let refused = try await ExternalTool.runAsync(arca, ["echo", "127.0.0.1", String(port), "--aec", "ANY_SCP", "--tls",
                                                             "--tls-ca", pki.caCertificate])
        #expect(refused.status != 0)
    }

    /// `arca commit --tls` against Arca's TLS port: the report names what is kept and what is not (exit 1 then);
    /// plain DICOM to the TLS port gets no report; a TLS listener without our certificate is refused up front.
    @Test(.needs(.openssl, .pydicom)) func arcaCommitOverTLS() async throws {
        guard let arca = Self.builtArca() else { return }
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let other = try CTStudy.make(count: 1)
        defer { try? FileManager.default.removeItem(at: other.folder) }
        let server = try await SecurityServer.start {
            $0.tlsPort = 0
            $0.tlsCertificate = pki.serverCertificate
            $0.tlsKey = pki.serverKey
        }
        defer { Task { await server.stop() } }
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send(study.files.map(\.path))
        #expect(stored.allSatisfy { $0.status == .success })
        let tls = String(try #require(server.tlsPort))
        let kept = try await ExternalTool.runAsync(arca, ["commit", "127.0.0.1", tls, "--tls", "--tls-ca", pki.caCertificate, "--timeout", "30"]
                                                   + study.files.map(\.path))
        #expect(kept.status == 0, "\(kept.stdout)\(kept.stderr)")
        #expect(kept.stdout.contains(": 3 committed, 0 failed"), "\(kept.stdout)")
        let partly = try await ExternalTool.runAsync(arca, ["commit", "127.0.0.1", tls, "--tls", "--tls-ca", pki.caCertificate, "--timeout", "30"]
                                                     + (study.files + other.files).map(\.path))
        #expect(partly.status != 0)
        #expect(partly.stdout.contains(": 3 committed, 1 failed") && partly.stdout.contains("reason 0x112"), "\(partly.stdout)")
        let plain = try await ExternalTool.runAsync(arca, ["commit", "127.0.0.1", tls, "--timeout", "10"] + study.files.map(\.path))
        #expect(plain.status != 0 && !plain.stdout.contains("committed"))
        let noCertificate = try await ExternalTool.runAsync(arca, ["commit", "127.0.0.1", tls, "--tls", "--tls-ca", pki.caCertificate,
                                                                   "--listen", String(TestServer.freePort())] + study.files.map(\.path))
        #expect(noCertificate.status != 0 && noCertificate.stderr.contains("--listen with --tls needs --tls-certificate"), "\(noCertificate.stderr)")
    }

    /// C-MOVE to a destination configured `+tls`: the sub-operations reach DCMTK's `storescp +tls`, which
    /// requires Arca's certificate; the same destination without `+tls` fails the sub-operations.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func moveToATLSDestination() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let study = try CTStudy.make(count: 3)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let out = try ExternalTool.temporaryDirectory("storescp-tls-move")
        defer { try? FileManager.default.removeItem(at: out) }
        let (port, peer) = try await Self.startTLSStorescp(pki, into: out)
        defer { PynetdicomTests.stop(peer) }
        let server = try await SecurityServer.start { s in
            s.tlsCertificate = pki.clientCertificate
            s.tlsKey = pki.clientKey
            s.tlsCA = pki.caCertificate
            s.remotes = [RemoteAE(aeTitle: "SECURE", host: "127.0.0.1", port: port, tls: true),
                         RemoteAE(aeTitle: "PLAIN", host: "127.0.0.1", port: port)]
        }
        defer { Task { await server.stop() } }
        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port).send(study.files.map(\.path))
        #expect(stored.allSatisfy { $0.status == .success })
        let studyUID = study.studyUID
        #expect(try await Self.move(port: server.port, calling: "MOVER", destination: "SECURE", study: studyUID) == .success)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == 3)
        // Plain DICOM to the TLS port: every sub-operation fails, and the C-MOVE says so.
        #expect(try await Self.move(port: server.port, calling: "MOVER", destination: "PLAIN", study: studyUID) != .success)
    }

    /// HTTPS on the HTTP port with the same files: curl verifies it against the test CA.
    @Test(.needs(.dcmtk, .openssl, .curl)) func httpsWithTheSameFiles() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let server = try await SecurityServer.start {
            $0.https = true
            $0.tlsCertificate = pki.serverCertificate
            $0.tlsKey = pki.serverKey
            $0.httpPort = TestServer.freePort()
        }
        defer { Task { await server.stop() } }
        let port = try #require(server.httpPort)
        let ok = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.caCertificate,
                                                                   "https://127.0.0.1:\(port)/health"])
        #expect(ok.stdout == "200", "\(ok.stderr)")
        let plain = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
        #expect(plain.stdout != "200")
    }

    static func curl(_ url: String, _ args: [String] = []) async throws -> String {
        try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + args + [url]).stdout
    }

    /// Bound beyond loopback, the HTTP API needs credentials: none or wrong is 401, a read-only token reads but
    /// cannot STOW (403), a read-write user can; /health stays open; every request is in the audit trail.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func httpAccessControl() async throws {
        let study = try CTStudy.make(count: 1)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let token = TokenHash.newToken()
        let audit = AuditCollector()
        let server = try await SecurityServer.start(audit: audit) {
            $0.httpHost = "0.0.0.0"
            $0.httpPort = TestServer.freePort()
            $0.httpUsers = [HTTPUser(name: "alice", passwordHash: try! PasswordHash.make("s3cret", rounds: 210_000), role: .readWrite)]
            $0.httpTokens = [HTTPToken(name: "viewer", tokenHash: TokenHash.make(token), role: .readOnly)]
        }
        defer { Task { await server.stop() } }
        let base = "http://127.0.0.1:\(try #require(server.httpPort))"
        let body = try ExternalTool.temporaryDirectory("stow-body").appendingPathComponent("body")
        defer { try? FileManager.default.removeItem(at: body.deletingLastPathComponent()) }
        var bytes = Data("--ARCA\r\nContent-Type: application/dicom\r\n\r\n".utf8)
        bytes += try Data(contentsOf: study.files[0])
        bytes += Data("\r\n--ARCA--\r\n".utf8)
        try bytes.write(to: body)
        let stow = ["-X", "POST", "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=ARCA", "--data-binary", "@\(body.path)"]

        #expect(try await Self.curl(base + "/dicom-web/studies") == "401")
        #expect(try await Self.curl(base + "/") == "401")
        #expect(try await Self.curl(base + "/dicom-web/studies", ["-H", "Authorization: Bearer wrong"]) == "401")
        #expect(try await Self.curl(base + "/dicom-web/studies", ["-u", "alice:wrong"]) == "401")
        #expect(try await Self.curl(base + "/health") == "200")
        #expect(try await Self.curl(base + "/dicom-web/studies", stow + ["-H", "Authorization: Bearer \(token)"]) == "403")
        #expect(try await Self.curl(base + "/dicom-web/studies", stow) == "401")
        #expect(try await Self.curl(base + "/dicom-web/studies", stow + ["-u", "alice:s3cret"]) == "200")
        #expect(["200"].contains(try await Self.curl(base + "/dicom-web/studies", ["-H", "Authorization: Bearer \(token)"])))
        // The second request of a verified user does not pay PBKDF2 again (same answer, from the cache).
        #expect(try await Self.curl(base + "/dicom-web/studies", ["-u", "alice:s3cret"]) == "200")

        let http = audit.events(.http)
        #expect(http.filter { $0.status == "401" && $0.outcome == .refused }.count == 5)
        #expect(http.filter { $0.status == "401" && $0.details["attempted_user"] == "alice" && $0.who == nil }.count == 1)
        #expect(http.contains { $0.status == "403" && $0.who == "viewer" && $0.details["operation"] == "STOW-RS" })
        #expect(http.contains { $0.status == "200" && $0.who == "alice" && $0.target?.hasPrefix("POST /dicom-web/studies") == true })
        #expect(http.contains { $0.status == "200" && $0.who == "viewer" })
        #expect(http.allSatisfy { $0.address?.contains("127.0.0.1") == true })
        // alice's STOW-RS was archived (it is in the trail as its HTTP request), its file put in place.
        server.settle()
        #expect(FileManager.default.enumerator(atPath: server.archive.path)?.contains { ($0 as? String)?.hasSuffix(".dcm") == true } == true)
    }

    /// On loopback without credentials configured, the API stays open as before.
    @Test(.needs(.dcmtk, .openssl, .curl)) func loopbackNeedsNoCredentials() async throws {
        let server = try await SecurityServer.start { $0.httpPort = TestServer.freePort() }
        defer { Task { await server.stop() } }
        #expect(try await Self.curl("http://127.0.0.1:\(try #require(server.httpPort))/dicom-web/studies") == "200")
    }

    static func find(port: Int, calling: String, tls: NIOSSLContext? = nil) async throws -> DIMSEStatus? {
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString("", for: .studyInstanceUID)
        let model = QueryModel.studyRoot
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: calling,
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [model.findSOPClass]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request, tls: tls) {
            try await $0.find(identifier, sopClassUID: model.findSOPClass) { _ in true }
        }.status
    }

    static func move(port: Int, calling: String, destination: String, study: String) async throws -> DIMSEStatus? {
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString(study, for: .studyInstanceUID)
        let model = QueryModel.studyRoot
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: calling,
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [model.moveSOPClass]))
        return try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) {
            try await $0.move(identifier, sopClassUID: model.moveSOPClass, destination: destination).0
        }.status
    }

    /// A C-GET of `study` into a new folder: its final status and how many files arrived.
    static func get(port: Int, calling: String, study: String) async throws -> (DIMSEStatus?, Int) {
        let folder = try ExternalTool.temporaryDirectory("arca-security-get")
        defer { try? FileManager.default.removeItem(at: folder) }
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString(study, for: .studyInstanceUID)
        let ct = "1.2.840.10008.5.1.4.1.1.2", getModel = QueryModel.studyRoot.getSOPClass
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: calling, presentationContexts: [
            PresentationContextProposal(id: 1, abstractSyntax: getModel, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian]),
            PresentationContextProposal(id: 3, abstractSyntax: ct, transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian]),
        ], roleSelections: [RoleSelection(sopClassUID: ct, scuRole: false, scpRole: true)])
        let final = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) {
            try await $0.get(identifier, sopClassUID: getModel, incoming: FolderStoreHandler(folder: folder.path)).0
        }
        return (final.status, try FileManager.default.contentsOfDirectory(atPath: folder.path).count)
    }

    /// DICOM access rules from the settings file: unknown AE titles and known ones from the wrong address are
    /// rejected with the same A-ASSOCIATE-RJ (reason 3: a prober learns nothing of which titles exist), the audit
    /// saying which rule failed; each AE may use only its services (0x0124 otherwise) and
    /// move only to its destinations; an AE tied to a client certificate is admitted only over TLS with it. The
    /// audit trail shows each refusal.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func dicomAccessRules() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.folder) }
        let study = try CTStudy.make(count: 2)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let audit = AuditCollector()
        let yaml = """
            dicom_access:
              - {ae_title: STORER, hosts: ["127.0.0.1"], services: [store]}
              - {ae_title: QUERIER, services: [query]}
              - {ae_title: MOVER, services: [retrieve], move_destinations: [ALLOWED]}
              - {ae_title: GETTER, hosts: ["127.0.0.1"], services: [retrieve]}
              - {ae_title: FARAWAY, hosts: ["10.0.0.0/8"]}
              - {ae_title: CERTAE, certificate_subject: "CN=modality1", services: [store, query, retrieve]}
            """
        let file = pki.folder.appendingPathComponent("arca.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let rules = try SettingsFile.load(file.path).dicomAccess
        #expect(rules.count == 6)
        let server = try await SecurityServer.start(audit: audit) {
            $0.dicomAccess = rules
            $0.tlsPort = 0
            $0.tlsCertificate = pki.serverCertificate
            $0.tlsKey = pki.serverKey
            $0.tlsCA = pki.caCertificate
        }
        defer { Task { await server.stop() } }

        #expect(await server.echo(port: server.port, calling: "NOBODY").contains("calling-AE-title-not-recognized"))
        #expect(await server.echo(port: server.port, calling: "FARAWAY").contains("calling-AE-title-not-recognized"))
        #expect(await server.echo(port: server.port, calling: "STORER") == "\(DIMSEStatus.success)")

        let stored = try await StoreSCU(host: "127.0.0.1", port: server.port, callingAETitle: "STORER").send(study.files.map(\.path))
        let failures = stored.filter { !$0.succeeded }.map { "\($0.path): \($0.error ?? "")" }
        #expect(failures.isEmpty, "\(failures)")
        let storescu = try await Self.dcmtk("storescu", ["-v", "-aet", "QUERIER", "-aec", "STORE_SCP", "127.0.0.1", String(server.port), study.files[0].path])
        // DCMTK prints statuses it does not name as "Unknown Status: 0x124".
        #expect((storescu.stdout + storescu.stderr).range(of: "0x0?124", options: .regularExpression) != nil, "\(storescu.stderr)")
        let refusedStore = try await StoreSCU(host: "127.0.0.1", port: server.port, callingAETitle: "QUERIER").send([study.files[0].path])
        #expect(refusedStore.first?.status == .notAuthorized)

        #expect(try await Self.find(port: server.port, calling: "STORER") == .notAuthorized)
        #expect(try await Self.find(port: server.port, calling: "QUERIER") == .success)
        #expect(try await Self.move(port: server.port, calling: "MOVER", destination: "ELSEWHERE", study: study.studyUID) == .notAuthorized)
        // Allowed by the rules; unknown to the archive, so the move itself is refused as such.
        #expect(try await Self.move(port: server.port, calling: "MOVER", destination: "ALLOWED", study: study.studyUID) == .moveDestinationUnknown)
        #expect(try await Self.move(port: server.port, calling: "QUERIER", destination: "ALLOWED", study: study.studyUID) == .notAuthorized)
        // A request no rule can grant (here an N-EVENT-REPORT) is granted to no one, not let through.
        let commitment = "1.2.840.10008.1.20.1"
        let reporting = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "STORER",
                                         presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [commitment]))
        let reported = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: server.port, request: reporting) { association in
            var command = CommandSet()
            command.setUID(commitment, .affectedSOPClassUID)
            command.setUS(CommandField.nEventReportRQ.rawValue, .commandField)
            command.setUS(0x0000, .commandDataSetType)
            command.setUID("1.2.840.10008.1.20.1.1", .affectedSOPInstanceUID)
            command.setUS(1, .eventTypeID)
            var info = DataSet()
            info.setString("1.2.3.4", for: .transactionUID, vr: .UI)
            return try await association.eventReport(command, dataSet: info)
        }
        #expect(reported == .notAuthorized)
        // C-GET delivers to the caller itself: not through a rule whose retrievals go to listed destinations only.
        let refusedGet = try await Self.get(port: server.port, calling: "MOVER", study: study.studyUID)
        #expect(refusedGet.0 == .notAuthorized && refusedGet.1 == 0)
        let allowedGet = try await Self.get(port: server.port, calling: "GETTER", study: study.studyUID)
        #expect(allowedGet.0 == .success && allowedGet.1 == 2)

        let tls = try #require(server.tlsPort)
        let certificate = try DICOMTLS.clientContext(ca: pki.caCertificate, certificate: pki.clientCertificate, key: pki.clientKey)
        #expect(try await Self.find(port: tls, calling: "CERTAE", tls: certificate) == .success)
        #expect(await server.echo(port: server.port, calling: "CERTAE").contains("calling-AE-title-not-recognized"))

        let refusedAssociations = audit.events(.association).filter { $0.outcome == .refused }
        #expect(Set(refusedAssociations.compactMap(\.who)) == ["NOBODY", "FARAWAY", "CERTAE"])
        #expect(refusedAssociations.first { $0.who == "NOBODY" }?.details["reason"] == DICOMAccessRules.Refusal.callingAETitleNotRecognized.description)
        #expect(refusedAssociations.first { $0.who == "FARAWAY" }?.details["reason"] == DICOMAccessRules.Refusal.notAllowedFromPeer.description)
        #expect(audit.events(.store).contains { $0.who == "QUERIER" && $0.status == "0x0124" && $0.outcome == .refused })
        #expect(audit.events(.store).filter { $0.who == "STORER" && $0.outcome == .success }.count == 2)
        // Whose data each store was (ATNA's participant objects): a record named only the SOP class and instance.
        #expect(audit.events(.store).filter { $0.who == "STORER" && $0.details["study"] == study.studyUID && $0.details["patient_id"]?.isEmpty == false }
            .count == 2)
        #expect(audit.events(.query).contains { $0.who == "STORER" && $0.status == "0x0124" })
        #expect(audit.events(.query).contains { $0.who == "CERTAE" && $0.certificateSubject?.contains("CN=modality1") == true && $0.outcome == .success })
        #expect(audit.events(.retrieve).contains { $0.who == "MOVER" && $0.details["destination"] == "ELSEWHERE" && $0.status == "0x0124" })
        #expect(audit.events(.retrieve).contains { $0.who == "MOVER" && $0.details["study"] == study.studyUID && $0.status == "0xA801" })
    }

    /// The security keys of the settings file: read, written back by `--print-config` unchanged, refused when a
    /// value is malformed (a password in clear, a port out of range), and incomplete ones (TLS without its files)
    /// refused once the flags had their say.
    @Test func settingsFileKeys() throws {
        let folder = try ExternalTool.temporaryDirectory("security-settings")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hash = try PasswordHash.make("pw", rounds: 210_000)
        #expect(PasswordHash.verify("pw", against: hash))
        #expect(!PasswordHash.verify("pW", against: hash))
        #expect(!PasswordHash.verify("pw", against: "pw"))
        let yaml = """
            tls_port: 2762
            tls_certificate: /etc/arca/server.pem
            tls_key: /etc/arca/server.key
            tls_ca: /etc/arca/ca.pem
            tls_only: true
            https: true
            http_host: 0.0.0.0
            http_users: [{name: alice, role: read-write, password_hash: "\(hash)"}]
            http_tokens: [{name: viewer, role: read-only, token_hash: "\(TokenHash.make("t"))"}]
            dicom_access: [{ae_title: CT1, hosts: ["10.1.0.0/16"], services: [store], move_destinations: [WS1]}]
            audit_log: syslog
            """
        let file = folder.appendingPathComponent("arca.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let settings = try SettingsFile.load(file.path)
        #expect(settings.tlsPort == 2762 && settings.tlsOnly && settings.https && settings.auditLog == "syslog")
        #expect(settings.httpAccess.required && settings.httpUsers.first?.role == .readWrite && settings.httpTokens.first?.role == .readOnly)
        #expect(settings.dicomAccess.first?.hosts.first?.description == "10.1.0.0/16")
        try SettingsFile.yaml(settings).write(to: file, atomically: true, encoding: .utf8)
        #expect(try SettingsFile.load(file.path) == settings)

        // Incomplete alone, a file is still read (the flags may complete it: `--tls-certificate` and `--tls-key`
        // beside a file's `tls_port`, as the README shows); the settings they make together are then refused.
        for incomplete in ["tls_port: 2762", "https: true", "tls_only: true"] {
            try incomplete.write(to: file, atomically: true, encoding: .utf8)
            #expect(try SettingsFile.load(file.path).problem != nil, "\(incomplete)")
        }
        try "tls_port: 2762".write(to: file, atomically: true, encoding: .utf8)
        var completed = try SettingsFile.load(file.path)
        completed.tlsCertificate = "/etc/arca/server.pem"
        completed.tlsKey = "/etc/arca/server.key"
        #expect(completed.problem == nil)
        for bad in ["tls_port: 70000",
                    "http_users: [{name: bob, role: read-only, password_hash: hunter2}]",
                    "http_tokens: [{name: t, role: read-only, token_hash: abc}]",
                    "dicom_access: [{ae_title: X, hosts: [example.org]}]"] {
            try bad.write(to: file, atomically: true, encoding: .utf8)
            #expect(throws: SettingsError.self, "\(bad)") { try SettingsFile.load(file.path) }
        }
        #expect(!ServerSettings().httpAccess.required)
    }

    /// `audit_log: PATH`: the events of a session (associations, a store, a query, a retrieve, HTTP requests)
    /// are JSON lines in the file, each with who, what, when and the outcome.
    @Test(.needs(.dcmtk, .openssl, .curl, .pydicom)) func auditLogFile() async throws {
        let study = try CTStudy.make(count: 2)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        let folder = try ExternalTool.temporaryDirectory("audit")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("audit.jsonl").path
        var settings = ServerSettings()
        settings.auditLog = path
        let trail = try #require(try ArcaApplication.openAuditTrail(settings, logger: .init(label: "t")) as? AuditLogFile)
        let server = try await SecurityServer.start(audit: trail) { $0.httpPort = TestServer.freePort() }
        defer { Task { await server.stop() } }
        _ = try await StoreSCU(host: "127.0.0.1", port: server.port, callingAETitle: "MODALITY").send(study.files.map(\.path))
        #expect(try await Self.find(port: server.port, calling: "VIEWER") == .success)
        #expect(try await Self.move(port: server.port, calling: "VIEWER", destination: "NOWHERE", study: study.studyUID) == .moveDestinationUnknown)
        #expect(try await Self.curl("http://127.0.0.1:\(try #require(server.httpPort))/dicom-web/studies") == "200")
        trail.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
        #expect(records.filter { $0.event == .association }.count == 3)
        #expect(records.filter { $0.event == .store && $0.who == "MODALITY" && $0.outcome == .success && $0.details["sop_instance"] != nil }.count == 2)
        #expect(records.contains { $0.event == .query && $0.who == "VIEWER" && $0.details["level"] == "STUDY" })
        #expect(records.contains { $0.event == .retrieve && $0.who == "VIEWER" && $0.details["destination"] == "NOWHERE" })
        #expect(records.contains { $0.event == .http && $0.target == "GET /dicom-web/studies" && $0.status == "200" })
        #expect(records.allSatisfy { $0.time.hasSuffix("Z") && $0.time.count >= 20 })
    }
}
