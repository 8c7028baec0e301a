import Archive
import ArgumentParser
import DICOM
import EDCKV
import Foundation

struct DCKV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dckv", abstract: "Work with the eDCKV study store (docs/EDCKV-FORMAT.md).",
        subcommands: [DumpFile.self, List.self, Export.self, Verify.self, Merge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the SOP Instance UID of every instance: merged (\"study\") and still spooled (\"spool\").")
        @Argument(help: "An eDCKV root (<archive>/dckv) or one study directory.") var directory: String

        func run() throws {
            try requireDirectory(directory)
            for item in try Inventory.list(directory) { print("\(item.place)\t\(item.sopInstanceUID)\t\(item.path)") }
        }
    }

    struct DumpFile: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dump", abstract: "Print each entry of an eDCKV file and its footer.")
        @Argument(help: "A composite or spool file.") var file: String
        @Option(help: "Value bytes shown per entry.") var preview = 48

        func run() throws {
            let reader = try EntryFileReader(path: file)
            var count = 0
            while let e = try reader.next() {
                print(EntryDumper.line(e, preview: preview))
                count += 1
            }
            if let footer = reader.footer { print("footer: last prefix \(footer.hex)") } else { print("no footer (spool file)") }
            print("\(count) entries")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild a study's instances as Part-10 files (<SOP Instance UID>.dcm).")
        @Argument(help: "Study directory (<root>/<StudyDate>/<b64uid>).") var studyDirectory: String
        @Argument(help: "Output folder.") var outputDirectory: String

        func run() throws {
            try requireDirectory(studyDirectory)
            let n = try StudyExporter(studyDirectory: studyDirectory).export(to: outputDirectory)
            print("Exported \(n) instance(s) to \(outputDirectory)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check names against BLAKE3 hashes, key order, footers and prefix uniqueness; exit 1 on any problem.")
        @Argument(help: "An eDCKV root (<archive>/dckv) or one study directory.") var directory: String

        func run() throws {
            try requireDirectory(directory)
            let r = Verifier().verify(directory)
            for f in r.findings { print("problem: \(f)") }
            print("Verified \(r.studies) stud\(r.studies == 1 ? "y" : "ies"), \(r.files) file(s), \(r.instances) instance(s): "
                  + (r.findings.isEmpty ? "all good" : "\(r.findings.count) problem(s)"))
            if !r.findings.isEmpty { throw ExitCode.failure }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge spooled instances into their studies (the one merger of an archive; waits if another holds the lock).")
        @Option(help: "Archive folder (its eDCKV root is <archive>/dckv).") var archive = "./dicom_archive"
        @Option(help: "Duplicate SOP instances: reject, replace or ignore.") var duplicate: DuplicatePolicy = .reject
        @Flag(help: "Keep merging as instances arrive (until killed).") var watch = false
        @Option(help: "Seconds between passes with --watch.") var interval = 1.0
        @Flag(name: .customLong("recover-only"), help: "Only remove what an interrupted merge or receiver left, then exit.")
        var recoverOnly = false

        func run() throws {
            let root = archive + "/" + DCKVStore.folder
            // A mistyped archive was answered "Merged 0" with exit 0, and a lock file and spool made there.
            try requireDirectory(root)
            let merger = Merger(root: root, policy: duplicate)
            var lock = try MergeLock.tryAcquire(merger.layout)
            if lock == nil { printError("another merger holds \(merger.layout.lockPath); waiting") }
            while lock == nil {
                Thread.sleep(forTimeInterval: 0.5)
                lock = try MergeLock.tryAcquire(merger.layout)
            }
            guard let lock else { return }
            if recoverOnly {
                merger.removeLeftovers()
                print("Removed the leftovers of interrupted merges and receivers")
                return
            }
            repeat {
                let r = try merger.mergeOnce(lock)
                if r.merged + r.duplicatesDropped > 0 || !watch {
                    print("Merged \(r.merged) instance(s) into \(r.studies) stud\(r.studies == 1 ? "y" : "ies")"
                          + (r.duplicatesDropped > 0 ? ", \(r.duplicatesDropped) duplicate(s) dropped" : "")
                          + (r.replaced > 0 ? ", \(r.replaced) replaced" : ""))
                }
                for failure in r.failed { printError("study \(failure.study) not merged: \(failure.error)") }
                if !watch && !r.failed.isEmpty { throw ExitCode.failure }
                if watch { Thread.sleep(forTimeInterval: interval) }
            } while watch
        }
    }
}

/// A folder the command reads must exist: a mistyped path printed nothing (or "0 instance(s)") and exited 0.
func requireDirectory(_ path: String) throws {
    var st = stat()
    guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
        printError("\(path) is not a folder")
        throw ExitCode.failure
    }
}
