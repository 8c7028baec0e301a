import Archive
import ArchiveServices
import DICOMNetwork
import DICOMweb
#if canImport(Glibc)
import Glibc
#endif
import EDCKV
import Foundation
import Logging
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// `arca serve`: the index, the archive, the storage service and the SCP, run until SIGINT/SIGTERM.
public struct ArcaApplication: Sendable {
    public let settings: ServerSettings
    public let logger: Logger
    /// Swift hooks for embedding Arca: checks before an instance is committed, notifications after it is acknowledged.
    public let preStoreChecks: [any PreStoreCheck]
    public let postStoreHooks: [any PostStoreHook]
    /// The Prometheus text of the metrics the process collects (`/metrics`); nil when none are collected.
    public let metricsText: (@Sendable () -> String)?
    /// The pixel pipeline: retrieval converting compressed syntaxes, rendered images and frames.
    let pixelTranscoding: (any PixelTranscoding)? = PixelPipeline()
    let pixelRendering: (any PixelRendering)? = PixelPipeline()
    /// Where association, DIMSE and HTTP events are recorded (`--audit-log`, see `openAuditTrail`); nil: nowhere.
    public let audit: (any AuditTrail)?

    public init(settings: ServerSettings, logger: Logger, preStoreChecks: [any PreStoreCheck] = [],
                postStoreHooks: [any PostStoreHook] = [], metricsText: (@Sendable () -> String)? = nil,
                audit: (any AuditTrail)? = nil) {
        self.settings = settings
        self.logger = logger
        self.preStoreChecks = preStoreChecks
        self.postStoreHooks = postStoreHooks
        self.metricsText = metricsText
        self.audit = audit
    }

    /// The audit trail `audit_log` names: `syslog`, or a file appended to (one JSON line per event).
    public static func openAuditTrail(_ settings: ServerSettings, logger: Logger) throws -> (any AuditTrail)? {
        guard let path = settings.auditLog else { return nil }
        return path == "syslog" ? SyslogAuditTrail() : try AuditLogFile(path: path, logger: logger)
    }

    /// Opens `<archive>/index.db`. When it is missing but the archive holds files (the seed's recipe: delete
    /// index.db and restart), the index is rebuilt from the files before anything is accepted.
    public func openIndex() throws -> any MaintainedIndex {
        let root = settings.archive
        try Directory.create(root)
        if settings.index != "sqlite" { return try openSharedIndex() }
        let path = root + "/" + SQLiteIndex.fileName
        let existed = FileManager.default.fileExists(atPath: path)
        // The eDCKV store's instances are rows too: an archive of them alone came back with an empty index, without
        // a word (it rebuilt only when there were files).
        let dckv = existed ? nil : DCKVIndexRows.records(archiveRoot: root)
        for failure in dckv?.failed ?? [] { logger.warning("[INDEX] skipped eDCKV \(failure.path): \(failure.error)") }
        if !existed && (!IndexMaintenance.archivedFiles(root: root).isEmpty || dckv?.records.isEmpty == false) {
            logger.notice("[INDEX] \(path) is missing: rebuilding it from the archived files and the eDCKV store")
            var last = 0
            let started = ContinuousClock.now
            let report = try IndexMaintenance.rebuildInPlace(root: root, alsoRecord: dckv?.records ?? []) { done, total in
                if done == total || done - last >= 1000 {
                    last = done
                    logger.notice("[INDEX] rebuilt \(done)/\(total)")
                }
            }
            for failure in report.failed { logger.warning("[INDEX] skipped \(failure.path): \(failure.error)") }
            logger.notice("[INDEX] rebuilt: \(report.indexed) instance(s) indexed, \(report.failed.count) file(s) skipped, in \(ContinuousClock.now - started)")
        }
        // With the ingest journal, an acknowledged row is made durable by the materializer's syncfs (and replayed
        // from the journal after a crash), so its commit need not fsync the WAL: the one flush per instance is
        // the journal's.
        let configuration = try archiveConfiguration()
        let index = try SQLiteIndex(archive: root, synchronous: configuration.journal == nil ? .full : .normal)
        try recoverJournals(configuration, index: index, rowsFromFiles: !existed)
        if try !index.beginSession() {
            // The last server did not stop cleanly: a file renamed into place whose row was not committed yet
            // (never acknowledged) is indexed now, before anything new is accepted.
            logger.notice("[INDEX] the last run did not stop cleanly: reconciling the index with the files")
            try IndexMaintenance.reconcile(root: root, index: index).log(to: logger)
        }
        return index
    }

