import Archive
import DICOMNetwork
import ArchiveServices
import ArcaServer
import ArgumentParser
import Logging
import Metrics
import Prometheus

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the archive server: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET, storage commitment.")

    @Argument(help: "TCP port (default 11112).")
    var port: Int?

    @Option(help: "Configuration file (YAML); flags override it.") var config: String?
    @Option(help: "Our AE title (default STORE_SCP).") var aet: String?
    @Option(help: "Archive folder (default ./dicom_archive).") var archive: String?
    @Option(help: "File naming: uid_hierarchical, date_hierarchical or flat.") var naming: NamingScheme?
    @Option(help: "Duplicate SOP instances: reject, replace or ignore.") var duplicate: DuplicatePolicy?
    @Option(help: "Where instances go: files, dckv (the eDCKV study store) or files,dckv.") var store: StoreTargets?
    @Option(help: "strict (default): answer 0x0000 once the instance is on the device; deferred: once written and indexed, durable within 1 s.")
    var durability: Durability?
    @Option(name: .customLong("merge-interval"), help: "Seconds between eDCKV merge passes; 0: never merge in this process.")
    var mergeInterval: Double?
    @Option(name: .customLong("merge-after"), help: "Seconds a study must receive nothing before it is merged (default 3).")
    var mergeAfter: Double?
    @Option(name: .customLong("max-pdu"), help: "Maximum PDU length advertised (bytes).") var maxPDU: UInt32?
    @Option(name: .customLong("max-associations"), help: "Concurrent associations accepted.") var maxAssociations: Int?
    @Option(name: .customLong("max-object-size"), help: "Largest dataset accepted (bytes).") var maxObjectSize: UInt64?
    @Option(name: .customLong("idle-timeout"), help: "Seconds without traffic before an association is aborted.") var idleTimeout: Int?
    @Flag(name: .customLong("any-called-aet"), help: "Accept any called AE title (default: only ours).") var anyCalledAET = false
    @Option(name: .customLong("allow-aet"), help: "A calling AE title allowed to associate (repeatable; default any).")
    var allowAET: [String] = []
    @Flag(name: .customLong("accept-unknown-sop-classes"), help: "Accept SOP classes the dictionary does not know.")
    var acceptUnknown = false
    @Option(name: .customLong("exec-on-store"), help: "Command run after each stored instance (#p path, #a calling AE, #c called AE, #i patient ID, #s/#e/#o UIDs).")
    var execOnStore: String?
    @Option(name: .customLong("exec-on-study-stable"), help: "Command run once a study received nothing for --stable-after seconds (#s study UID, #i patient ID, #n instances).")
    var execOnStudyStable: String?
    @Option(name: .customLong("stable-after"), help: "Seconds without a new instance before a study counts as complete (default 60).")
    var stableAfter: Int?
    @Option(name: .customLong("remote"), help: "A peer AE: AE=host:port, or AE=host:port+tls over DICOM TLS (C-MOVE destination, storage commitment requestor; repeatable).")
    var remote: [String] = []
    @Option(name: .customLong("max-query-results"), help: "C-FIND answers at most this many matches, then 0xA700 (default 10000).")
    var maxQueryResults: Int?
    @Option(name: .customLong("person-name-matching"), help: "insensitive (case and accents, default) or literal.")
    var personNameMatching: PersonNameMatching?
    @Option(name: .customLong("move-associations"), help: "Associations a C-MOVE opens to its destination at once (default 1).")
    var moveAssociations: Int?
    @Option(name: .customLong("http-port"), help: "HTTP port of DICOMweb, the web page, /metrics and /health (default 8080; 0: off).")
    var httpPort: Int?
    @Option(name: .customLong("http-host"), help: "Address the HTTP server binds (default 127.0.0.1: loopback only).")
    var httpHost: String?
    @Option(name: .customLong("http-cors-origin"), help: "A web origin whose pages may call the HTTP API (CORS), e.g. https://viewer.example.org, or * (repeatable).")
    var httpCORSOrigins: [String] = []
    @Option(help: "Compress stored files losslessly after their acknowledgement: none (default), jpeg-ls, j2k, htj2k or rle.")
    var compress: String?
    @Option(name: .customLong("tls-port"), help: "DICOM TLS port (2762 by convention), beside the plain port.") var tlsPort: Int?
    @Option(name: .customLong("tls-certificate"), help: "Our certificate (PEM) for the TLS port and HTTPS.") var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-certificate.") var tlsKey: String?
    @Option(name: .customLong("tls-ca"), help: "CA certificate(s) (PEM): TLS clients must present a certificate it issued.")
    var tlsCA: String?
    @Flag(name: .customLong("tls-only"), help: "Listen on the TLS port only (no plain port).") var tlsOnly = false
    @Flag(help: "Serve HTTP over TLS (HTTPS) with the TLS certificate and key.") var https = false
    @Option(name: .customLong("audit-log"), help: "Audit trail: a file (one JSON line per event) or syslog.") var auditLog: String?
    @Option(help: "Index: sqlite (default, <archive>/index.db) or postgres://user@host:port/database (shared by several nodes).")
    var index: String?
    @Option(name: .customLong("node-name"), help: "This node's name on a PostgreSQL index (default host:port).") var nodeName: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel: String?
    @Flag(name: .customLong("print-config"), help: "Print the resulting configuration and exit.") var printConfig = false

    func settings() throws -> ServerSettings {
        var s = try config.map(SettingsFile.load) ?? ServerSettings()
        if let port { s.port = port }
        if let aet { s.aeTitle = aet }
        if let archive { s.archive = archive }
        if let naming { s.naming = naming }
        if let duplicate { s.duplicate = duplicate }
        if let store { s.store = store }
        if let durability { s.durability = durability }
        if let mergeInterval { s.mergeIntervalSeconds = mergeInterval }
        if let mergeAfter { s.mergeAfterSeconds = mergeAfter }
        if let maxPDU { s.maxPDU = maxPDU }
        if let maxAssociations { s.maxAssociations = maxAssociations }
        if let maxObjectSize { s.maxObjectSize = maxObjectSize }
        if let idleTimeout { s.idleTimeoutSeconds = idleTimeout }
        if anyCalledAET { s.strictCalledAETitle = false }
        if !allowAET.isEmpty { s.allowedCallingAETitles = allowAET }
        if acceptUnknown { s.acceptUnknownSOPClasses = true }
        if let execOnStore { s.execOnStore = execOnStore }
        if let execOnStudyStable { s.execOnStudyStable = execOnStudyStable }
        if let stableAfter { s.stableAfterSeconds = stableAfter }
        if let logLevel { s.logLevel = logLevel }
        for text in remote {
            guard let r = RemoteAE(text) else { throw SettingsError("--remote \(text): expected AE=host:port or AE=host:port+tls") }
            s.remotes.removeAll { $0.aeTitle == r.aeTitle }
            s.remotes.append(r)
        }
        if let maxQueryResults { s.maxQueryResults = maxQueryResults }
        if let personNameMatching { s.personNameMatching = personNameMatching }
        if let moveAssociations { s.moveAssociations = moveAssociations }
        if let httpPort { s.httpPort = httpPort }
        if let httpHost { s.httpHost = httpHost }
        if !httpCORSOrigins.isEmpty { s.httpCORSOrigins = httpCORSOrigins }
        if let tlsPort { s.tlsPort = tlsPort }
        if let tlsCertificate { s.tlsCertificate = tlsCertificate }
        if let tlsKey { s.tlsKey = tlsKey }
        if let tlsCA { s.tlsCA = tlsCA }
        if tlsOnly { s.tlsOnly = true }
        if https { s.https = true }
        if let auditLog { s.auditLog = auditLog }
        if let index { s.index = index }
        if let nodeName { s.nodeName = nodeName }
        if let compress {
            guard compress == "none" || StorageCompressor.syntax(named: compress) != nil else {
                throw SettingsError("--compress \(compress): expected none, jpeg-ls, j2k, htj2k or rle")
            }
            s.compress = compress
        }
        if let problem = s.problem { throw SettingsError(problem) }
        return s
    }

    func run() async throws {
        let settings: ServerSettings
        do { settings = try self.settings() } catch {
            printError("arca serve: \(error)")
            throw ExitCode.failure
        }
        if printConfig {
            print(try SettingsFile.printable(settings), terminator: "")
            return
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let console = ConsoleOutput()
        defer { console.flush() }
        LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, level: level, output: console) }
        // Metrics: collected by swift-metrics, served as Prometheus text at /metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "arca")
        let audit: (any AuditTrail)?
        do { audit = try ArcaApplication.openAuditTrail(settings, logger: logger) } catch {
            printError("arca serve: \(error)")
            throw ExitCode.failure
        }
        try await ArcaApplication(settings: settings, logger: logger, metricsText: { registry.emitToString() }, audit: audit).run()
    }
}

extension NamingScheme: ExpressibleByArgument {}
extension DuplicatePolicy: ExpressibleByArgument {}
extension Durability: ExpressibleByArgument {}
extension StoreTargets: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
extension PersonNameMatching: ExpressibleByArgument {}
