import Archive
import DICOMNetwork
import Foundation
import Logging
import NIOConcurrencyHelpers

/// What a post-store hook is told about an instance just stored.
public struct StoredInstance: Sendable {
    public var attributes: InstanceAttributes
    public var result: FileArchive.CommitResult
    public var request: StoreRequest
    public var root: String

    public var relativePath: String {
        switch result {
        case .stored(let p), .replaced(let p), .ignored(let p): return p
        }
    }
}

/// A Swift pre-store check (the seed's pre-store handler): sees the header attributes before the instance is
/// committed; a non-nil answer refuses it with 0xC001 (`.rejected`) or the status its error maps to.
public protocol PreStoreCheck: Sendable {
    func check(_ attributes: InstanceAttributes, request: StoreRequest) -> ArchiveError?
}

extension ValidationRules: PreStoreCheck {}

/// A Swift post-store hook (the seed's post-store handler): called after the acknowledgement.
public protocol PostStoreHook: Sendable {
    func instanceStored(_ instance: StoredInstance) async
}

/// Runs post-store work after the acknowledgement, bounded in concurrency and time: Swift hooks, and
/// `--exec-on-store` commands with substitutions. A failing hook is logged; it never loses an image.
public final class HookRunner: Sendable {
    public struct Configuration: Sendable {
        /// Command run per stored instance; substitutions: `#p` path, `#a` calling AE, `#c` called AE, `#i` patient ID,
        /// `#s` study UID, `#e` series UID, `#o` SOP instance UID.
        public var execOnStore: String?
        /// Command run once per study that received nothing for `stableAfterSeconds`: `#s` study UID,
        /// `#i` patient ID, `#n` instances received.
        public var execOnStudyStable: String?
        public var stableAfterSeconds: Int
        public var maxConcurrent: Int
        public var timeoutSeconds: Int
        public init(execOnStore: String? = nil, execOnStudyStable: String? = nil, stableAfterSeconds: Int = 60,
                    maxConcurrent: Int = 4, timeoutSeconds: Int = 60) {
            self.execOnStore = execOnStore
            self.execOnStudyStable = execOnStudyStable
            self.stableAfterSeconds = stableAfterSeconds
            self.maxConcurrent = maxConcurrent
            self.timeoutSeconds = timeoutSeconds
        }
    }

    let configuration: Configuration
    let hooks: [any PostStoreHook]
    let logger: Logger
    private let running = NIOLockedValueBox(0)
    private let stable: StudyStableMonitor?

    public init(configuration: Configuration, hooks: [any PostStoreHook] = [], logger: Logger) {
        self.configuration = configuration
        self.hooks = hooks
        self.logger = logger
        if let template = configuration.execOnStudyStable {
            let runner = ExecRunner(timeoutSeconds: configuration.timeoutSeconds, logger: logger)
            stable = StudyStableMonitor(stableAfter: TimeInterval(configuration.stableAfterSeconds)) { study, patient, count in
                let command = template.replacingOccurrences(of: "#s", with: HookRunner.shellQuote(study))
                    .replacingOccurrences(of: "#i", with: HookRunner.shellQuote(patient))
                    .replacingOccurrences(of: "#n", with: String(count))
                logger.info("[STABLE] study \(study): \(count) instance(s), nothing more for \(configuration.stableAfterSeconds) s")
                await runner.run(command, what: "exec-on-study-stable")
            }
        } else {
            stable = nil
        }
    }

    /// Whether a stored instance gives it anything to do: a Swift hook, `--exec-on-store` or
    /// `--exec-on-study-stable`.
    public var hasWork: Bool { !hooks.isEmpty || configuration.execOnStore != nil || stable != nil }

    func instanceStored(_ instance: StoredInstance) {
        if let stable {
            let a = instance.attributes
            Task { await stable.received(studyUID: a.studyInstanceUID, patientID: a.patientID) }
        }
        guard !hooks.isEmpty || configuration.execOnStore != nil else { return }
        Task.detached { [self] in
            await self.waitForSlot()
            defer { self.running.withLockedValue { $0 -= 1 } }
            for hook in self.hooks { await hook.instanceStored(instance) }
            if let template = self.configuration.execOnStore {
                await ExecRunner(timeoutSeconds: self.configuration.timeoutSeconds, logger: self.logger)
                    .run(Self.expand(template, instance), what: "exec-on-store")
            }
        }
    }

    private func waitForSlot() async {
        while !running.withLockedValue({ n in
            guard n < configuration.maxConcurrent else { return false }
            n += 1
            return true
        }) {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    static func expand(_ template: String, _ i: StoredInstance) -> String {
        let a = i.attributes
        let values: [(String, String)] = [
            ("#p", i.root + "/" + i.relativePath), ("#a", i.request.callingAETitle), ("#c", i.request.calledAETitle),
            ("#i", a.patientID), ("#s", a.studyInstanceUID), ("#e", a.seriesInstanceUID), ("#o", a.sopInstanceUID),
        ]
        var out = template
        for (key, value) in values { out = out.replacingOccurrences(of: key, with: shellQuote(value)) }
        return out
    }

    /// Single-quoted for /bin/sh, so values from the network are never interpreted by the shell.
    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Runs a shell command with a time limit; failures are logged, never thrown.
struct ExecRunner: Sendable {
    let timeoutSeconds: Int
    let logger: Logger

    func run(_ command: String, what: String) async {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            logger.error("[HOOK] \(what) could not start: \(error)")
            return
        }
        let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                logger.error("[HOOK] \(what) timed out after \(timeoutSeconds) s: \(command)")
                return
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if process.terminationStatus != 0 {
            logger.error("[HOOK] \(what) exited with \(process.terminationStatus): \(command)")
        }
    }
}