    /// Completes the stores in the journals of stopped processes (before anything is accepted).
    func recoverJournals(_ configuration: FileArchive.Configuration, index: any InstanceIndex, rowsFromFiles: Bool = false) throws {
        guard configuration.journal != nil else { return }
        try completeJournals(index: index, rowsFromFiles: rowsFromFiles)
    }

    /// Completes what the journals of stopped processes hold, into their files (by this configuration's naming)
    /// and `index`: on start, and before `arca index rebuild` reads the files.
    @discardableResult
    public func completeJournals(index: (any InstanceIndex)?, rowsFromFiles: Bool = false) throws -> JournalRecovery.Report {
        let dckv = try makeDCKVStore()
        let report = try FileArchive.recover(archiveConfiguration(dckv), index: index, afterPlace: spoolAfterPlace(dckv),
                                             rowsFromFiles: rowsFromFiles)
        report.log(to: logger, acknowledged: "before the stop")
        return report
    }

    /// The archive's configuration with the eDCKV store in it: eDCKV alone, the journal places instances into
    /// the store's spool rather than into files.
    public func archiveConfiguration(_ dckv: DCKVStore?) -> FileArchive.Configuration {
        var configuration = settings.archiveConfiguration
        if let dckv, !settings.store.files {
            configuration.spool = FileArchive.SpoolPlacement(
                location: { attributes in
                    try dckv.location(studyInstanceUID: attributes.studyInstanceUID, studyDate: attributes.studyDate,
                                      sopInstanceUID: attributes.sopInstanceUID)
                },
                // The materializer's syncfs makes the batch durable before the journal lets it go: five fsyncs
                // per instance here were device flushes beside every acknowledgement's own.
                store: { bytes, location in try dckv.store(bytes, durable: false, at: location) })
        }
        return configuration
    }

    func archiveConfiguration() throws -> FileArchive.Configuration { archiveConfiguration(try makeDCKVStore()) }

    /// With `files,dckv`: each journaled instance's file, once in place, is spooled into the eDCKV store too.
    func spoolAfterPlace(_ dckv: DCKVStore?) -> (@Sendable (String) throws -> Void)? {
        guard let dckv, settings.store.files else { return nil }
        return { path in _ = try dckv.store(FileBytes(path: path), durable: false) }  // synced with the batch
    }

    /// The archive operations both protocols share: one storage (C-STORE and STOW-RS), one query engine
    /// (C-FIND and QIDO-RS), one instance reading (C-MOVE, C-GET and WADO-RS).
    public struct ArchiveOperations: Sendable {
        public let storage: ArchiveStorageService
        /// Nil when the index cannot run queries (no index).
        public let engine: QueryEngine?
        public let reading: InstanceReading?
    }

