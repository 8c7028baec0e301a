#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DICOM

extension Transcoder {
    public struct CompressionResult: Sendable, Equatable {
        public var frames: Int
        public var originalBytes: UInt64
        public var compressedBytes: UInt64
        /// False when the compressed file was not smaller (noise compresses badly; RLE can grow it): nothing
        /// was written at `output` and the original should stay as it is.
        public var written: Bool
    }

    /// Compresses a stored instance losslessly into a new file at `output` (RLE, JPEG-LS lossless or JPEG 2000
    /// lossless), then decodes every frame of the new file and compares it with the original's, value for
    /// value, before the new file takes its name: what `serve --compress` keeps is proven recoverable. A result
    /// that is not smaller than the original is not written (`written` false). Refuses
    /// a source that is already lossy (its decoded values are not the received bytes), 1-bit images, and
    /// samples the codec cannot hold.
    public static func compressLosslessly(path: String, to target: PixelSyntax, output: String,
                                          limits: PixelLimits = .default) throws -> CompressionResult {
        guard target.isLossless, target.codec != .native, FrameEncoder.canEncode(target) else {
            throw PixelError(.unsupported, "\(target.name) is not a lossless syntax Arca writes")
        }
        let reader = try FrameReader(path: path, limits: limits)
        guard let source = reader.syntax, source.isLossless else {
            throw PixelError(.unsupported, "\(path) is in \(reader.syntax?.name ?? reader.transferSyntax.uid), not a lossless syntax: kept as received")
        }
        let slash = output.lastIndex(of: "/")
        let dir = slash.map { String(output[..<$0]) } ?? "."
        let name = slash.map { String(output[output.index(after: $0)...]) } ?? output
        let staged = (dir.isEmpty ? "" : dir + "/") + "." + name + ".verify-\(getpid())"
        defer { unlink(staged) }
        let result = try transcode(reader, to: target, output: staged)
        let check = try FrameReader(path: staged, limits: limits)
        guard check.numberOfFrames == reader.numberOfFrames else {
            throw PixelError(.corrupt, "verification: \(check.numberOfFrames) frames written, \(reader.numberOfFrames) read")
        }
        for i in 0..<reader.numberOfFrames {
            let original = try reader.decodeFrame(i).normalized()
            let again = try check.decodeFrame(i).normalized()
            guard original.bytes == again.bytes, original.format.photometric == again.format.photometric else {
                throw PixelError(.corrupt, "verification: frame \(i + 1) does not decode to the original's values")
            }
        }
        let original = try FileSource(path: path).size
        guard result.bytesWritten < original else {
            return CompressionResult(frames: result.frames, originalBytes: original, compressedBytes: result.bytesWritten, written: false)
        }
        guard rename(staged, output) == 0 else { throw PixelError(.io, "rename to \(output): \(String(cString: strerror(errno)))") }
        return CompressionResult(frames: result.frames, originalBytes: original, compressedBytes: result.bytesWritten, written: true)
    }
}
