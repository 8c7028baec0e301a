@testable import ArcaServer
import Archive
import DICOM
import DICOMNetwork
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

    /// Placeholders are filled in one pass over the template: a value (a calling AE title `#i`) is never searched
    /// for placeholders. One after the other, `#a` became `'#i'`, then the Patient ID replaced that `#i` outside
    /// the quotes, and the shell ran it.
    @Test func placeholdersAreFilledInOnePass() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-hook-fill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("pwned").path, out = dir.appendingPathComponent("out").path
        let patientID = ";touch \(marker);"
        var file = SampleImage.secondaryCapture()
        file.dataSet.setString(patientID, for: .patientID, vr: .LO)
        let instance = StoredInstance(attributes: InstanceAttributes(file.dataSet), result: .stored(path: "a/b.dcm"),
                                      request: StoreRequest(callingAETitle: "#i", calledAETitle: "ARCA", sopClassUID: "1.2.840.10008.5.1.4.1.1.7",
                                                            sopInstanceUID: "1.2.3", transferSyntax: .explicitVRLittleEndian, messageID: 1),
                                      root: dir.path)
        let command = HookRunner.expand("echo #a #i > \(out)", instance)
        await ExecRunner(timeoutSeconds: 10, logger: logger).run(command, what: "test")
        #expect(!FileManager.default.fileExists(atPath: marker), "\(command)")
        #expect((try? String(contentsOfFile: out, encoding: .utf8)) == "#i \(patientID)\n")
        let filled = HookCommand("echo a#x b## #a#a #b", ["a": "A", "b": "B"])
        #expect(filled.script == "echo a#x b## \"${1}\"\"${1}\" \"${2}\"" && filled.values == ["A", "B"])
        // A `#` that starts a word and names no value starts a comment: nothing in it is filled.
        let commented = HookCommand("# note #a\necho #b", ["a": "A", "b": "B"])
        #expect(commented.script == "# note #a\necho \"${1}\"" && commented.values == ["B"])
    }

    /// A value is never parsed by the shell, wherever the administrator's template puts its placeholder: inside
    /// double quotes, values single-quoted into the text ran a Patient ID's `$(…)` and backticks; in a
    /// command substitution of the template's own, the value is still one word.
    @Test func valuesAreNeverParsedByTheShell() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-hook-quotes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("pwned").path
        let hostile = ["$(touch \(marker))", "`touch \(marker)`", "\"; touch \(marker); \"", "' ; touch \(marker) ; '",
                       "a  b*", "\\\"$HOME"]
        for (n, value) in hostile.enumerated() {
            // Each template with what it writes (printf, not echo: dash's echo reads backslashes).
            let templates = [
                ("printf '%s\\n' \"stored #i for #a\" > OUT", "stored \(value) for AE\n"),
                ("printf '%s %s %s\\n' #i for #a > OUT", "\(value) for AE\n"),
                ("printf '%s\\n' \"$(printf %s \"#i\") for #a\" > OUT", "\(value) for AE\n"),
            ]
            for (k, (template, expected)) in templates.enumerated() {
                let out = dir.appendingPathComponent("out\(n)-\(k)").path
                let command = HookCommand(template.replacingOccurrences(of: "OUT", with: out), ["i": value, "a": "AE"])
                await ExecRunner(timeoutSeconds: 10, logger: logger).run(command, what: "test")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(command)")
                let written = try? String(contentsOfFile: out, encoding: .utf8)
                #expect(written == expected, "\(command)")
            }
        }
    }

    /// Where the quoting reader and the shell would part, the template is refused instead of filled: a comment's
    /// apostrophe, a here-document, a case inside $(…) and backquotes inside double quotes left values unquoted
    /// (split and globbed) or quoted twice. A comment's placeholder is not filled; arithmetic takes the bare value.
    @Test func templatesTheQuotingReaderCannotFollowAreRefused() async throws {
        let keys = HookCommand.storeKeys
        #expect(HookCommand.problem(in: "cat <<EOF\n#p\nEOF", keys: keys) == "a here-document")
        #expect(HookCommand.problem(in: "x=\"$(case #i in x) echo a;; *) printf %s #i;; esac)\"", keys: keys)?.contains("case") == true)
        #expect(HookCommand.problem(in: "echo \"`printf %s \\\"#p\\\"`\"", keys: keys)?.contains("backquotes") == true)
        #expect(HookCommand.problem(in: "echo \"#p", keys: keys) == "unbalanced quotes or parentheses")
        var settings = ServerSettings()
        settings.execOnStore = "cat <<EOF\n#p\nEOF"
        #expect(settings.problem?.hasPrefix("exec_on_store: a here-document") == true)
        // Followed: a comment with an apostrophe and a placeholder, arithmetic, $( ) with quotes inside.
        let dir = try ExternalTool.temporaryDirectory("arca-hook-follow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let value = "a  b*"
        let template = "# log the patient's study #i\nprintf '[%s]\\n' \"stored #i\" \"$(printf %s \"#i\")\" $((#n + 1)) > \(out)"
        #expect(HookCommand.problem(in: template, keys: ["i", "n"]) == nil)
        await ExecRunner(timeoutSeconds: 10, logger: logger).run(HookCommand(template, ["i": value, "n": "41"]), what: "test")
        #expect((try? String(contentsOfFile: out, encoding: .utf8)) == "[stored \(value)]\n[\(value)]\n[42]\n")
    }

    /// A command past its time limit is ended with everything it started (its process group), and a command's
    /// shell hears its own children end.
    @Test(.timeLimit(.minutes(1))) func aTimedOutHookEndsWithWhatItStarted() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-hook-timeout")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidFile = dir.appendingPathComponent("pid").path
        await ExecRunner(timeoutSeconds: 1, logger: logger).run(HookCommand(script: "sleep 30 & echo $! > \(pidFile); wait"), what: "test")
        let child = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Signalled with its group; it is gone once its parent (the test process's child) has reaped it or it is a
        // zombie of init: either way it no longer runs.
        var gone = false
        for _ in 0..<50 where !gone {
            let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            gone = state == nil || state == "Z"
            if !gone { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(gone, "the command's background child \(child) still runs")
        // A shell that waits for its own children: it hears them end (SIGCHLD was blocked in every hook, inherited
        // from the spawning thread, and such a hook hung until its time limit).
        let done = dir.appendingPathComponent("done").path
        await ExecRunner(timeoutSeconds: 10, logger: logger).run(HookCommand(script: "sleep 0.2 & wait; echo done > \(done)"), what: "test")
        #expect(FileManager.default.fileExists(atPath: done))
    }
}