    /// `extraHooks`: post-store work of the application itself (the storage compressor).
    public func makeOperations(index: (any InstanceIndex)?, dckv: DCKVStore?, extraHooks: [any PostStoreHook] = []) throws -> ArchiveOperations {
        let archive = try FileArchive(configuration: archiveConfiguration(dckv), index: index, afterPlace: spoolAfterPlace(dckv))
        let logger = self.logger
        archive.materializer?.setReporter { logger.error("[JOURNAL] \($0)") }
        let hooks = HookRunner(configuration: .init(
            execOnStore: settings.execOnStore, execOnStudyStable: settings.execOnStudyStable,
            stableAfterSeconds: settings.stableAfterSeconds, maxConcurrent: settings.hookConcurrency,
            timeoutSeconds: settings.hookTimeoutSeconds), hooks: postStoreHooks + extraHooks, logger: logger)
        let storage = ArchiveStorageService(archive: archive, dckv: dckv,
                                            validation: settings.validation, checks: preStoreChecks, hooks: hooks, logger: logger)
        guard let queryable = index as? any IndexQuerying else { return ArchiveOperations(storage: storage, engine: nil, reading: nil) }
        let source = ArchiveInstanceSource(root: settings.archive, edckv: DCKVInstanceSource(archiveRoot: settings.archive),
                                           materializer: archive.materializer)
        let engine = QueryEngine(index: queryable, source: source, maxResults: settings.maxQueryResults, retrieveAETitle: settings.aeTitle)
        return ArchiveOperations(storage: storage, engine: engine, reading: InstanceReading(source: source, transcoder: pixelTranscoding))
    }

    public func makeServer() throws -> DICOMServer {
        try makeServer(index: openIndex(), dckv: makeDCKVStore())
    }

    public func makeServer(index: (any InstanceIndex)?, dckv: DCKVStore? = nil) throws -> DICOMServer {
        makeServer(try makeOperations(index: index, dckv: dckv))
    }

    /// The DICOM SCP: verification, storage, and (with an index that answers queries) query/retrieve and
    /// storage commitment.
    public func makeServer(_ operations: ArchiveOperations) -> DICOMServer {
        DICOMServer(configuration: scpConfiguration(port: settings.port, tls: nil), services: makeServices(operations), logger: logger)
    }

    /// The DICOM TLS listener (`tls_port`) with the same services, when configured.
    public func makeTLSServer(_ operations: ArchiveOperations) throws -> DICOMServer? {
        guard let port = settings.tlsPort, let certificate = settings.tlsCertificate, let key = settings.tlsKey else { return nil }
        let tls = try DICOMTLS.serverContext(certificate: certificate, key: key, clientCA: settings.tlsCA)
        return DICOMServer(configuration: scpConfiguration(port: port, tls: tls), services: makeServices(operations), logger: logger)
    }

    func scpConfiguration(port: Int, tls: NIOSSLContext?) -> SCPConfiguration {
        var configuration = settings.scpConfiguration
        configuration.port = port
        configuration.tls = tls
        configuration.access = DICOMAccessRules(settings.dicomAccess)
        configuration.audit = audit
        return configuration
    }

    /// Our client side of DICOM TLS toward remote AEs marked `+tls`: the TLS certificate and key (for peers
    /// that require one), trusting `tls_ca` (the system's roots without it). Checked at start by `run()`.
    var remoteTLS: NIOSSLContext? {
        guard settings.remotes.contains(where: \.tls) else { return nil }
        return try? makeRemoteTLS()
    }

    func makeRemoteTLS() throws -> NIOSSLContext {
        try DICOMTLS.clientContext(ca: settings.tlsCA, certificate: settings.tlsCertificate, key: settings.tlsKey)
    }

    func makeServices(_ operations: ArchiveOperations) -> DIMSEServiceRegistry {
        var services: [any DIMSEService] = [
            VerificationService(),
            StorageSCPService(storage: operations.storage, acceptsSOPClass: settings.acceptsStorageSOPClass),
        ]
        if let engine = operations.engine {
            let remotes = RemoteAETable(settings.remotes, tls: remoteTLS)
            services += [
                FindService(engine: engine, foldsPersonNames: settings.personNameMatching == .insensitive, logger: logger),
                MoveService(engine: engine, remotes: remotes, parallelAssociations: settings.moveAssociations, logger: logger,
                            transcoder: pixelTranscoding),
                GetService(engine: engine, acceptsStorageSOPClass: settings.acceptsStorageSOPClass, logger: logger, transcoder: pixelTranscoding),
                StorageCommitmentService(engine: engine, remotes: remotes, aeTitle: settings.aeTitle, logger: logger),
            ]
        }
        return DIMSEServiceRegistry(services)
    }

