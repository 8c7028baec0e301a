import BLAKE3
import DICOM
import Foundation

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
            if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { out.append(rel) }
        }
        return out.sorted()
    }

    /// The index record of one archived file, read from its header.
    public static func record(root: String, relativePath: String) throws -> InstanceRecord {
        let path = root + "/" + relativePath
        let file = try DICOMFile.read(path: path, options: .headerOnly)
        let attributes = InstanceAttributes(file.dataSet)
        guard UIDString.isValid(attributes.sopInstanceUID) else {
            throw ArchiveError.unreadable("\(relativePath): no valid SOP Instance UID")
        }
        let info = try FileManager.default.attributesOfItem(atPath: path)
        let size = (info[.size] as? NSNumber)?.uint64Value ?? 0
        let modified = (info[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
        return InstanceRecord(
            attributes: attributes, filePath: relativePath, fileSize: size,
            fileHash: BLAKE3.hex(try BLAKE3.hashFile(atPath: path)),
            transferSyntaxUID: file.transferSyntax.uid,
            receivedAt: modified.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)),
            callingAETitle: file.meta.string(.sourceApplicationEntityTitle) ?? "")
    }

    public struct RebuildReport: Sendable {
        public var indexed = 0
        public var failed: [(path: String, error: String)] = []
    }

    /// Records every archived file into `index`, in transactions of `batchSize`; `progress(done, total)`.
    public static func rebuild(root: String, into index: SQLiteIndex, batchSize: Int = 500,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> RebuildReport {
        let files = archivedFiles(root: root)
        var report = RebuildReport()
        var batch: [InstanceRecord] = []
        for (i, rel) in files.enumerated() {
            do { batch.append(try record(root: root, relativePath: rel)) } catch {
                report.failed.append((rel, "\(error)"))
            }
            if batch.count >= batchSize || i == files.count - 1 {
                try index.recordBatch(batch)
                report.indexed += batch.count
                batch.removeAll(keepingCapacity: true)
            }
            progress(i + 1, files.count)
        }
        return report
    }

    /// Rebuilds `<root>/index.db` from the files: into a fresh database beside it, then renamed over the old
    /// one, so a reader never sees half an index. Run it while no server writes to the archive.
    public static func rebuildInPlace(root: String, progress: (Int, Int) -> Void = { _, _ in }) throws -> RebuildReport {
        let final = root + "/" + SQLiteIndex.fileName
        let temp = root + "/.index-rebuild.db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temp + suffix) }
        var report: RebuildReport
        do {
            let index = try SQLiteIndex(path: temp)
            report = try rebuild(root: root, into: index, progress: progress)
            try index.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try index.pool.close()
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: final + suffix) }
        try Directory.rename(temp, final)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temp + suffix) }
        try Directory.sync(root)
        return report
    }

    public struct CheckReport: Sendable {
        public var filesWithoutRows: [String] = []
        public var rowsWithoutFiles: [String] = []
        public var sizeMismatches: [String] = []
        public var hashMismatches: [String] = []
        public var checked = 0
        public var isClean: Bool { filesWithoutRows.isEmpty && rowsWithoutFiles.isEmpty && sizeMismatches.isEmpty && hashMismatches.isEmpty }
    }

    /// Files without rows, rows without files, and size or (unless `quick`) hash mismatches.
    public static func check(root: String, index: SQLiteIndex, quick: Bool = false,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> CheckReport {
        var report = CheckReport()
        let files = Set(archivedFiles(root: root))
        let rows = try index.allInstances()
        let indexed = Set(rows.map(\.filePath))
        report.filesWithoutRows = files.subtracting(indexed).sorted()
        for (i, row) in rows.enumerated() {
            progress(i + 1, rows.count)
            guard files.contains(row.filePath) else { report.rowsWithoutFiles.append(row.filePath); continue }
            let path = root + "/" + row.filePath
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
            report.checked += 1
            if size != row.fileSize { report.sizeMismatches.append(row.filePath); continue }
            if !quick, (try? BLAKE3.hex(BLAKE3.hashFile(atPath: path))) != row.fileHash { report.hashMismatches.append(row.filePath) }
        }
        return report
    }
}
