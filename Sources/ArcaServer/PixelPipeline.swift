import Archive
import DICOM
import DICOMweb
import Pixels

/// The pixel pipeline behind retrieval and DICOMweb: C-MOVE, C-GET and WADO-RS transcode through it (only to
/// syntaxes that keep every value of a lossless original), rendered images and frames come from it. Every
/// call reads from a file or a dataset already in memory, on the caller's I/O thread.
struct PixelPipeline: PixelTranscoding, PixelRendering {
    func canTranscode(from stored: String, to target: String) -> Bool {
        PixelSyntax.target(stored: stored, accepted: [target])?.uid == target
    }

    func transcode(_ dataSet: DataSet, from stored: TransferSyntax, to target: String) throws -> [UInt8] {
        guard let syntax = PixelSyntax.forUID(target) else { throw ArchiveError.io("no pixel codec writes \(target)") }
        let reader = try FrameReader(dataSet: dataSet, transferSyntax: stored)
        var out: [UInt8] = []
        try Transcoder.transcode(reader, to: syntax, fileMeta: false) { out += $0 }
        return out
    }

    func storedFrame(path: String, frame: Int) throws -> (bytes: [UInt8], transferSyntax: String) {
        try Self.asked {
            let reader = try FrameReader(path: path)
            return (try reader.frameData(frame), reader.transferSyntax.uid)
        }
    }

    /// A frame in Explicit VR Little Endian's layout, which the instance's metadata describes (PS3.18 8.7.3): a
    /// native source's frame as it is (1-bit frames stay packed, Planar Configuration 1 stays planar, YBR_FULL_422
    /// stays subsampled: decoded, they came out in Arca's working layout, which the metadata did not say); an
    /// encapsulated one decoded.
    func nativeFrame(path: String, frame: Int) throws -> [UInt8] {
        try Self.asked {
            let reader = try FrameReader(path: path)
            return reader.isEncapsulated ? try reader.decodeFrame(frame).bytes : try reader.frameData(frame)
        }
    }

    func render(path: String, frame: Int, window: (Double, Double, String)?, viewport: (Int, Int)?, jpeg: Bool, quality: Int) throws -> [UInt8] {
        let w = window.map { Window(center: $0.0, width: $0.1, function: VOIFunction(rawValue: $0.2.uppercased()) ?? .linear) }
        let v = viewport.map { Viewport(width: $0.0, height: $0.1) }
        return try Self.asked { try Renderer.render(path: path, frame: frame, window: w, viewport: v, format: jpeg ? .jpeg(quality: quality) : .png) }
    }

    func numberOfFrames(path: String) throws -> Int {
        try Self.asked { try FrameReader(path: path).numberOfFrames }
    }

    /// A frame or pixels the instance does not have are the request's fault (DICOMweb answers 404); other pixel
    /// errors stay the server's.
    static func asked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PixelError where error.kind == .noPixelData || error.kind == .noSuchFrame {
            throw NotInTheInstance(error.kind == .noPixelData ? .pixelData : .frame, error.message)
        }
    }
}
