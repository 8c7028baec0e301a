import Archive
import DICOMNetwork
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

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
    /// Hooks running at once at most `maxConcurrent`; the others wait their turn suspended (a task each, not a
    /// thread).
    private let slots: AsyncSemaphore
    private let stable: StudyStableMonitor?

    public init(configuration: Configuration, hooks: [any PostStoreHook] = [], logger: Logger) {
        self.configuration = configuration
        self.hooks = hooks
        self.logger = logger
        slots = AsyncSemaphore(permits: configuration.maxConcurrent)
        if let template = configuration.execOnStudyStable {
            let runner = ExecRunner(timeoutSeconds: configuration.timeoutSeconds, logger: logger)
            stable = StudyStableMonitor(stableAfter: TimeInterval(configuration.stableAfterSeconds)) { study, patient, count in
                let command = HookRunner.fill(template, ["s": HookRunner.shellQuote(study), "i": HookRunner.shellQuote(patient),
                                                         "n": String(count)])
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
            await self.slots.withPermit {
                for hook in self.hooks { await hook.instanceStored(instance) }
                if let template = self.configuration.execOnStore {
                    await ExecRunner(timeoutSeconds: self.configuration.timeoutSeconds, logger: self.logger)
                        .run(Self.expand(template, instance), what: "exec-on-store")
                }
            }
        }
    }

    static func expand(_ template: String, _ i: StoredInstance) -> String {
        let a = i.attributes
        let values: [Character: String] = [
            "p": i.root + "/" + i.relativePath, "a": i.request.callingAETitle, "c": i.request.calledAETitle,
            "i": a.patientID, "s": a.studyInstanceUID, "e": a.seriesInstanceUID, "o": a.sopInstanceUID,
        ]
        return fill(template, values.mapValues(shellQuote))
    }

    /// `template` with each `#x` of `values` replaced by its value, in one pass over the template: a value is
    /// never searched for `#x` itself. Replaced one `#x` after the other, a calling AE title
    /// `#i` became `'#i'`, then `''<Patient ID>''`: the Patient ID, from the network, outside any quotes, run
    /// by the shell.
    static func fill(_ template: String, _ values: [Character: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let mark = rest.firstIndex(of: "#") {
            out += rest[..<mark]
            let key = rest.index(after: mark)
            if key < rest.endIndex, let value = values[rest[key]] {
                out += value
                rest = rest[rest.index(after: key)...]
            } else {
                out.append("#")
                rest = rest[key...]
            }
        }
        return out + rest
    }

    /// Single-quoted for /bin/sh, so values from the network are never interpreted by the shell.
    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Runs a shell command with a time limit; failures are logged, never thrown. Foundation starts the shell as
/// the leader of a process group of its own, so a timeout ends what it started too (SIGTERM to the group,
/// SIGKILL 2 s later). The spawn runs on the thread pool with every signal unblocked for it: a child inherits
/// its spawning thread's signal mask, and the pool's threads (like the cooperative pool's) block them all, so
/// a hook's shell ignored SIGTERM and its `wait` never saw its children end. Its end is awaited through
/// `terminationHandler`, not polled.
struct ExecRunner: Sendable {
    let timeoutSeconds: Int
    let logger: Logger

    func run(_ command: String, what: String) async {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let ended = ProcessEnd()
        process.terminationHandler = { ended.ended($0.terminationStatus) }
        do {
            try await NIOThreadPool.singleton.runIfActive {
                process.standardInput = FileHandle.nullDevice
                var unblocked = sigset_t(), previous = sigset_t()
                sigemptyset(&unblocked)
                pthread_sigmask(SIG_SETMASK, &unblocked, &previous)
                defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
                try process.run()
            }
        } catch {
            logger.error("[HOOK] \(what) could not start: \(error)")
            return
        }
        let pid = process.processIdentifier
        // The group it leads (all it started); the shell alone if it leads none.
        let target = getpgid(pid) == pid ? -pid : pid
        guard let status = await ended.wait(seconds: timeoutSeconds) else {
            kill(target, SIGTERM)
            logger.error("[HOOK] \(what) timed out after \(timeoutSeconds) s: \(command)")
            if await ended.wait(seconds: 2) == nil { kill(target, SIGKILL) }
            return
        }
        if status != 0 {
            logger.error("[HOOK] \(what) exited with \(status): \(command)")
        }
    }
}

/// A child process's end, awaited with a time limit: its termination handler or the limit's timer, whichever
/// comes first, resumes the one waiter.
final class ProcessEnd: Sendable {
    private struct State {
        var status: Int32?
        var waiter: CheckedContinuation<Int32?, Never>?
    }
    private let state = NIOLockedValueBox(State())

    func ended(_ status: Int32) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Int32?, Never>? in
            s.status = status
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: status)
    }

    /// The exit status, or nil when the process had not ended within `seconds`.
    func wait(seconds: Int) async -> Int32? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            let status = state.withLockedValue { s -> Int32? in
                if s.status == nil { s.waiter = continuation }
                return s.status
            }
            if let status {
                continuation.resume(returning: status)
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(max(0, seconds))) { [self] in
                let waiter = state.withLockedValue { s -> CheckedContinuation<Int32?, Never>? in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume(returning: nil)
            }
        }
    }
}
