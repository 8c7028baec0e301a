import Archive
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A receiving process's spool (§5): `<root>/spool/<pid>/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>/`, one
/// file per category named `<prefix hex>.<blake3 hex>`. An instance is written into a hidden `.`-folder,
/// fsynced file by file and folder, then renamed to its visible name in one step: the merger sees a whole
/// instance or nothing, and `store` returns only once the instance is durable and visible. Instances are
/// encoded as they are read (`StreamingEncoder`), so their size does not bound by memory.
public final class Spool: Sendable {
    public let layout: StudyLayout
    public let directory: String
    /// Staging buffers of the large categories' direct writes.
    let writeBuffers = AlignedBufferPool()
    /// `spool/<pid>` (or `spool/<pid>-<n>`), relative to the root.
    let relativeDirectory: String
    /// The open `.receiver.lock` of the folder, flocked for the life of this spool: what says to mergers on any
    /// host sharing the archive that this receiver is alive (`isAlive`).
    private let lock: Int32

    /// The lock file in each receiver's folder.
    public static let lockName = ".receiver.lock"

    /// Takes `spool/<pid>`, or `<pid>-1`, `<pid>-2`… when a live receiver holds that one: nodes sharing an archive
    /// folder may run processes of the same PID. The folder is this spool's once its lock file is flocked.
    public init(root: String, pid: Int32 = getpid()) throws {
        layout = StudyLayout(root: root)
        for attempt in 0..<64 {
            let name = attempt == 0 ? String(pid) : "\(pid)-\(attempt)"
            let directory = root + "/" + StudyLayout.spoolFolder + "/" + name
            try FS.createDurably(directory)
            let fd = open(directory + "/" + Self.lockName, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw EDCKVError("\(directory)/\(Self.lockName): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let error = errno
                close(fd)
                if error == EWOULDBLOCK { continue }  // a live receiver's, perhaps on another host
                throw EDCKVError("\(directory)/\(Self.lockName): flock: \(String(cString: strerror(error)))")
            }
            relativeDirectory = StudyLayout.spoolFolder + "/" + name
            self.directory = directory
            lock = fd
            // The folder's receiver before us died: its hidden, unfinished instances can never complete.
            Self.removeHidden(in: directory)
            return
        }
        throw EDCKVError("\(root)/\(StudyLayout.spoolFolder): 64 live receivers of PID \(pid)")
    }

    deinit { close(lock) }

    /// Whether the receiver of a spool folder is alive: its lock file is held (by a process of any host that
    /// shares the archive, this one included). A folder without one (written before the lock existed) is alive
    /// while a process of its PID runs here. The merger removes the hidden, unfinished instances of dead ones
    /// only: judged by PID alone, a receiver on another node looked dead, and its instance being written went.
    static func isAlive(_ folder: String) -> Bool {
        // Read-only is enough to flock (a merger running as another user may not write the file).
        let fd = open(folder + "/" + lockName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            // Only a folder without a lock file is judged by its PID: any other failure (EMFILE, EACCES) says
            // nothing of its receiver, which is then taken for alive.
            guard errno == ENOENT else { return true }
            let pid = folder.split(separator: "/").last.flatMap { Int32($0) }
            return pid.map { kill($0, 0) == 0 || errno != ESRCH } ?? false
        }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    /// Where one spooled instance lives, relative to the root.
    public struct Stored: Sendable, Equatable {
        /// `<StudyDate>/<b64uid(study)>`.
        public var studyPath: String
        public var sopInstanceUID: String
        /// `spool/<pid>/<studyPath>/<b64uid(SOP)>`.
        public var path: String
        /// `<studyPath>/<b64uid(SOP)>`: where the instance lives once merged, as the index records it.
        public var location: String
    }

    /// Spools a Part-10 file read in 1 MB pieces.
    public func store(partTenFileAt path: String) throws -> Stored {
        try store(FileBytes(path: path))
    }

    /// Spools an instance's Part-10 bytes as they come, piece by piece (without fsyncs when not `durable`: see
    /// `SpoolInstanceWriter.finish`).
    /// `studyPath`: the study folder (`<StudyDate>/<b64uid(study)>`) decided already (see
    /// `DCKVStore.store(_:durable:at:)`); it must name the instance's study.
    public func store(_ bytes: some InstanceBytes, durable: Bool = true, studyPath: String? = nil) throws -> Stored {
        try store(durable: durable, studyPath: studyPath) { parser, encoder in
            try bytes.forEachPiece { try parser.feed($0, to: &encoder) }
        }
    }

    /// Spools a file already parsed.
    public func store(_ file: DICOMFile) throws -> Stored {
        let writer = SpoolInstanceWriter(spool: self)
        do {
            var encoder = StreamingEncoder(output: writer, syntax: file.transferSyntax)
            try InstanceEncoder.feed(file, to: &encoder)
            _ = try encoder.finish()
            return try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
    }

    private func store(durable: Bool, studyPath: String?, _ feed: (inout Part10Parser, inout StreamingEncoder<SpoolInstanceWriter>) throws -> Void)
        throws -> Stored {
        let writer = SpoolInstanceWriter(spool: self, studyPath: studyPath)
        do {
            var parser = Part10Parser()
            var encoder = StreamingEncoder(output: writer)
            try feed(&parser, &encoder)
            try parser.finish(&encoder)
            _ = try encoder.finish()
            return try writer.finish(durable: durable)
        } catch {
            writer.discard()
            throw error
        }
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
