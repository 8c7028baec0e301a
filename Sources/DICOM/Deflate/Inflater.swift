import CZlib

/// Raw DEFLATE (RFC 1951, no zlib header) decompression in pieces, as the Deflated Explicit VR Little
/// Endian syntax carries the dataset (PS3.5 A.5). Output comes in bounded chunks, so a small input that
/// inflates to gigabytes never needs gigabytes of memory.
final class Inflater {
    private var stream = z_stream()
    private var finished = false
    private static let chunk = 64 * 1024

    init() throws {
        let rc = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw DICOMParseError(.inflateFailed, offset: 0, "inflateInit2 failed (\(rc))") }
    }

    deinit { inflateEnd(&stream) }

    /// Inflates `input`, passing each produced chunk to `sink`. Bytes after the end of the deflate stream are ignored.
    func inflate(_ input: UnsafeRawBufferPointer, offset: UInt64, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished, let base = input.baseAddress, input.count > 0 else { return }
        var out = [UInt8](repeating: 0, count: Self.chunk)
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while stream.avail_in > 0 && !finished {
            let produced: Int = try out.withUnsafeMutableBytes { o in
                guard let ob = o.baseAddress else { return 0 }
                stream.next_out = ob.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(o.count)
                let rc = CZlib.inflate(&stream, Z_NO_FLUSH)
                if rc == Z_STREAM_END { finished = true } else if rc != Z_OK && rc != Z_BUF_ERROR {
                    throw DICOMParseError(.inflateFailed, offset: offset, "corrupt deflated data (zlib \(rc))")
                }
                return o.count - Int(stream.avail_out)
            }
            if produced == 0 && !finished && stream.avail_in > 0 {
                throw DICOMParseError(.inflateFailed, offset: offset, "deflate stream makes no progress")
            }
            if produced > 0 { try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
        }
        stream.next_in = nil
        stream.avail_in = 0
    }
}

/// Raw DEFLATE compression for writing the deflated syntax (zlib's default level, as other toolkits use).
enum Deflater {
    static func deflate(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DICOMWriteError("deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        var out = [UInt8](repeating: 0, count: 64 * 1024)
        try input.withUnsafeBytes { inp in
            stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(inp.count)
            var rc: Int32 = Z_OK
            repeat {
                let produced: Int = out.withUnsafeMutableBytes { o in
                    stream.next_out = o.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(o.count)
                    rc = CZlib.deflate(&stream, Z_FINISH)
                    return o.count - Int(stream.avail_out)
                }
                output.append(contentsOf: out[0..<produced])
                if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR { throw DICOMWriteError("deflate failed (\(rc))") }
            } while rc != Z_STREAM_END
        }
        return output
    }
}
