import Archive
import BLAKE3
import CArcaIO
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A receiving process's spool (§5): `<root>/spool/<pid>/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>/`, one
/// file per category named `<prefix hex>.<blake3 hex>`. An instance is written into a hidden `.`-folder,
/// fsynced file by file and folder, then renamed to its visible name in one step: the merger sees a whole
/// instance or nothing, and `store` returns only once the instance is durable and visible.
public final class Spool: Sendable {
    public let layout: StudyLayout
    public let directory: String
    /// `spool/<pid>`, relative to the root.
    private let relativeDirectory: String

    public init(root: String, pid: Int32 = getpid()) throws {
        layout = StudyLayout(root: root)
        relativeDirectory = StudyLayout.spoolFolder + "/" + String(pid)
        directory = root + "/" + relativeDirectory
        try FS.createDurably(directory)
        // A process of this PID before us died: its hidden, unfinished instances can never complete.
        Self.removeHidden(in: directory)
    }

    /// Where one spooled instance lives, relative to the root.
    public struct Stored: Sendable, Equatable {
        public var studyPath: String
        public var sopInstanceUID: String
        public var path: String
    }

    /// Encodes and spools one instance durably.
    public func store(_ file: DICOMFile) throws -> Stored {
        try store(InstanceEncoder().encode(file))
    }

    public func store(_ encoded: InstanceEncoder.Encoded) throws -> Stored {
        let studyPath = try StudyLayout.studyPath(studyInstanceUID: encoded.studyInstanceUID, studyDate: encoded.studyDate)
        let sop = try B64UID.encode(encoded.sopInstanceUID)
        let folder = directory + "/" + studyPath
        try FS.createDurably(folder)
        let hidden = folder + "/." + sop
        let visible = folder + "/" + sop
        FS.removeTree(hidden)
        guard mkdir(hidden, 0o755) == 0 else { throw IncomingFile.error("mkdir", hidden, errno) }
        do {
            // Every file written and its writeback started first (ext4 allocates their blocks then), the
            // largest fsynced first: its journal commit carries the others' data and names, so their own
            // fsyncs find little left to do (measured: about half the time of writing and fsyncing in turn).
            var written: [(fd: Int32, size: Int)] = []
            defer { for f in written { close(f.fd) } }
            for category in Category.allCases {
                guard let entries = encoded.entries[category], let first = entries.first, let prefix = first.prefix else { continue }
                let name = prefix.with(category: category).hex + "." + BLAKE3.hex(try EntryCodec.hash(entries))
                let (fd, size) = try EntryCodec.write(entries, to: hidden + "/" + name)
                written.append((fd, size))
                _ = arca_start_writeback(fd, 0, Int64(size))
            }
            for f in written.sorted(by: { $0.size > $1.size }) where fsync(f.fd) != 0 { throw IncomingFile.error("fsync", hidden, errno) }
            try Directory.sync(hidden)
            if Directory.exists(visible) {
                // The same instance again, not merged yet: the newer copy takes its place atomically.
                guard arca_exchange(hidden, visible) == 0 else { throw IncomingFile.error("exchange", visible, errno) }
                FS.removeTree(hidden)
            } else {
                try Directory.rename(hidden, visible)
            }
            try Directory.sync(folder)
        } catch {
            FS.removeTree(hidden)
            throw error
        }
        return Stored(studyPath: studyPath, sopInstanceUID: encoded.sopInstanceUID,
                      path: relativeDirectory + "/" + studyPath + "/" + sop)
    }

    static func removeHidden(in directory: String) {
        for date in FS.list(directory) where FS.isDirectory(directory + "/" + date) {
            for study in FS.list(directory + "/" + date) where FS.isDirectory(directory + "/" + date + "/" + study) {
                let folder = directory + "/" + date + "/" + study
                for name in FS.list(folder) where name.hasPrefix(".") { FS.removeTree(folder + "/" + name) }
            }
        }
    }
}
