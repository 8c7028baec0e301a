import Archive
import BLAKE3
import DICOM
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Instances kept only in the eDCKV store, read back as Part-10 files for queries and retrieval. A study's
/// instances share their composite files, so rebuilding one means walking the study: the first instance asked
/// of a study exports all of them once into `<archive>/.retrieve-cache/` (named after the study's instance
/// file, so a merge that changes the study makes a new copy), and a retrieve of the whole study then reads
/// files. Copies older than `cacheLifetime` are removed when the next study is exported. An instance still in
/// a spool (not merged yet) is rebuilt from its spool folder.
public final class DCKVInstanceSource: InstanceSource {
    /// `<archive>/dckv`.
    public let root: String
    public let cacheRoot: String
    public let cacheLifetime: Double
    private let exporting = NIOLock()

    public init(archiveRoot: String, cacheLifetime: Double = 600) {
        root = archiveRoot + "/" + DCKVStore.folder
        cacheRoot = archiveRoot + "/.retrieve-cache"
        self.cacheLifetime = cacheLifetime
    }

    public func header(at location: String) throws -> DataSet {
        try DICOMFile.read(path: try file(location), options: .headerOnly).dataSet
    }

    public func open(_ location: String) throws -> any StoredInstanceReader {
        try PartTenFileReader(path: try file(location))
    }

    /// The eDCKV files are named by their BLAKE3 and checked by `arca dckv verify`; here the instance must rebuild.
    public func isIntact(_ location: String, hash: String) throws -> Bool {
        (try? header(at: location)) != nil
    }

    public func filePath(_ location: String) throws -> String { try file(location) }

    /// The rebuilt Part-10 file of an index location `dckv/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>`.
    func file(_ location: String) throws -> String {
        let parts = location.split(separator: "/").map(String.init)
        guard parts.count == 4, parts[0] == DCKVStore.folder, !parts.contains(".."), !parts.contains(where: { $0.hasPrefix(".") }) else {
            throw EDCKVError("\(location): not an eDCKV instance location")
        }
        let (date, study, sopKey) = (parts[1], parts[2], parts[3])
        let sop = try B64UID.decode(sopKey)
        guard UIDString.isValid(sop) else { throw EDCKVError("\(location): invalid SOP Instance UID") }
        let studyDir = root + "/" + date + "/" + study
        if let names = try? CompositeFiles(directory: studyDir), names.names[.instance] != nil {
            // The study's version is all its composite files (their names are their BLAKE3s): a replacement that
            // changed only pixels or private data left the `i` file as it was, and its old bytes were served.
            let files = names.names.values.sorted().joined(separator: "/")
            let version = BLAKE3.hex(BLAKE3.hash(Array(files.utf8)))
            let copy = cacheRoot + "/" + study + "." + String(version.prefix(16))
            let path = copy + "/" + sop + ".dcm"
            if access(path, R_OK) == 0 { return path }
            try exporting.withLock {
                // Exported already (by another reader meanwhile, or without this instance: it is still spooled).
                if FS.isDirectory(copy) { return }
                try FS.createDurably(cacheRoot)
                removeStaleCopies()
                let staging = copy + ".partial"
                FS.removeTree(staging)
                _ = try StudyExporter(studyDirectory: studyDir).export(to: staging)
                guard rename(staging, copy) == 0 else { throw FileError(path: copy, operation: "rename", errno: errno) }
            }
            if access(path, R_OK) == 0 { return path }
        }
        // Not merged yet: in some receiver's spool.
        for pid in FS.list(root + "/" + StudyLayout.spoolFolder) where !pid.hasPrefix(".") {
            let folder = root + "/" + StudyLayout.spoolFolder + "/" + pid + "/" + date + "/" + study + "/" + sopKey
            guard FS.isDirectory(folder) else { continue }
            let path = cacheRoot + "/spool." + sopKey + ".dcm"
            try exporting.withLock {
                try FS.createDurably(cacheRoot)
                try FileWriter.write(try Self.spooledInstance(folder).serialized(), to: path)
            }
            if access(path, R_OK) == 0 { return path }
        }
        throw EDCKVError("\(location): instance \(sop) is not in the eDCKV store")
    }

    /// A spooled instance's folder: one file per category named `<prefix hex>.<blake3 hex>` (§5), decoded in
    /// category order.
    static func spooledInstance(_ folder: String) throws -> DICOMFile {
        var files: [(Prefix, String)] = []
        for name in FS.list(folder) where !name.hasPrefix(".") {
            let parts = name.split(separator: ".")
            guard parts.count == 2, let prefix = Prefix(hex: parts[0]) else { continue }
            files.append((prefix, folder + "/" + name))
        }
        var entries: [Entry] = []
        for (_, path) in files.sorted(by: { $0.0.category < $1.0.category }) {
            entries += try EntryFileReader.readAll(path: path).entries
        }
        return try InstanceDecoder().decode(entries)
    }

    /// Copies not used for `cacheLifetime` seconds.
    private func removeStaleCopies() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for name in FS.list(cacheRoot) {
            var st = stat()
            let path = cacheRoot + "/" + name
            guard stat(path, &st) == 0 else { continue }
            if Double(now.tv_sec - st.st_mtim.tv_sec) > cacheLifetime { FS.removeTree(path) }
        }
    }
}
