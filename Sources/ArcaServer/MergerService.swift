import Archive
import EDCKV
import Logging
import ServiceLifecycle

/// Runs eDCKV merge passes inside `arca serve` whenever this process holds the archive's merge lock.
public struct MergerService: Service {
    let store: DCKVStore
    let interval: Double
    let quietSeconds: Double
    let logger: Logger
    /// Set with a shared (PostgreSQL) index: the merger is elected across nodes as well as by `flock`.
    var election: (any LeaderElection)? = nil

    public func run() async throws {
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            await store.runMerger(interval: .milliseconds(Int64(max(0.05, interval) * 1000)), quietSeconds: quietSeconds, election: election) { result in
                if case .success(let r) = result {
                    for failure in r.failed { logger.error("[MERGE] study \(failure.study) not merged: \(failure.error)") }
                }
                switch result {
                case .success(let r) where r.merged + r.duplicatesDropped > 0:
                    let dropped = r.duplicatesDropped > 0 ? ", \(r.duplicatesDropped) duplicate(s) dropped" : ""
                    logger.info("[MERGE] \(r.merged) instance(s) into \(r.studies) stud\(r.studies == 1 ? "y" : "ies")\(dropped)")
                case .success: break
                case .failure(let error): logger.error("[MERGE] pass failed: \(error)")
                }
            }
        }
    }
}
