import COpenJPEG
import COpenJPH

/// JPEG 2000 through OpenJPEG (decode and lossless encode), HTJ2K through OpenJPH (decode).
enum JPEG2000Codec {
    static func decode(_ data: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        var out = f.codecOutput
        // A multiple-component transform is undone by the decoder: the samples come out RGB.
        if f.photometric == .ybrRCT || f.photometric == .ybrICT { out.photometric = .rgb }
        var bytes = [UInt8](repeating: 0, count: out.decodedFrameLength)
        var info = arca_j2k_info()
        try codecCall("JPEG 2000") { err, len in
            data.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBufferPointer { dst in
                    arca_j2k_decode(src.baseAddress, src.count, UInt32(f.columns), UInt32(f.rows), UInt32(f.samplesPerPixel),
                                    Int32(out.bytesPerSample), dst.baseAddress, dst.count, &info, err, len)
                }
            }
        }
        let precision = Int(info.precision)
        guard precision >= 1, precision <= 8 * out.bytesPerSample else {
            throw PixelError(.corrupt, "JPEG 2000 samples of \(precision) bits in \(f.bitsAllocated)-bit storage")
        }
        out.highBit = f.codecOutput(precision: precision).highBit
        return DecodedFrame(format: out, bytes: bytes)
    }

    static func decodeHT(_ data: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        var info = arca_htj2k_info()
        try codecCall("HTJ2K") { err, len in data.withUnsafeBufferPointer { arca_htj2k_read_header($0.baseAddress, $0.count, &info, err, len) } }
        guard info.precision >= 1, Int(info.precision) <= 8 * f.decoded.bytesPerSample else {
            throw PixelError(.corrupt, "HTJ2K samples of \(info.precision) bits in \(f.bitsAllocated)-bit storage")
        }
        var out = f.codecOutput(precision: Int(info.precision))
        if f.photometric == .ybrRCT || f.photometric == .ybrICT { out.photometric = .rgb }
        var bytes = [UInt8](repeating: 0, count: out.decodedFrameLength)
        try codecCall("HTJ2K") { err, len in
            data.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBufferPointer { dst in
                    arca_htj2k_decode(src.baseAddress, src.count, UInt32(f.columns), UInt32(f.rows), UInt32(f.samplesPerPixel),
                                      Int32(out.bytesPerSample), dst.baseAddress, dst.count, err, len)
                }
            }
        }
        return DecodedFrame(format: out, bytes: bytes)
    }

    /// Lossless (reversible 5/3) J2K codestream of a normalized frame.
    static func encode(_ frame: DecodedFrame) throws -> [UInt8] {
        let f = frame.format
        guard f.bitsStored <= 24 else { throw PixelError(.unsupported, "JPEG 2000 lossless of \(f.bitsStored)-bit samples") }
        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        try codecCall("JPEG 2000 encoder") { err, len in
            frame.bytes.withUnsafeBufferPointer {
                arca_j2k_encode($0.baseAddress, UInt32(f.columns), UInt32(f.rows), UInt32(f.samplesPerPixel), Int32(f.bitsStored),
                                f.isSigned ? 1 : 0, Int32(f.bytesPerSample), &buffer, &length, err, len)
            }
        }
        defer { arca_j2k_free(buffer) }
        guard let buffer else { return [] }
        var out = Array(UnsafeBufferPointer(start: buffer, count: length))
        if out.count % 2 == 1 { out.append(0) }  // fragments have even length; a trailing 0 after EOC is ignored
        return out
    }

    /// Lossless HTJ2K codestream (OpenJPH) of a normalized frame.
    static func encodeHT(_ frame: DecodedFrame, reversible: Bool = true) throws -> [UInt8] {
        let f = frame.format
        guard f.bitsStored <= 24 else { throw PixelError(.unsupported, "HTJ2K lossless of \(f.bitsStored)-bit samples") }
        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        try codecCall("HTJ2K encoder") { err, len in
            frame.bytes.withUnsafeBufferPointer {
                arca_htj2k_encode($0.baseAddress, UInt32(f.columns), UInt32(f.rows), UInt32(f.samplesPerPixel), Int32(f.bitsStored),
                                  f.isSigned ? 1 : 0, Int32(f.bytesPerSample), reversible ? 1 : 0, &buffer, &length, err, len)
            }
        }
        defer { arca_htj2k_free(buffer) }
        guard let buffer else { return [] }
        var out = Array(UnsafeBufferPointer(start: buffer, count: length))
        if out.count % 2 == 1 { out.append(0) }
        return out
    }
}
