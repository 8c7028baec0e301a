import DICOM

/// Picks the decoder for a frame's transfer syntax.
public enum FrameDecoder {
    /// Decodes one frame as stored (`FrameReader.frameData`) in the syntax `uid`.
    public static func decode(_ data: [UInt8], format: PixelFormat, syntax uid: String) throws -> DecodedFrame {
        guard let syntax = PixelSyntax.forUID(uid) else {
            throw PixelError(.unsupported, "transfer syntax \(uid) is not one Arca decodes")
        }
        switch syntax.codec {
        case .native: return try NativeCodec.decode(data, format: format)
        case .rle: return try RLECodec.decode(data, format: format)
        case .jpegDCT:
            // libjpeg-turbo 2.1 (Debian 12) decodes 8-bit DCT only: 12-bit goes to Arca's own decoder.
            let sof = try JPEGDecoder.frameHeader(data)
            if sof.precision == 8 && sof.sof != 0xC3 {
                return try JPEGTurboCodec.decode(data, header: try JPEGTurboCodec.header(data), format: format)
            }
            return try JPEGDecoder.decode(data, format: format)
        case .jpegLossless:
            // A .57/.70 object occasionally holds a DCT stream (mislabelled): decode what the stream is.
            let sof = try JPEGDecoder.frameHeader(data)
            if sof.sof != 0xC3 && sof.precision == 8 {
                return try JPEGTurboCodec.decode(data, header: try JPEGTurboCodec.header(data), format: format)
            }
            return try JPEGDecoder.decode(data, format: format)
        case .jpegLS: return try JPEGLSCodec.decode(data, format: format)
        case .jpeg2000: return try JPEG2000Codec.decode(data, format: format)
        case .htj2k: return try JPEG2000Codec.decodeHT(data, format: format)
        }
    }
}

extension FrameReader {
    /// Frame `index` (0-based) decoded.
    public func decodeFrame(_ index: Int) throws -> DecodedFrame {
        try FrameDecoder.decode(try frameData(index), format: format, syntax: transferSyntax.uid)
    }
}
