import BLAKE3
import DICOM
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rebuilding the index from the archive's files, and checking the two against each other.
public enum IndexMaintenance {
    /// The archived files, relative to the root: every regular file below it except hidden ones (`.incoming`,
    /// temporaries) and the index's own files.
    public static func archivedFiles(root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = walker.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") {
                if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { walker.skipDescendants() }
                continue
            }
            if !rel.contains("/") && name.hasPrefix(SQLiteIndex.fileName) { continue }
            // The eDCKV store keeps its own files (its tools verify them); its rows are not file rows.
            if rel == FileArchive.edckvFolder { walker.skipDescendants(); continue }
            if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { out.append(rel) }
        }
        return out.sorted()
    }

    /// The index record of one archived file, read from its header.
    public static func record(root: String, relativePath: String) throws -> InstanceRecord {
        try read(root: root, relativePath: relativePath).record
    }

    /// The record, and what was noticed on the way: a meta header naming another syntax than the dataset's
    /// (the record holds the syntax the bytes are in: what a sender of the file as it is must announce).
    static func read(root: String, relativePath: String) throws -> (record: InstanceRecord, mismatch: EncodingMismatch?) {
        let path = root + "/" + relativePath
        let file = try DICOMFile.read(path: path, options: .headerOnly)
        let attributes = InstanceAttributes(file.dataSet)
        guard UIDString.isValid(attributes.sopInstanceUID) else {
            throw ArchiveError.unreadable("\(relativePath): no valid SOP Instance UID")
        }
        let info = try FileManager.default.attributesOfItem(atPath: path)
        let size = (info[.size] as? NSNumber)?.uint64Value ?? 0
        let record = InstanceRecord(
            attributes: attributes, filePath: relativePath, fileSize: size,
            fileHash: BLAKE3.hex(try BLAKE3.hashFile(atPath: path)),
            transferSyntaxUID: file.transferSyntax.uid, receivedAt: timestamp(ofFileAt: path),
            callingAETitle: file.meta.string(.sourceApplicationEntityTitle) ?? "")
        return (record, file.encodingMismatch)
    }

    /// A rebuilt row's reception time: the file's modification time (the arrival itself is not kept in the file).
    public static func timestamp(ofFileAt path: String) -> String {
        Timestamp.of(((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0))
    }

    public struct RebuildReport: Sendable {
        public var indexed = 0
        public var failed: [(path: String, error: String)] = []
        /// Files indexed with a remark (a meta header naming another syntax than the dataset is in).
        public var warnings: [(path: String, warning: String)] = []
    }

    /// Records every archived file into `index`, in transactions of `batchSize`; `progress(done, total)`. The
    /// headers of a batch are read and its files hashed on every core, then the batch is committed.
    /// `alsoRecord`: rows of instances kept elsewhere than in files (the eDCKV store), recorded after the files.
    public static func rebuild(root: String, into index: any MaintainedIndex, batchSize: Int = 500, alsoRecord: [InstanceRecord] = [],
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> RebuildReport {
        let files = archivedFiles(root: root)
        var report = RebuildReport()
        var inFiles = Set<String>()
        var start = 0
        progress(0, files.count)
        while start < files.count {
            let chunk = Array(files[start..<min(start + max(1, batchSize), files.count)])
            let results = NIOLockedValueBox([Result<(record: InstanceRecord, mismatch: EncodingMismatch?), Error>?](repeating: nil, count: chunk.count))
            DispatchQueue.concurrentPerform(iterations: chunk.count) { i in
                let result = Result { try read(root: root, relativePath: chunk[i]) }
                results.withLockedValue { $0[i] = result }
            }
            var batch: [InstanceRecord] = []
            for (rel, result) in zip(chunk, results.withLockedValue { $0 }) {
                switch result {
                case .success(let r)?:
                    batch.append(r.record)
                    if let m = r.mismatch { report.warnings.append((rel, "\(m)")) }
                case .failure(let error)?: report.failed.append((rel, "\(error)"))
                case nil: report.failed.append((rel, "not read"))
                }
            }
            try index.recordBatch(batch)
            if !alsoRecord.isEmpty { inFiles.formUnion(batch.map(\.attributes.sopInstanceUID)) }
            report.indexed += batch.count
            start += chunk.count
            progress(start, files.count)
        }
        // An instance in a file too (`files,dckv`) keeps its file row: retrieval reads the file.
        let others = alsoRecord.filter { !inFiles.contains($0.attributes.sopInstanceUID) }
        for first in stride(from: 0, to: others.count, by: max(1, batchSize)) {
            try index.recordBatch(Array(others[first..<min(first + max(1, batchSize), others.count)]))
        }
        report.indexed += others.count
        // Two files of one SOP Instance UID make one row (the last file read): counted as files, "Indexed 15"
        // said of 14 rows, and the other copy went unmentioned. The rows are counted, and the copies said.
        var rows = report.indexed
        try index.forEachRow("SELECT COUNT(*) FROM instances", []) { row in
            rows = Int(row.first?.integer ?? Int64(rows))
            return false
        }
        if rows < report.indexed {
            report.warnings.append(("", "\(report.indexed - rows) file(s) hold an instance another file holds too: the index names one "
                                    + "of each (`arca index check` lists the others as files without rows)"))
            report.indexed = rows
        }
        return report
    }

    /// Whether another process has the SQLite database at `path` open: every connection to a WAL database
    /// holds a shared lock on byte 128 of its `-shm` file (SQLite's "dead man switch").
    public static func isOpenElsewhere(databasePath path: String) -> Bool {
        let fd = open(path + "-shm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// Rebuilds `<root>/index.db` from the files: into a fresh database beside it, then renamed over the old
    /// one, so a reader never sees half an index. Refuses while another process (a running server) has the
    /// index open: its connections would go on writing to the replaced file.
    public static func rebuildInPlace(root: String, alsoRecord: [InstanceRecord] = [],
                                      progress: (Int, Int) -> Void = { _, _ in }) throws -> RebuildReport {
        let final = root + "/" + SQLiteIndex.fileName
        let temp = root + "/.index-rebuild.db"
        if isOpenElsewhere(databasePath: final) {
            throw ArchiveError.io("\(final) is open in another process (a running arca serve?): stop it before rebuilding")
        }
        for suffix in ["", "-wal", "-shm", "-lock"] { try Directory.remove(temp + suffix) }
        let report: RebuildReport
        do {
            let index = try SQLiteIndex(path: temp)
            report = try rebuild(root: root, into: index, alsoRecord: alsoRecord, progress: progress)
            // No connection but the writer may be left on the new file when it is renamed: a checkpoint of ours
            // running there would make the TRUNCATE busy (it does not wait for the checkpoint lock) and keep the
            // WAL from being folded in at close.
            index.stopCheckpoints()
            guard try index.truncateWAL() else { throw ArchiveError.io("\(temp): its WAL could not be checkpointed (busy)") }
            try index.pool.close()
        }
        // The old index's WAL must not outlive it (SQLite would replay it into the new file): fold it into the
        // old file first when it can still be opened, so no opener between the two steps sees half of it, then
        // remove what is left and rename the new index into place.
        if Directory.exists(final) {
            if let old = try? DatabaseQueue(path: final) {
                _ = try? old.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                try? old.close()
            }
        }
        for suffix in ["-wal", "-shm"] { try Directory.remove(final + suffix) }
        try Directory.rename(temp, final)
        for suffix in ["-wal", "-shm", "-lock"] { try Directory.remove(temp + suffix) }
        try Directory.sync(root)
        return report
    }

    public struct ReconcileReport: Sendable {
        /// Files without rows now recorded (renamed into place, not yet indexed when the server stopped).
        public var indexed: [String] = []
        /// Rows whose files are gone, now removed.
        public var removed: [String] = []
        /// Files without rows left alone: unreadable, or a second file of an instance indexed elsewhere.
        public var skipped: [(path: String, reason: String)] = []
        /// Rows without files kept: their instance is acknowledged and in an ingest journal (another server's, or
        /// another node's, holding a burst), which puts it in place.
        public var journaled: [String] = []
        /// Placeholder rows without files and without a final record kept because another server on this archive
        /// is running: it may be writing that record now (its strict commit writes the row meanwhile).
        public var inFlight: [String] = []

        public func log(to logger: Logger) {
            for path in indexed { logger.notice("[INDEX] indexed \(path) (stored, not indexed before the stop)") }
            for path in removed { logger.warning("[INDEX] removed the row of \(path): the file is gone") }
            for path in journaled { logger.notice("[INDEX] kept the row of \(path): an ingest journal holds it, to be put in place") }
            for path in inFlight { logger.notice("[INDEX] kept the row of \(path): another server on this archive may be committing it") }
            for skipped in skipped { logger.warning("[INDEX] left \(skipped.path) unindexed: \(skipped.reason)") }
        }
    }

    /// After an unclean stop: records the files that have no row and removes the rows that have no file.
    /// Sizes and hashes are not compared (that is `check`).
    public static func reconcile(root: String, index: any MaintainedIndex) throws -> ReconcileReport {
        var report = ReconcileReport()
        let files = Set(archivedFiles(root: root))
        let rows = try index.allInstances().filter { !FileArchive.isEDCKVLocation($0.filePath) }
        let indexed = Set(rows.map(\.filePath))
        // Checked again at the moment of removal: on a shared index another node may have placed the file since.
        // A row with a journal's placeholder whose instance a journal holds is an acknowledged instance another
        // process or node has not put in place yet (a held burst): kept. One that no journal holds had its row
        // written while its final record was being written, and the writer crashed: never acknowledged, removed;
        // unless another server runs on this archive (it holds a journal slot: this process opens its own only
        // after the reconcile), whose commit may be writing that record right now. The next unclean start with no
        // other server running removes it then.
        // A journal that could not be read whole may hold any of them: kept too (recovery kept that journal).
        var journals: (instances: [String: [JournalRecovery.Found]], complete: Bool)?
        var othersRunning: Bool?
        for row in rows where !files.contains(row.filePath) && !Directory.exists(root + "/" + row.filePath) {
            if JournalChecksum.isPlaceholder(row.fileHash) {
                if journals == nil { journals = JournalRecovery.journaled(root: root) }
                if let journals, !journals.complete
                    || JournalRecovery.copy(of: row.sopInstanceUID, named: row.fileHash, in: journals.instances) != nil {
                    report.journaled.append(row.filePath)
                    continue
                }
                if othersRunning == nil {
                    othersRunning = JournalRecovery.slots(root: root).count > JournalRecovery.unheldSlots(root: root).count
                }
                if othersRunning == true {
                    report.inFlight.append(row.filePath)
                    continue
                }
            }
            try index.removeNow(instance: row.sopInstanceUID)
            report.removed.append(row.filePath)
        }
        var batch: [InstanceRecord] = []
        for rel in files.subtracting(indexed).sorted() {
            do {
                let r = try record(root: root, relativePath: rel)
                if let other = try index.filePathNow(ofInstance: r.attributes.sopInstanceUID), other != rel,
                   Directory.exists(root + "/" + other) {
                    report.skipped.append((rel, "SOP Instance \(r.attributes.sopInstanceUID) is indexed as \(other)"))
                    continue
                }
                batch.append(r)
                report.indexed.append(rel)
            } catch {
                report.skipped.append((rel, "\(error)"))
            }
        }
        try index.recordBatch(batch)
        return report
    }

    public struct CheckReport: Sendable {
        public var filesWithoutRows: [String] = []
        public var rowsWithoutFiles: [String] = []
        public var sizeMismatches: [String] = []
        public var hashMismatches: [String] = []
        /// Rows whose instance is in an ingest journal, acknowledged and not yet in its file (or its file not yet
        /// replaced): the running server puts it in place, or the next start does. Not a problem.
        public var journaled: [String] = []
        /// Studies (by Study Instance UID) whose copy of their patient's attributes differs from the patient's row
        /// (`StudyPatientCopy`): study searches would answer the copy. `arca index rebuild` writes them anew.
        public var staleStudyCopies: [String] = []
        public var checked = 0
        public var problems: Int {
            filesWithoutRows.count + rowsWithoutFiles.count + sizeMismatches.count + hashMismatches.count + staleStudyCopies.count
        }
        public var isClean: Bool { problems == 0 }
    }

    typealias InstanceRow = (sopInstanceUID: String, filePath: String, fileSize: Int64, fileHash: String)
    enum Disagreement { case noFile, size, hash }

    /// Files without rows, rows without files, size or (unless `quick`) hash mismatches, and studies whose patient
    /// copy disagrees with the patient.
    /// `edckvLocations`: the locations the eDCKV store holds (`DCKVIndexRows`): each eDCKV row must name one of
    /// them. Without it those rows were skipped and "Checked 0 instance(s): index and files agree" said of an
    /// archive whose eDCKV study folder had been deleted.
    public static func check(root: String, index: any MaintainedIndex, quick: Bool = false, edckvLocations: Set<String>? = nil,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> CheckReport {
        var report = CheckReport()
        try index.forEachRow(StudyPatientCopy.disagreeing, []) { row in
            report.staleStudyCopies.append(row.first?.text ?? "")
            return true
        }
        let files = Set(archivedFiles(root: root))
        let allRows = try index.allInstances()
        let rows = allRows.filter { !FileArchive.isEDCKVLocation($0.filePath) }
        let indexed = Set(rows.map(\.filePath))
        report.filesWithoutRows = files.subtracting(indexed).sorted()
        // Read only when a row disagrees with the files (the journals of a busy server hold the last seconds).
        var journal: [String: [JournalRecovery.Found]]?
        func isJournaled(_ row: InstanceRow) -> Bool {
            if journal == nil { journal = JournalRecovery.journaled(root: root).instances }
            guard let journal, let found = JournalRecovery.copy(of: row.sopInstanceUID, named: row.fileHash, in: journal) else {
                return false
            }
            return found.final.totalLength == row.fileSize
        }
        func disagreement(_ row: InstanceRow, listed: Bool) -> Disagreement? {
            guard listed else { return .noFile }
            let path = root + "/" + row.filePath
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
            if size != row.fileSize { return .size }
            if !quick, (try? BLAKE3.hex(BLAKE3.hashFile(atPath: path))) != row.fileHash { return .hash }
            return nil
        }
        // A row read with its placeholder before a running server put the instance in place and let the journal go:
        // checked again as the index holds it now.
        func settledSince(_ row: InstanceRow) throws -> Bool {
            guard JournalChecksum.isPlaceholder(row.fileHash) else { return false }
            var now: InstanceRow?
            let sql = "SELECT file_path, file_size, file_hash FROM instances WHERE sop_uid = \(index.dialect.placeholder(1))"
            try index.forEachRow(sql, [.text(row.sopInstanceUID)]) { values in
                if values.count == 3, let path = values[0].text, let size = values[1].integer, let hash = values[2].text {
                    now = (row.sopInstanceUID, path, size, hash)
                }
                return false
            }
            guard let now, now.fileHash != row.fileHash else { return false }
            return disagreement(now, listed: FileManager.default.fileExists(atPath: root + "/" + now.filePath)) == nil
        }
        if let edckvLocations {
            for row in allRows where FileArchive.isEDCKVLocation(row.filePath) {
                if edckvLocations.contains(row.filePath) {
                    report.checked += 1
                } else if isJournaled(row) {
                    report.journaled.append(row.filePath)
                } else {
                    report.rowsWithoutFiles.append(row.filePath)
                }
            }
        }
        for (i, row) in rows.enumerated() {
            progress(i + 1, rows.count)
            let listed = files.contains(row.filePath)
            if listed { report.checked += 1 }
            guard let problem = disagreement(row, listed: listed) else { continue }
            if isJournaled(row) {
                report.journaled.append(row.filePath)
                continue
            }
            if try settledSince(row) { continue }
            switch problem {
            case .noFile: report.rowsWithoutFiles.append(row.filePath)
            case .size: report.sizeMismatches.append(row.filePath)
            case .hash: report.hashMismatches.append(row.filePath)
            }
        }
        return report
    }
}