    /// The HTTP server (DICOMweb, the page, /metrics, /health), when `httpPort` is not 0 and the index answers
    /// queries.
    public func makeHTTPServer(_ operations: ArchiveOperations, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> (any Service)? {
        guard settings.httpPort != 0, let engine = operations.engine, let reading = operations.reading else { return nil }
        let archive = settings.archive
        let services = DICOMwebServices(
            engine: engine, reading: reading, storage: operations.storage, pixels: pixelRendering, metrics: metricsText,
            health: { access(archive, W_OK) == 0 })
        var configuration = DICOMwebConfiguration(host: settings.httpHost, port: settings.httpPort, aeTitle: settings.aeTitle,
                                                  maxObjectSize: settings.maxObjectSize)
        if settings.https, let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            configuration.tls = try DICOMTLS.serverConfiguration(certificate: certificate, key: key, clientCA: nil)
        }
        configuration.access = settings.httpAccess
        configuration.audit = audit
        configuration.idleTimeout = .seconds(Int64(settings.idleTimeoutSeconds))
        configuration.acceptsSOPClass = settings.acceptsStorageSOPClass
        configuration.corsOrigins = Set(settings.httpCORSOrigins)
        configuration.maxConnections = settings.httpMaxConnections
        if configuration.access.required && settings.httpUsers.isEmpty && settings.httpTokens.isEmpty {
            logger.warning("[HTTP] \(settings.httpHost) is beyond loopback and no http_users or http_tokens are set: every request but /health gets 401")
        }
        return try DICOMwebServer.application(configuration, services, logger: logger, onServerRunning: onServerRunning)
    }

    /// The background compressor when `--compress` names a syntax (files only: eDCKV keeps what it received),
    /// after finishing a compression a crash interrupted.
    public func makeCompressor(_ index: any InstanceIndex) throws -> StorageCompressor? {
        guard settings.store.files, let syntax = StorageCompressor.syntax(named: settings.compress) else { return nil }
        try StorageCompressor.recover(root: settings.archive, index: index, logger: logger)
        return StorageCompressor(syntax: syntax, root: settings.archive, index: index, logger: logger)
    }

    /// The PostgreSQL index (`index: postgres://…`), which several nodes on this archive folder share. After
    /// this node's unclean stop its files without rows are indexed (rows without files are removed only when
    /// the file is still missing at that moment: other nodes are committing meanwhile).
    func openSharedIndex() throws -> PostgresIndex {
        let node = settings.nodeName ?? ProcessInfo.processInfo.hostName + ":" + String(settings.port)
        let index = try PostgresIndex(url: settings.index, node: node, maxConnections: max(8, settings.maxAssociations / 4))
        logger.notice("[INDEX] PostgreSQL \(index.displayURL) as node \(node)")
        // Journals of stopped processes (this node's last run, or another node that died) are completed before
        // anything is accepted, as on SQLite; while serving, `JournalTakeoverService` keeps doing it.
        let configuration = try archiveConfiguration()
        try recoverJournals(configuration, index: index)
        if try !index.beginSession() {
            logger.notice("[INDEX] this node's last run did not stop cleanly: reconciling the index with the files")
            try IndexMaintenance.reconcile(root: settings.archive, index: index).log(to: logger)
        }
        return index
    }

    /// The merge loop of the eDCKV store (runs passes while this process holds the archive's merge lock).
    public func makeMerger(_ store: DCKVStore) -> MergerService {
        MergerService(store: store, interval: settings.mergeIntervalSeconds, quietSeconds: settings.mergeAfterSeconds, logger: logger)
    }

    /// The eDCKV store when `store` names it (one spool per process; opening it twice in one process is harmless).
    public func makeDCKVStore() throws -> DCKVStore? {
        guard settings.store.dckv else { return nil }
        return try DCKVStore(archiveRoot: settings.archive, policy: settings.duplicate)
    }

