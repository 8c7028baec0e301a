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
        let slots = AsyncSemaphore(permits: configuration.maxConcurrent)
        self.slots = slots
        if let template = configuration.execOnStudyStable {
            let runner = ExecRunner(timeoutSeconds: configuration.timeoutSeconds, logger: logger)
            stable = StudyStableMonitor(stableAfter: TimeInterval(configuration.stableAfterSeconds)) { study, patient, count in
                let command = HookCommand(template, ["s": study, "i": patient, "n": String(count)])
                logger.info("[STABLE] study \(study): \(count) instance(s), nothing more for \(configuration.stableAfterSeconds) s")
                // Within `hook_concurrency` like the store hooks, and not awaited by the monitor: run one after the
                // other, the last of N studies stable at once waited up to N hook timeouts.
                Task.detached { await slots.withPermit { await runner.run(command, what: "exec-on-study-stable") } }
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

    static func expand(_ template: String, _ i: StoredInstance) -> HookCommand {
        let a = i.attributes
        return HookCommand(template, [
            "p": i.root + "/" + i.relativePath, "a": i.request.callingAETitle, "c": i.request.calledAETitle,
            "i": a.patientID, "s": a.studyInstanceUID, "e": a.seriesInstanceUID, "o": a.sopInstanceUID,
        ])
    }
}

/// A hook's shell command: the template with each `#x` it has a value for replaced by a reference to a positional
/// parameter, and the values passed as those parameters (`sh -c SCRIPT arca-hook V1 V2…`), so the shell never
/// parses a value. Values single-quoted into the text were parsed again inside the template's own double quotes:
/// `logger "stored #i"` ran the `$(…)` of a Patient ID any peer could send. The reference is quoted for where the
/// placeholder stands, so a value is always exactly one word: `"${1}"` outside quotes (and inside a command
/// substitution, where quoting starts again), `${1}` inside double quotes and arithmetic, `'"${1}"'` inside single
/// quotes. A `#` that starts a word and names no value starts a comment, copied as it is. What this reading of the
/// shell's quoting does not follow (here-documents, `case` inside `$(…)`, backquotes inside double quotes,
/// unbalanced quotes) is refused as the settings are read (`problem`): a script file taking the values as its
/// arguments does all of that.
struct HookCommand: Sendable, CustomStringConvertible {
    let script: String
    let values: [String]
    /// Why the template cannot be filled safely; nil when it can.
    let problem: String?

    /// The placeholders each hook fills.
    static let storeKeys: Set<Character> = ["p", "a", "c", "i", "s", "e", "o"]
    static let stableKeys: Set<Character> = ["s", "i", "n"]

    /// Where a character of the template stands: the shell's quoting, as far as a placeholder needs it.
    private enum Context: Equatable {
        case plain
        case single
        case double
        /// `$(…)`, with the count of parentheses opened inside it.
        case substitution(Int)
        case backtick
        /// `$((…))`, with the count of parentheses opened inside it.
        case arithmetic(Int)
    }

    /// Why `template` cannot be filled safely with values for `keys`; nil when it can.
    static func problem(in template: String, keys: Set<Character>) -> String? {
        HookCommand(template, Dictionary(uniqueKeysWithValues: keys.map { ($0, "") })).problem
    }

    init(_ template: String, _ values: [Character: String]) {
        var script = "", passed: [String] = [], numbers: [Character: Int] = [:]
        var contexts: [Context] = [.plain]
        var problem: String?
        var chars = Array(template)[...]
        func wordStarts() -> Bool { script.last.map { " \t\n;&|()<>".contains($0) } ?? true }
        // One pass over the template: a value is never searched for `#x` itself.
        while let c = chars.popFirst() {
            let context = contexts.last ?? .plain
            let commandContext: Bool
            switch context {
            case .plain, .substitution, .backtick: commandContext = true
            default: commandContext = false
            }
            if c == "#", let key = chars.first, let value = values[key] {
                chars.removeFirst()
                let number = numbers[key] ?? {
                    passed.append(value)
                    numbers[key] = passed.count
                    return passed.count
                }()
                switch context {
                case .single: script += "'\"${\(number)}\"'"
                case .double, .arithmetic: script += "${\(number)}"
                case .plain, .substitution, .backtick: script += "\"${\(number)}\""
                }
                continue
            }
            if c == "#", commandContext, wordStarts() {
                // A comment, to the end of its line: no quotes in it count, and no placeholder is filled.
                script.append(c)
                while let next = chars.first, next != "\n" { script.append(chars.removeFirst()) }
                continue
            }
            if commandContext, c == "<", chars.first == "<" {
                problem = problem ?? "a here-document"
            }
            if case .substitution = context, wordStarts(), c == "c", chars.starts(with: "ase"),
               chars.dropFirst(3).first.map({ " \t\n".contains($0) }) ?? false {
                problem = problem ?? "a case statement inside $(…) (its patterns' parentheses)"
            }
            script.append(c)
            switch (context, c) {
            case (.single, "'"): contexts.removeLast()
            case (.single, _): break
            case (_, "\\"):
                if let next = chars.popFirst() { script.append(next) }
            case (.double, "\""): contexts.removeLast()
            case (_, "$") where chars.starts(with: "(("):
                script.append(chars.removeFirst())
                script.append(chars.removeFirst())
                contexts.append(.arithmetic(0))
            case (_, "$") where chars.first == "(":
                script.append(chars.removeFirst())
                contexts.append(.substitution(0))
            case (.arithmetic(let open), "("): contexts[contexts.count - 1] = .arithmetic(open + 1)
            case (.arithmetic(let open), ")"):
                if open > 0 {
                    contexts[contexts.count - 1] = .arithmetic(open - 1)
                } else if chars.first == ")" {
                    script.append(chars.removeFirst())
                    contexts.removeLast()
                } else {
                    problem = problem ?? "unbalanced parentheses in $((…))"
                }
            case (.arithmetic, _): break
            case (.double, "`"): problem = problem ?? "backquotes inside double quotes (write $(…))"
            case (.backtick, "`"): contexts.removeLast()
            case (_, "`"): contexts.append(.backtick)
            case (.double, _): break
            case (_, "'"): contexts.append(.single)
            case (_, "\""): contexts.append(.double)
            case (.substitution(let open), "("): contexts[contexts.count - 1] = .substitution(open + 1)
            case (.substitution(let open), ")"):
                if open == 0 { contexts.removeLast() } else { contexts[contexts.count - 1] = .substitution(open - 1) }
            default: break
            }
        }
        if contexts != [.plain] { problem = problem ?? "unbalanced quotes or parentheses" }
        self.script = script
        self.values = passed
        self.problem = problem
    }

    /// A shell command of its own, with no values (tests).
    init(script: String) {
        self.script = script
        values = []
        problem = nil
    }

    /// `/bin/sh`'s arguments: `$0` names the hook in `ps` and in the shell's own messages.
    var arguments: [String] { ["-c", script, "arca-hook"] + values }

    /// For the log: the script and its values.
    var description: String {
        values.isEmpty ? script : script + " with " + values.enumerated().map { "$\($0.offset + 1)=\($0.element.debugDescription)" }.joined(separator: " ")
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

    func run(_ command: HookCommand, what: String) async {
        // Refused with the settings already; a configuration built in code is refused here.
        if let problem = command.problem {
            logger.error("[HOOK] \(what) not run: its command holds \(problem): \(command.script)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = command.arguments
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
