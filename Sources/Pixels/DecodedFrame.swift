/// One frame's samples once decoded: interleaved (planar configuration 0), each sample in 1, 2 or 4 bytes in
/// host order (little endian on every platform Arca runs on), the stored bits where the format's High Bit puts
/// them. A 1-bit image comes unpacked, one byte per pixel; native YBR_FULL_422 comes as YBR_FULL; a colour
/// JPEG decoded to RGB says RGB.
public struct DecodedFrame: Sendable, Equatable {
    public var format: PixelFormat
    public var bytes: [UInt8]

    public init(format: PixelFormat, bytes: [UInt8]) {
        self.format = format
        self.bytes = bytes
    }

    /// Sample `i` (in interleaved order) as an integer: the stored bits, shifted down from High Bit and
    /// sign-extended when Pixel Representation says signed.
    @inlinable
    public func sample(_ i: Int) -> Int {
        let raw: UInt32
        switch format.bytesPerSample {
        case 1: raw = UInt32(bytes[i])
        case 2: raw = UInt32(bytes[2 * i]) | UInt32(bytes[2 * i + 1]) << 8
        default:
            raw = UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
        }
        return SampleExtractor(format).value(raw)
    }

    /// Every sample as stored bits in the low bits (High Bit = Bits Stored - 1), sign-extended in their
    /// storage width: what the lossless encoders take and what comparisons between decoders use.
    public func normalized() -> DecodedFrame {
        let f = format
        guard f.highBit != f.bitsStored - 1 || f.bitsStored != f.bitsAllocated else { return self }
        var out = self
        out.format.highBit = f.bitsStored - 1
        let ex = SampleExtractor(f)
        let n = f.rows * f.columns * f.samplesPerPixel
        switch f.bytesPerSample {
        case 1:
            out.bytes.withUnsafeMutableBufferPointer { b in for i in 0..<n { b[i] = UInt8(truncatingIfNeeded: ex.value(UInt32(b[i]))) } }
        case 2:
            out.bytes.withUnsafeMutableBytes { raw in
                let b = raw.bindMemory(to: UInt16.self)
                for i in 0..<n { b[i] = UInt16(truncatingIfNeeded: ex.value(UInt32(b[i]))) }
            }
        default:
            out.bytes.withUnsafeMutableBytes { raw in
                let b = raw.bindMemory(to: UInt32.self)
                for i in 0..<n { b[i] = UInt32(truncatingIfNeeded: ex.value(b[i])) }
            }
        }
        return out
    }
}

/// Turns a raw stored word into the pixel's value: shift down from High Bit, keep Bits Stored, sign-extend.
public struct SampleExtractor: Sendable {
    public let shift: UInt32
    public let mask: UInt32
    public let signBit: UInt32
    public let isSigned: Bool

    public init(_ f: PixelFormat) {
        shift = UInt32(max(0, f.highBit + 1 - f.bitsStored))
        mask = f.bitsStored >= 32 ? UInt32.max : (UInt32(1) << UInt32(f.bitsStored)) - 1
        signBit = UInt32(1) << UInt32(max(0, f.bitsStored - 1))
        isSigned = f.isSigned
    }

    @inlinable @inline(__always)
    public func value(_ raw: UInt32) -> Int {
        let v = (raw >> shift) & mask
        if isSigned && v & signBit != 0 { return Int(v) - Int(mask) - 1 }
        return Int(v)
    }
}
