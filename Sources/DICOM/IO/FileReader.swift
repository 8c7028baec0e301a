#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// read(2), under a name `FileReader.read(into:)` does not shadow.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Sequential reads of a file with POSIX calls, in caller-sized pieces.
public struct FileReader: ~Copyable {
    let fd: Int32
    public let path: String

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
    }

    deinit { close(fd) }

    /// Calls `body` with each chunk until the file ends or `body` returns false.
    public func forEachChunk(size: Int, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var buffer = [UInt8](repeating: 0, count: max(size, 4096))
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in raw.baseAddress.map { posixRead(fd, $0, raw.count) } ?? 0 }
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
        let wanted = min(max(1, maxLength), try remaining())
        guard wanted > 0 else { return [] }
        var failure: (any Error)?
        let buffer = [UInt8](unsafeUninitializedCapacity: wanted) { bytes, count in
            do { count = try read(into: UnsafeMutableRawBufferPointer(bytes)) } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return buffer
    }

    /// Bytes from the current position to the end of the file.
    public func remaining() throws -> Int {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        let position = lseek(fd, 0, SEEK_CUR)
        guard position >= 0 else { throw FileError(path: path, operation: "seek", errno: errno) }
        return Int(clamping: max(0, Int64(status.st_size) - Int64(position)))
    }

    /// Fills `buffer` from the current position; answers how many bytes it holds (fewer only at the end of
    /// the file). Lets a caller read straight into memory it owns (a network buffer) without a copy.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try Self.fill(buffer, path: path) { posixRead(fd, $0, $1) }
    }

    /// Fills `buffer` from `offset` of the open file `fd` with `pread` (the descriptor's position is left alone);
    /// answers how many bytes it holds, fewer only at the end of the file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
        var position = offset
        return try fill(buffer, path: path) { base, count in
            let n = pread(fd, base, count, off_t(position))
            if n > 0 { position += n }
            return n
        }
    }

    /// Calls `read(address, count)` (a read(2)-like call) until `buffer` is full or it answers 0 (the end),
    /// retrying on EINTR; answers how many bytes `buffer` holds.
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer, path: String,
                             _ read: (UnsafeMutableRawPointer, Int) -> Int) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var count = 0
        while count < buffer.count {
            let n = read(base + count, buffer.count - count)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            count += n
        }
        return count
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
