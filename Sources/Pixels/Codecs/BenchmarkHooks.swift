/// The alternatives the library choices were measured against (scripts/bench-pixels): not for production use.
@_spi(Benchmark)
public enum AlternativeDecoders {
    /// An 8-bit DCT JPEG frame through Arca's own decoder instead of libjpeg-turbo.
    public static func ownJPEG(_ data: [UInt8], format: PixelFormat) throws -> DecodedFrame {
        try JPEGDecoder.decode(data, format: format)
    }

    /// An HTJ2K frame through OpenJPEG instead of OpenJPH.
    public static func htj2kWithOpenJPEG(_ data: [UInt8], format: PixelFormat) throws -> DecodedFrame {
        try JPEG2000Codec.decode(data, format: format)
    }

    /// An irreversible (lossy) HTJ2K codestream: what tests decode to check the lossy path.
    public static func lossyHTJ2K(_ frame: DecodedFrame) throws -> [UInt8] {
        try JPEG2000Codec.encodeHT(frame.normalized(), reversible: false)
    }

    /// PNG with a chosen zlib level and filter (0 none, 2 Up).
    public static func png(_ image: RenderedImage, level: Int32) throws -> [UInt8] {
        try PNGEncoder.encode(image, level: level)
    }
}
