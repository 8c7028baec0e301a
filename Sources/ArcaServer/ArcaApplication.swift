import Archive
import DICOMNetwork
import Logging
import ServiceLifecycle

/// `arca serve`: the archive, the storage service and the SCP, run until SIGINT/SIGTERM.
public struct ArcaApplication: Sendable {
    public let settings: ServerSettings
    public let logger: Logger

    public init(settings: ServerSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func makeServer(index: (any InstanceIndex)? = nil) throws -> DICOMServer {
        let archive = try FileArchive(configuration: settings.archiveConfiguration, index: index)
        let hooks = HookRunner(configuration: .init(
            execOnStore: settings.execOnStore, execOnStudyStable: settings.execOnStudyStable,
            stableAfterSeconds: settings.stableAfterSeconds, maxConcurrent: settings.hookConcurrency,
            timeoutSeconds: settings.hookTimeoutSeconds), logger: logger)
        let storage = ArchiveStorageService(archive: archive, validation: settings.validation, hooks: hooks, logger: logger)
        return DICOMServer(configuration: settings.scpConfiguration, storage: storage, logger: logger)
    }

    /// Serves until a shutdown signal; returns after running associations have finished (or the grace period ended).
    public func run() async throws {
        let server = try makeServer()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
