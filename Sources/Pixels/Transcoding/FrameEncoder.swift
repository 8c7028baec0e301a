/// Encodes decoded frames into the lossless syntaxes Arca writes: RLE (Arca's own), JPEG-LS (CharLS),
/// JPEG 2000 reversible (OpenJPEG) and HTJ2K reversible (OpenJPH).
public enum FrameEncoder {
    /// One frame's codestream (an encapsulated fragment's content) in `syntax`.
    public static func encode(_ frame: DecodedFrame, to syntax: PixelSyntax) throws -> [UInt8] {
        guard frame.format.bitsAllocated > 1 || syntax.codec == .native else {
            throw PixelError(.unsupported, "1-bit images are kept uncompressed")
        }
        switch syntax.codec {
        // Stored bits go in the low bits (High Bit = Bits Stored - 1): GDCM misreads RLE of a higher High Bit.
        case .rle: return try RLECodec.encode(frame.normalized())
        case .jpegLS where syntax.isLossless: return try JPEGLSCodec.encode(frame.normalized())
        case .jpeg2000 where syntax.isLossless: return try JPEG2000Codec.encode(frame.normalized())
        case .htj2k where syntax.isLossless: return try JPEG2000Codec.encodeHT(frame.normalized())
        default:
            throw PixelError(.unsupported, "Arca encodes \(syntax.name) only as a decoder; write RLE, JPEG-LS lossless, JPEG 2000 lossless or an uncompressed syntax")
        }
    }

    /// The pixel format an encoded frame declares: what the header must say once frames are in `syntax`.
    static func outputFormat(_ decoded: PixelFormat, syntax: PixelSyntax) -> PixelFormat {
        var f = decoded
        f.planarConfiguration = 0
        if syntax.codec != .native { f.highBit = f.bitsStored - 1 }
        return f
    }

    /// Syntaxes `encode` writes.
    public static func canEncode(_ syntax: PixelSyntax) -> Bool {
        switch syntax.codec {
        case .native, .rle: return true
        case .jpegLS, .jpeg2000, .htj2k: return syntax.isLossless
        default: return false
        }
    }
}
