import Archive
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where things live under an eDCKV root (§4, §5): `<root>/<StudyDate>/<b64uid(study)>/` for studies,
/// `<root>/spool/<pid>/…` for each receiving process, `<root>/spool/.merge.lock` for the merger.
public struct StudyLayout: Sendable {
    public let root: String
    public init(root: String) { self.root = root }

    public static let spoolFolder = "spool"
    public var spoolRoot: String { root + "/" + Self.spoolFolder }
    public var lockPath: String { spoolRoot + "/.merge.lock" }

    /// `YYYYMMDD` from a StudyDate, `undated` when there is none usable (never the reception date: a study
    /// always lands in one place).
    public static func dateFolder(_ studyDate: String) -> String {
        guard let d = DICOMDate(studyDate), d.year > 0, d.year <= 9999 else { return "undated" }
        func pad(_ v: Int, _ w: Int) -> String { String(v).leftPadded(w) }
        return pad(d.year, 4) + pad(d.month, 2) + pad(d.day, 2)
    }

    /// `<StudyDate>/<b64uid(study)>`, relative to the root.
    public static func studyPath(studyInstanceUID: String, studyDate: String) throws -> String {
        dateFolder(studyDate) + "/" + (try B64UID.encode(studyInstanceUID))
    }

    /// Composite file name: `<letter>.<blake3 hex>`.
    public static func compositeName(_ c: Category, hash: String) -> String { c.letter + "." + hash }
}

/// File-system steps the store needs beyond the archive's: listing, recursive removal, atomic exchange.
enum FS {
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// rm -r (no symlinks followed).
    static func removeTree(_ path: String) {
        if isDirectory(path) {
            for name in list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// mkdir -p, fsyncing the parent of every folder it creates so the new path survives a crash.
    static func createDurably(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            let parent = current
            current += "/" + part
            if mkdir(current, 0o755) == 0 {
                try Directory.sync(parent.isEmpty ? "/" : parent)
            } else if errno != EEXIST {
                throw EDCKVError("mkdir \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Writes a new file and fsyncs it (not its folder).
    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IncomingFile.error("create", path, errno) }
        defer { close(fd) }
        do { try FileWriter.writeAll(fd, bytes, path: path) } catch let e as FileError { throw IncomingFile.error("write", path, e.errno) }
        guard fsync(fd) == 0 else { throw IncomingFile.error("fsync", path, errno) }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
