import CArcaIO
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being received: a hidden temporary file in the archive's `.incoming/` folder (same file system,
/// so the final rename is atomic), appended to (with O_DIRECT when `buffers` is given) and fsynced before it
/// is renamed into place. Nothing under `.incoming/` is ever listed, indexed or rebuilt from. Not
/// thread-safe: one writer at a time.
public final class IncomingFile: @unchecked Sendable {
    public let path: String
    private var file: DirectFile
    public var size: UInt64 { file.size }
    /// O_DIRECT writes, flushed before the answer (`IncomingTarget`).
    public var writesToTheDevice: Bool { file.isDirect }

    public init(directory: String, buffers: AlignedBufferPool? = nil) throws {
        var rng = SystemRandomNumberGenerator()
        path = directory + "/.part-\(getpid())-\(String(rng.next() as UInt64, radix: 36))"
        file = try DirectFile(creating: path, pool: buffers, feedsTheDevice: true)
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try file.append(bytes)
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Nothing more waits to be appended for now: hands what is staged to the device.
    public func idle() throws {
        try file.writeStaged(minimum: 64 << 10)
    }

    /// Writes what is staged, fdatasync and close: after this the bytes (and the size) survive a crash.
    public func seal() throws {
        try file.seal()
    }

    /// Removes the temporary file (after a failure or a refusal).
    public func discard() {
        file.close()
        unlink(path)
    }

    /// Removes temporary files left by processes that died mid-receive (a crash, SIGKILL): their names carry
    /// the writer's PID, and a file whose PID no longer runs can never be completed.
    public static func removeAbandoned(in directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(".part-") else { continue }
            let pidText = name.dropFirst(6).prefix { $0 != "-" }
            guard let pid = Int32(pidText) else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// An error naming the operation and the file; ENOSPC and EDQUOT are out-of-resources.
    public static func error(_ op: String, _ path: String, _ code: Int32) -> ArchiveError {
        let text = "\(op) \(path.split(separator: "/").last.map(String.init) ?? path): \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .outOfResources("disk full (\(text))") : .io(text)
    }
}

/// Directory operations the durable write needs.
public enum Directory {
    /// mkdir -p, each level created 0755.
    public static func create(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw IncomingFile.error("mkdir", current, errno)
            }
        }
        // EEXIST is also a file of that name: `arca get --out` a regular file failed every sub-operation later,
        // with no reason given.
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw IncomingFile.error("mkdir", path, ENOTDIR) }
    }

    /// fsync of a directory, so a rename into it is durable.
    public static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw IncomingFile.error("open", path, errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw IncomingFile.error("fsync", path, errno) }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func rename(_ from: String, _ to: String) throws {
        guard systemRename(from, to) == 0 else { throw IncomingFile.error("rename", to, errno) }
    }
}

@inline(__always)
private func systemRename(_ a: String, _ b: String) -> Int32 { rename(a, b) }

extension Directory {
    public static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw IncomingFile.error("unlink", path, errno) }
    }
}
