import CCharLS

/// JPEG-LS lossless and near-lossless through CharLS.
enum JPEGLSCodec {
    static func decode(_ data: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        var info = arca_jls_info()
        try codecCall("JPEG-LS") { err, len in data.withUnsafeBufferPointer { arca_jls_read_header($0.baseAddress, $0.count, &info, err, len) } }
        try checkDimensions("JPEG-LS", width: Int(info.width), height: Int(info.height), components: Int(info.component_count), format: f)
        let bits = Int(info.bits_per_sample)
        guard (2...16).contains(bits), (bits > 8 ? 2 : 1) == f.bytesPerSample else {
            throw PixelError(.corrupt, "JPEG-LS stream of \(bits) bits in \(f.bitsAllocated)-bit storage")
        }
        var out = f.codecOutput(precision: bits)
        if f.photometric == .ybrFull422 { out.photometric = .ybrFull }
        var bytes = [UInt8](repeating: 0, count: out.decodedFrameLength)
        try codecCall("JPEG-LS") { err, len in
            data.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBufferPointer { dst in
                    arca_jls_decode(src.baseAddress, src.count, dst.baseAddress, dst.count, err, len)
                }
            }
        }
        if info.interleave_mode == 0 && f.samplesPerPixel > 1 {
            // Planes come one after the other: interleave them as every decoded frame is.
            bytes = NativeCodec.interleave(bytes, samples: f.samplesPerPixel, pixels: f.rows * f.columns, width: out.bytesPerSample)
        }
        if f.isSigned && bits < 8 * out.bytesPerSample { bytes = SignExtension.apply(bytes, bits: bits, width: out.bytesPerSample) }
        return DecodedFrame(format: out, bytes: bytes)
    }

    /// Lossless (`near` 0) or near-lossless encoding of a normalized frame (stored bits in the low bits).
    static func encode(_ frame: DecodedFrame, near: Int = 0) throws -> [UInt8] {
        let f = frame.format
        guard f.bytesPerSample <= 2, f.bitsStored >= 2 else {
            throw PixelError(.unsupported, "JPEG-LS holds 2 to 16 bits, not \(f.bitsStored) in \(f.bitsAllocated)")
        }
        // JPEG-LS codes unsigned samples: signed ones go as their bit patterns, masked to Bits Stored.
        let input = f.isSigned ? SignExtension.mask(frame.bytes, bits: f.bitsStored, width: f.bytesPerSample) : frame.bytes
        let capacity = arca_jls_estimated_size(UInt32(f.columns), UInt32(f.rows), Int32(f.bitsStored), Int32(f.samplesPerPixel))
        var out = [UInt8](repeating: 0, count: capacity)
        var written = 0
        try codecCall("JPEG-LS encoder") { err, len in
            input.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    arca_jls_encode(src.baseAddress, src.count, UInt32(f.columns), UInt32(f.rows), Int32(f.bitsStored),
                                    Int32(f.samplesPerPixel), Int32(near), dst.baseAddress, dst.count, &written, err, len)
                }
            }
        }
        out.removeLast(out.count - written)
        return out
    }
}

/// Signed samples through codecs that code bit patterns: masked to Bits Stored on the way in, sign-extended
/// to the storage width on the way out.
enum SignExtension {
    static func apply(_ bytes: [UInt8], bits: Int, width: Int) -> [UInt8] {
        var out = bytes
        let shift = 8 * width - bits
        switch width {
        case 1:
            out.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = UInt8(bitPattern: Int8(bitPattern: b[i] << UInt8(shift)) >> Int8(shift)) } }
        case 2:
            out.withUnsafeMutableBytes { raw in
                let b = raw.bindMemory(to: UInt16.self)
                for i in b.indices { b[i] = UInt16(bitPattern: Int16(bitPattern: b[i] << UInt16(shift)) >> Int16(shift)) }
            }
        default:
            out.withUnsafeMutableBytes { raw in
                let b = raw.bindMemory(to: UInt32.self)
                for i in b.indices { b[i] = UInt32(bitPattern: Int32(bitPattern: b[i] << UInt32(shift)) >> Int32(shift)) }
            }
        }
        return out
    }

    static func mask(_ bytes: [UInt8], bits: Int, width: Int) -> [UInt8] {
        var out = bytes
        switch width {
        case 1:
            let m = UInt8(truncatingIfNeeded: (1 << bits) - 1)
            out.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] &= m } }
        case 2:
            let m = UInt16(truncatingIfNeeded: (1 << bits) - 1)
            out.withUnsafeMutableBytes { raw in let b = raw.bindMemory(to: UInt16.self); for i in b.indices { b[i] &= m } }
        default:
            let m = UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(bits)) - 1)
            out.withUnsafeMutableBytes { raw in let b = raw.bindMemory(to: UInt32.self); for i in b.indices { b[i] &= m } }
        }
        return out
    }
}
