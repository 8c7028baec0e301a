import Archive
import ArgumentParser
import EDCKV
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Maintain the archive's index (SQLite, or PostgreSQL with --index).", subcommands: [Rebuild.self, Check.self, Migrate.self])

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild index.db from the archived files (run it while no server writes to the archive).")
        @Option(help: "Archive folder.") var archive = "./dicom_archive"
        @Option(help: "The index: sqlite (default) or a postgres:// URL.") var index = "sqlite"
        @Option(help: "The server's configuration file (YAML): its naming scheme places what a stopped server's ingest journal still holds.")
        var config: String?
        @Option(help: "File naming (as `arca serve --naming`), for what a stopped server's ingest journal still holds.")
        var naming: NamingScheme?

        func run() throws {
            guard Directory.exists(archive) else {
                printError("\(archive) does not exist")
                throw ExitCode.failure
            }
            if index != "sqlite" { return try rebuildShared() }
            let database = archive + "/" + SQLiteIndex.fileName
            if IndexMaintenance.isOpenElsewhere(databasePath: database) {
                printError("\(database) is open in another process (a running arca serve?): stop it before rebuilding")
                throw ExitCode.failure
            }
            // Into the old index first (a replaced instance's older file is removed by its row), then the files.
            try completeJournals(into: Directory.exists(database) ? try? SQLiteIndex(archive: archive) : nil)
            let dckv = dckvRows()
            let bar = ProgressLine(label: "indexing")
            let report = try IndexMaintenance.rebuildInPlace(root: archive, alsoRecord: dckv) { bar.update($0, $1) }
            bar.finish()
            for f in report.failed { printError("skipped \(f.path): \(f.error)") }
            for w in report.warnings { printError(w.path.isEmpty ? "warning: \(w.warning)" : "warning \(w.path): \(w.warning)") }
            print("Indexed \(report.indexed) instance(s) into \(archive)/\(SQLiteIndex.fileName); \(report.failed.count) file(s) skipped")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the index with the files: files without rows, rows without files, size or hash mismatches.")
        @Option(help: "Archive folder.") var archive = "./dicom_archive"
        @Flag(help: "Compare sizes only, not BLAKE3 hashes.") var quick = false
        @Option(help: "The index: sqlite (default) or a postgres:// URL.") var index = "sqlite"

        func run() throws {
            if index != "sqlite" { return try report(try PostgresIndex(url: index, node: "arca-index-check-\(getpid())")) }
            guard FileManager.default.fileExists(atPath: archive + "/" + SQLiteIndex.fileName) else {
                printError("\(archive)/\(SQLiteIndex.fileName) does not exist: run `arca index rebuild --archive \(archive)` (or start the server)")
                throw ExitCode.failure
            }
            let index: SQLiteIndex
            do { index = try SQLiteIndex(archive: archive) } catch {
                // SQLite's own message names no file ("unable to open database file").
                printError("\(archive)/\(SQLiteIndex.fileName): \(error)")
                throw ExitCode.failure
            }
            try report(index)
        }

        func report(_ index: any MaintainedIndex) throws {
            let bar = ProgressLine(label: "checking")
            let edckv = Set(DCKVIndexRows.records(archiveRoot: archive).records.map(\.filePath))
            let report = try IndexMaintenance.check(root: archive, index: index, quick: quick, edckvLocations: edckv) { bar.update($0, $1) }
            bar.finish()
            for p in report.filesWithoutRows { print("file without row: \(p)") }
            for p in report.rowsWithoutFiles { print("row without file: \(p)") }
            for p in report.sizeMismatches { print("size mismatch: \(p)") }
            for p in report.hashMismatches { print("hash mismatch: \(p)") }
            for uid in report.staleStudyCopies { print("study whose copy of its patient's attributes differs (index rebuild repairs it): \(uid)") }
            for p in report.journaled { print("in the ingest journal (acknowledged, its file not yet in place): \(p)") }
            let problems = report.problems
            print("Checked \(report.checked) instance(s): \(problems == 0 ? "index and files agree" : "\(problems) problem(s)")")
            if problems > 0 { throw ExitCode.failure }
        }
    }
}

/// A progress bar on a terminal; a line every 10% elsewhere.
final class ProgressLine {
    let label: String
    let isTerminal = isatty(1) != 0
    var lastPercent = -1

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard total > 0 else { return }
        let percent = done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        if isTerminal {
            let filled = percent * 30 / 100
            let line = "\r\(label) [" + String(repeating: "=", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(done)/\(total)"
            let bytes = Array(line.utf8)
            bytes.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
        } else if percent % 10 == 0 {
            print("\(label): \(done)/\(total)")
        }
    }

    func finish() { if isTerminal { print("") } }
}