    /// The soft limit on open descriptors raised to the hard one (as servers do): each association and HTTP
    /// connection, each SQLite reader, each file being sent (WADO-RS holds a few per connection) takes one, and
    /// the usual soft limit of 1,024 would refuse connections long before the machine runs short.
    func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.debug("open files: soft limit \(before) raised to \(limit.rlim_max)")
        }
    }

    /// Reads the index's SOP Instance UIDs into memory on a thread of its own (a blocking scan), so that a new
    /// instance's commit need not look it up (`InstanceIndex.certainlyAbsent`); until it ends, every commit asks
    /// the index.
    func startKnowing(_ index: any MaintainedIndex) {
        let logger = self.logger
        Thread {
            let started = ContinuousClock.now
            do {
                try index.startKnowing()
                logger.info("[INDEX] instance UIDs in memory for duplicate lookups (\(ContinuousClock.now - started))")
            } catch {
                logger.warning("[INDEX] could not read the instance UIDs into memory (\(error)): every commit looks up the index")
            }
        }.start()
    }

    /// Serves until a shutdown signal; returns after running associations have finished (or the grace period ended).
    public func run() async throws {
        raiseOpenFileLimit()
        // A remote AE marked +tls with unreadable TLS files fails the start, not the first C-MOVE to it.
        if settings.remotes.contains(where: \.tls) { _ = try makeRemoteTLS() }
        // Opening the index may rebuild it from the files, and recovery completes the journals and an interrupted
        // compression: file work of seconds to minutes, on a thread made for blocking rather than the cooperative
        // pool (nothing else runs yet, but the pool's threads are the ones every task needs).
        let (index, dckv, compressor, operations) = try await NIOThreadPool.singleton.runIfActive {
            let index = try openIndex()
            let dckv = try makeDCKVStore()
            let compressor = try makeCompressor(index)
            let operations = try makeOperations(index: index, dckv: dckv, extraHooks: compressor.map { [$0] } ?? [])
            return (index, dckv, compressor, operations)
        }
        startKnowing(index)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if !settings.tlsOnly { services.append(.init(service: makeServer(operations))) }
        if let tlsServer = try makeTLSServer(operations) { services.append(.init(service: tlsServer)) }
        if let compressor { services.append(.init(service: compressor)) }
        let scheme = settings.https ? "https" : "http"
        if let http = try makeHTTPServer(operations, onServerRunning: { [logger] port in logger.info("DICOMweb and the web page on \(scheme)://\(settings.httpHost):\(port)/") }) {
            services.append(.init(service: http))
        }
        if let shared = index as? PostgresIndex, settings.archiveConfiguration.journal != nil {
            services.append(.init(service: JournalTakeoverService(configuration: archiveConfiguration(dckv), index: shared,
                                                                  interval: .seconds(2), afterPlace: spoolAfterPlace(dckv),
                                                                  logger: logger), successTerminationBehavior: .ignore))
        }
        if let dckv, settings.mergeIntervalSeconds > 0 {
            var merger = makeMerger(dckv)
            merger.election = index as? any LeaderElection
            services.append(.init(service: merger, successTerminationBehavior: .ignore))
        }
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Services stop one after the other, the DICOM servers last (each lets its associations finish within
        // shutdown_grace): past this, whatever still runs is cancelled, so a stop never waits for ever.
        configuration.maximumGracefulShutdownDuration = .seconds(2 * settings.shutdownGraceSeconds + 30)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
        try await NIOThreadPool.singleton.runIfActive { [logger, audit] in
            (audit as? AuditLogFile)?.flush()
            // Everything acknowledged is materialized and durable (the materializer's last batch and its syncfs):
            // the journal is empty.
            let archive = operations.storage.archive
            archive.close()
            if let journal = archive.journal, let materializer = archive.materializer, materializer.materialized > 0 {
                logger.notice("[JOURNAL] \(materializer.materialized) instance(s) journaled: \(journal.flushCount) journal flush(es), \(materializer.syncCount) syncfs")
            }
            // Every association has ended, so every acknowledged row is committed: a clean stop.
            try index.endSession()
        }
    }
}
