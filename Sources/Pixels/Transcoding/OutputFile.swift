#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DICOM

/// A new file written under a hidden temporary name beside its destination, in 1 MiB writes, patchable at
/// an offset, then fsynced and renamed into place: the destination holds either nothing new or the whole file.
final class OutputFile {
    let path: String
    let temporary: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var flushed: UInt64 = 0
    static let bufferSize = 1 << 20

    init(path: String) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporary = (dir.isEmpty ? "" : dir + "/") + "." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PixelError(.io, "create \(temporary): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { if fd >= 0 { close(fd); unlink(temporary) } }

    func append(_ bytes: [UInt8]) throws {
        if buffer.count + bytes.count > Self.bufferSize { try flush() }
        if bytes.count >= Self.bufferSize {
            try writeOut(bytes)
        } else {
            buffer += bytes
        }
    }

    /// Overwrites bytes already appended (the Basic Offset Table once the frames are written).
    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try flush()
        do { try bytes.withUnsafeBytes { try FileWriter.writeAll(fd, $0, at: offset, path: temporary) } } catch { throw PixelError(.io, "\(error)") }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try writeOut(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeOut(_ bytes: [UInt8]) throws {
        do { try FileWriter.writeAll(fd, bytes, path: temporary) } catch { throw PixelError(.io, "\(error)") }
        flushed += UInt64(bytes.count)
    }

    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw PixelError(.io, "fsync \(temporary): \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw PixelError(.io, "rename to \(path): \(String(cString: strerror(e)))")
        }
    }

    func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporary)
    }
}
