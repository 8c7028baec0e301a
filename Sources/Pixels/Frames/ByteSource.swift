#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes at absolute offsets: a file read with pread (only the bytes asked for), or a buffer in memory.
protocol ByteSource: AnyObject {
    var size: UInt64 { get }
    /// Exactly `count` bytes at `offset`, or an error naming the shortfall.
    func read(at offset: UInt64, count: Int) throws -> [UInt8]
}

/// A file opened for positioned reads; closed when the last reference goes.
final class FileSource: ByteSource {
    let fd: Int32
    let path: String
    let size: UInt64

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PixelError(.io, "open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw PixelError(.io, "stat \(path): \(String(cString: strerror(e)))")
        }
        size = UInt64(max(0, st.st_size))
    }

    deinit { close(fd) }

    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        guard offset <= size, UInt64(count) <= size - offset else {
            throw PixelError(.truncated, "\(path) ends before byte \(offset + UInt64(count)) (it has \(size))")
        }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress.map { $0 + done }, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            // Bytes past a short read are zeroed so the array is initialized; the shortfall is reported below.
            if done < count, let base = buffer.baseAddress { (base + done).initialize(repeating: 0, count: count - done) }
            initialized = count
            if done < count && failure == 0 { failure = -1 }
        }
        if failure > 0 { throw PixelError(.io, "read \(path): \(String(cString: strerror(failure)))") }
        if failure < 0 { throw PixelError(.truncated, "\(path) was shortened while being read") }
        return bytes
    }
}

/// A buffer already in memory (a dataset received whole, a deflated file inflated).
final class MemorySource: ByteSource {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var size: UInt64 { UInt64(bytes.count) }

    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw PixelError(.truncated, "pixel data ends before byte \(offset + UInt64(count)) (it has \(size))")
        }
        let start = Int(offset)
        return Array(bytes[start..<(start + count)])
    }
}
