@testable import ArcaServer
import Archive
import Foundation
import Logging
import Testing
import TestSupport

/// Whether the storage service keeps its hook runner: only when a stored instance gives it something to run.
/// Each instance from the journal registers a callback holding its attributes until its file is in place; with
/// nothing to run, that was memory (20 MB for a burst of 40,000 small instances) and a lock on the commit's path
/// for nothing.
struct HookRunnerTests {
    struct NoOpHook: PostStoreHook {
        func instanceStored(_ instance: StoredInstance) async {}
    }

    let logger = Logger(label: "hook-runner-tests")

    @Test func hasWorkOnlyWithSomethingToRun() {
        #expect(!HookRunner(configuration: .init(), logger: logger).hasWork)
        #expect(HookRunner(configuration: .init(execOnStore: "true"), logger: logger).hasWork)
        #expect(HookRunner(configuration: .init(execOnStudyStable: "true"), logger: logger).hasWork)
        #expect(HookRunner(configuration: .init(), hooks: [NoOpHook()], logger: logger).hasWork)
    }

    @Test func storageServiceKeepsOnlyARunnerWithWork() throws {
        let root = try ExternalTool.temporaryDirectory("arca-hook-runner")
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root.path), index: nil)
        let idle = ArchiveStorageService(archive: archive, hooks: HookRunner(configuration: .init(), logger: logger), logger: logger)
        #expect(idle.hooks == nil)
        let busy = ArchiveStorageService(archive: archive, hooks: HookRunner(configuration: .init(execOnStore: "true"), logger: logger),
                                         logger: logger)
        #expect(busy.hooks != nil)
    }
}
