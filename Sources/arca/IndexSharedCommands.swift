import ArcaServer
import Archive
import ArgumentParser
import EDCKV
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

extension Index.Rebuild {
    /// A PostgreSQL index is emptied and filled again from the files (its nodes should be stopped: queries meanwhile
    /// see a partial index, and their commits would be lost from it).
    func rebuildShared() throws {
        let shared = try PostgresIndex(url: index, node: "arca-index-rebuild-\(getpid())")
        try completeJournals(into: shared)
        let dckv = dckvRows()
        try shared.removeAll()
        let bar = ProgressLine(label: "indexing")
        let report = try IndexMaintenance.rebuild(root: archive, into: shared, alsoRecord: dckv) { bar.update($0, $1) }
        bar.finish()
        for f in report.failed { printError("skipped \(f.path): \(f.error)") }
        for w in report.warnings { printError("warning \(w.path): \(w.warning)") }
        print("Indexed \(report.indexed) instance(s) into \(shared.displayURL); \(report.failed.count) file(s) skipped")
    }
}

extension Index.Rebuild {
    /// What stopped servers' ingest journals hold (acknowledged, not yet in files) is put in place first, or a
    /// rebuild from the files would leave it out. Refused while a server runs on the archive (its journal held).
    func completeJournals(into index: (any InstanceIndex)?) throws {
        let held = JournalRecovery.slots(root: archive).count - JournalRecovery.unheldSlots(root: archive).count
        if held > 0 {
            printError("\(held) ingest journal(s) of \(archive) are held by a running arca serve: stop it before rebuilding")
            throw ExitCode.failure
        }
        var settings = try config.map(SettingsFile.load) ?? ServerSettings()
        settings.archive = archive
        if let naming { settings.naming = naming }
        var logger = Logger(label: "arca.index")
        logger.logLevel = .critical
        let report = try ArcaApplication(settings: settings, logger: logger).completeJournals(index: index)
        for path in report.replayed { print("completed from the ingest journal: \(path)") }
        for sop in report.superseded { print("left in the ingest journal (its row names a copy received since): \(sop)") }
        for failure in report.failed { printError("could not complete \(failure.sop) from the ingest journal: \(failure.error)") }
    }

    /// The rows of the instances the eDCKV store keeps (none without a store).
    func dckvRows() -> [InstanceRecord] {
        let rows = DCKVIndexRows.records(archiveRoot: archive)
        for failure in rows.failed { printError("skipped eDCKV \(failure.path): \(failure.error)") }
        return rows.records
    }
}

extension Index {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy an archive's SQLite index into an empty PostgreSQL database (stop the server first).")
        @Option(help: "The SQLite index: sqlite:PATH (the archive's index.db, or the archive folder).") var from: String
        @Option(help: "The PostgreSQL database: postgres://user@host:port/database.") var to: String

        func run() throws {
            guard from.hasPrefix("sqlite:") else {
                printError("--from \(from): expected sqlite:PATH")
                throw ExitCode.failure
            }
            var path = String(from.dropFirst("sqlite:".count))
            if Directory.exists(path + "/" + SQLiteIndex.fileName) { path += "/" + SQLiteIndex.fileName }
            guard FileManager.default.fileExists(atPath: path) else {
                printError("\(path) does not exist")
                throw ExitCode.failure
            }
            if IndexMaintenance.isOpenElsewhere(databasePath: path) {
                printError("\(path) is open in another process (a running arca serve?): stop it before migrating")
                throw ExitCode.failure
            }
            let source = try SQLiteIndex(path: path)
            let target = try PostgresIndex(url: to, node: "arca-index-migrate-\(getpid())")
            let report = try IndexMigration.copy(from: source, to: target) { table, done in
                if done % 50_000 == 0 { print("\(table): \(done)") }
            }
            for (table, count) in report.rows { print("\(table): \(count) row(s)") }
            // Row for row when it fits in memory comfortably; the copy's counts otherwise.
            let instances = report.rows.first { $0.table == "instances" }?.count ?? 0
            guard instances <= 200_000 else { return }
            let same = try source.canonicalDump() == target.canonicalDump()
            print(same ? "Migrated: the PostgreSQL index holds the same rows as \(path)"
                       : "Migrated, but the two indexes differ: run `arca index check --index \(to)`")
            if !same { throw ExitCode.failure }
        }
    }
}
