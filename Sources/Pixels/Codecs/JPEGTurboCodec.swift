import CJPEGTurbo

/// 8-bit DCT JPEG (baseline and 8-bit extended) through libjpeg-turbo, and JPEG output of rendered images.
enum JPEGTurboCodec {
    struct Header {
        var width, height, components, precision, sof: Int
    }

    static func header(_ data: [UInt8]) throws -> Header {
        var info = arca_jpeg_info()
        try codecCall("JPEG") { err, len in data.withUnsafeBufferPointer { arca_jpeg_read_header($0.baseAddress, $0.count, &info, err, len) } }
        return Header(width: Int(info.width), height: Int(info.height), components: Int(info.components),
                      precision: Int(info.precision), sof: Int(info.sof))
    }

    /// Decodes; a YCbCr stream is converted to RGB when the attributes say YBR (the JPEG's own colour
    /// model), kept as coded when they say RGB.
    static func decode(_ data: [UInt8], header h: Header, format f: PixelFormat) throws -> DecodedFrame {
        try checkDimensions("JPEG", width: h.width, height: h.height, components: h.components, format: f)
        var out = f.codecOutput
        let convert = f.samplesPerPixel == 3 && f.photometric != .rgb
        if f.samplesPerPixel == 3 { out.photometric = .rgb }
        out.bitsStored = min(out.bitsStored, 8)
        out.highBit = out.bitsStored - 1
        guard out.bytesPerSample == 1 else {
            throw PixelError(.unsupported, "8-bit JPEG in \(f.bitsAllocated)-bit storage")
        }
        var bytes = [UInt8](repeating: 0, count: out.decodedFrameLength)
        try codecCall("JPEG") { err, len in
            data.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBufferPointer { dst in
                    arca_jpeg_decode(src.baseAddress, src.count, convert ? 1 : 0, dst.baseAddress, dst.count, err, len)
                }
            }
        }
        return DecodedFrame(format: out, bytes: bytes)
    }

    /// 8-bit grey or RGB pixels as a JFIF file.
    static func encode(_ pixels: [UInt8], width: Int, height: Int, components: Int, quality: Int) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>?
        var length: UInt = 0
        try codecCall("JPEG encoder") { err, len in
            pixels.withUnsafeBufferPointer {
                arca_jpeg_encode($0.baseAddress, Int32(width), Int32(height), Int32(components), Int32(quality), &buffer, &length, err, len)
            }
        }
        defer { arca_jpeg_free(buffer) }
        guard let buffer else { return [] }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}
