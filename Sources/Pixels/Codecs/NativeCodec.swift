/// Uncompressed frames to `DecodedFrame` and back: bit unpacking, planes to interleaved samples, native
/// YBR_FULL_422 widened to YBR_FULL (PS3.3 C.7.6.3.1.2: two luminance samples share one Cb and one Cr).
enum NativeCodec {
    static func decode(_ raw: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        guard raw.count >= f.nativeFrameLength else {
            throw PixelError(.truncated, "native frame has \(raw.count) bytes, \(f.nativeFrameLength) expected")
        }
        let out = f.decoded
        let pixels = f.rows * f.columns
        if f.bitsAllocated == 1 {
            var bytes = [UInt8](repeating: 0, count: pixels)
            raw.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<pixels { dst[i] = (src[i >> 3] >> UInt8(i & 7)) & 1 }
                }
            }
            return DecodedFrame(format: out, bytes: bytes)
        }
        if f.photometric == .ybrFull422 {
            return DecodedFrame(format: out, bytes: try expand422(raw, format: f))
        }
        let length = f.decodedFrameLength
        if f.samplesPerPixel > 1 && f.planarConfiguration == 1 {
            return DecodedFrame(format: out, bytes: interleave(raw, samples: f.samplesPerPixel, pixels: pixels, width: f.bytesPerSample))
        }
        return DecodedFrame(format: out, bytes: raw.count == length ? raw : Array(raw[0..<length]))
    }

    /// Planes (RRR… GGG… BBB…) to interleaved samples.
    static func interleave(_ raw: [UInt8], samples: Int, pixels: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels * samples * width)
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for s in 0..<samples {
                    let plane = s * pixels * width
                    for p in 0..<pixels {
                        let d = (p * samples + s) * width
                        for k in 0..<width { dst[d + k] = src[plane + p * width + k] }
                    }
                }
            }
        }
        return out
    }

    /// Interleaved samples to planes.
    static func deinterleave(_ raw: [UInt8], samples: Int, pixels: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels * samples * width)
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for s in 0..<samples {
                    let plane = s * pixels * width
                    for p in 0..<pixels {
                        let from = (p * samples + s) * width
                        for k in 0..<width { dst[plane + p * width + k] = src[from + k] }
                    }
                }
            }
        }
        return out
    }

    /// Y1 Y2 Cb Cr per pixel pair (8 or 16 bits a sample) to Y Cb Cr per pixel.
    static func expand422(_ raw: [UInt8], format f: PixelFormat) throws -> [UInt8] {
        let w = f.bytesPerSample
        guard f.columns % 2 == 0 else {
            throw PixelError(.invalidAttributes, "native YBR_FULL_422 needs an even number of columns, not \(f.columns)")
        }
        let pairs = f.rows * f.columns / 2
        var out = [UInt8](repeating: 0, count: pairs * 6 * w)
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<pairs {
                    let s = p * 4 * w, d = p * 6 * w
                    for k in 0..<w {
                        let y1 = src[s + k], y2 = src[s + w + k], cb = src[s + 2 * w + k], cr = src[s + 3 * w + k]
                        dst[d + k] = y1; dst[d + w + k] = cb; dst[d + 2 * w + k] = cr
                        dst[d + 3 * w + k] = y2; dst[d + 4 * w + k] = cb; dst[d + 5 * w + k] = cr
                    }
                }
            }
        }
        return out
    }

    /// A decoded frame back to native bytes for `target` (bits packed again for a 1-bit image, planes when
    /// the target format asks for them).
    static func encode(_ frame: DecodedFrame, bitsAllocated: Int, planar: Bool) -> [UInt8] {
        let f = frame.format
        let pixels = f.rows * f.columns
        if bitsAllocated == 1 {
            var out = [UInt8](repeating: 0, count: (pixels + 7) / 8)
            for i in 0..<pixels where frame.bytes[i] & 1 != 0 { out[i >> 3] |= 1 << UInt8(i & 7) }
            return out
        }
        if planar && f.samplesPerPixel > 1 {
            return deinterleave(frame.bytes, samples: f.samplesPerPixel, pixels: pixels, width: f.bytesPerSample)
        }
        return frame.bytes
    }
}
