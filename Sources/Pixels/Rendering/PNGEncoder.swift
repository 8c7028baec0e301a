import CZlib

/// PNG files (ISO/IEC 15948) of 8-bit grey or RGB images, over zlib. Each row is filtered with Up (the
/// previous row subtracted), then deflated at level 3.
enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func encode(_ image: RenderedImage, level: Int32 = 3) throws -> [UInt8] {
        let stride = image.width * image.components
        guard image.width > 0, image.height > 0, image.pixels.count >= stride * image.height else {
            throw PixelError(.invalidAttributes, "PNG: image of \(image.width)×\(image.height) has \(image.pixels.count) bytes")
        }
        // Filtered rows: a filter-type byte, then the row minus the row above (modulo 256).
        var filtered = [UInt8](repeating: 0, count: (stride + 1) * image.height)
        image.pixels.withUnsafeBufferPointer { src in
            filtered.withUnsafeMutableBufferPointer { dst in
                for y in 0..<image.height {
                    let o = y * (stride + 1), row = y * stride
                    if y == 0 {
                        dst[o] = 0
                        for i in 0..<stride { dst[o + 1 + i] = src[row + i] }
                    } else {
                        dst[o] = 2
                        for i in 0..<stride { dst[o + 1 + i] = src[row + i] &- src[row - stride + i] }
                    }
                }
            }
        }
        var out = signature
        var ihdr: [UInt8] = []
        append32(UInt32(image.width), &ihdr)
        append32(UInt32(image.height), &ihdr)
        ihdr += [8, image.components == 3 ? 2 : 0, 0, 0, 0]  // bit depth 8, grey or RGB, deflate, adaptive, no interlace
        chunk("IHDR", ihdr, into: &out)
        chunk("IDAT", try deflate(filtered, level: level), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    static func deflate(_ input: [UInt8], level: Int32) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw PixelError(.io, "PNG: zlib initialisation failed")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var input = input
        let rc = input.withUnsafeMutableBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst -> Int32 in
                stream.next_in = src.baseAddress
                stream.avail_in = UInt32(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = UInt32(dst.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw PixelError(.io, "PNG: deflate failed (\(rc))") }
        out.removeLast(out.count - Int(stream.total_out))
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        append32(UInt32(data.count), &out)
        let typeBytes = Array(type.utf8)
        var crc = crc32(0, nil, 0)
        crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, UInt32($0.count)) }
        crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, UInt32($0.count)) }
        out += typeBytes
        out += data
        append32(UInt32(truncatingIfNeeded: crc), &out)
    }

    static func append32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
}
