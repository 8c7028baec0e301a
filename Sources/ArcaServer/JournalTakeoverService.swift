import Archive
import Logging
import NIOPosix
import ServiceLifecycle

/// On an archive folder several nodes share (a PostgreSQL index), completes the journals of nodes that died:
/// what a node acknowledged but had not yet put in place is otherwise only in its journal until that node
/// starts again. A journal slot whose flock is free belongs to no running process (the kernel drops the lock
/// with its holder), so every `interval` the survivor runs the same recovery a start runs; a slot held by a
/// live node, or by this process, is left alone.
struct JournalTakeoverService: Service {
    let configuration: FileArchive.Configuration
    let index: any InstanceIndex
    let interval: Duration
    let afterPlace: (@Sendable (String) throws -> Void)?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await NIOThreadPool.singleton.runIfActive {
                        try FileArchive.recover(configuration, index: index, afterPlace: afterPlace)
                    }
                    report.log(to: logger, acknowledged: "by a node that stopped")
                } catch {
                    logger.error("[JOURNAL] taking over stopped nodes' journals failed: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
