#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sequential reads of a file with POSIX calls, in caller-sized pieces.
public struct FileReader: ~Copyable {
    let fd: Int32
    public let path: String

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
    }

    deinit { close(fd) }

    /// Calls `body` with each chunk until the file ends or `body` returns false.
    public func forEachChunk(size: Int, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var buffer = [UInt8](repeating: 0, count: max(size, 4096))
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
            }
            if n == 0 { return }
            let more = try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if !more { return }
        }
    }

    /// The next bytes, up to `maxLength`; fewer only at the end of the file, empty there. The buffer is sized
    /// to what is left and not zero-filled first: a fresh zeroed 4 MB buffer per read cost more (page faults
    /// and memset) than the read itself.
    public func readChunk(maxLength: Int) throws -> [UInt8] {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        let position = lseek(fd, 0, SEEK_CUR)
        guard position >= 0 else { throw FileError(path: path, operation: "seek", errno: errno) }
        let remaining = Int(clamping: max(0, Int64(status.st_size) - Int64(position)))
        let wanted = min(max(1, maxLength), remaining)
        guard wanted > 0 else { return [] }
        var failure: Int32 = 0
        let buffer = [UInt8](unsafeUninitializedCapacity: wanted) { bytes, count in
            count = 0
            while count < wanted {
                let n = read(fd, bytes.baseAddress.map { $0 + count }, wanted - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { return }
                count += n
            }
        }
        if failure != 0 { throw FileError(path: path, operation: "read", errno: failure) }
        return buffer
    }

    /// Moves to an absolute offset.
    public func seek(to offset: UInt64) throws {
        guard lseek(fd, off_t(clamping: offset), SEEK_SET) >= 0 else { throw FileError(path: path, operation: "seek", errno: errno) }
    }

    /// The whole file.
    public static func readAll(path: String) throws -> [UInt8] {
        let reader = try FileReader(path: path)
        var out: [UInt8] = []
        try reader.forEachChunk(size: 1 << 20) { out.append(copying: $0); return true }
        return out
    }
}

public struct FileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno)))"
    }
}
