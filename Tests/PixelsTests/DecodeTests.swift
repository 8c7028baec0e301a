import DICOM
import Foundation
import Pixels
import Testing
import TestSupport

/// Decoding against reference decoders, value for value (lossless) or within the codec's tolerance (lossy).
@Suite(.serialized)
struct DecodeTests {
    /// The reference decoder of each syntax: DCMTK's for RLE, JPEG and JPEG-LS, GDCM's for JPEG 2000.
    static func referenceDecode(_ entry: PixelCorpus.Entry, into out: URL) throws {
        let args: [String]
        switch entry.syntax {
        case "rle": args = ["/usr/bin/dcmdrle", entry.file.path, out.path]
        case "jpeg-ls-lossless", "jpeg-ls": args = ["/usr/bin/dcmdjpls", entry.file.path, out.path]
        // Lossless JPEG keeps its samples as coded (YBR_FULL stays YBR_FULL); a DCT JPEG becomes RGB.
        case "jpeg-lossless", "jpeg-lossless-sv1": args = ["/usr/bin/dcmdjpeg", "+cn", entry.file.path, out.path]
        case "jpeg-baseline", "jpeg-extended": args = ["/usr/bin/dcmdjpeg", entry.file.path, out.path]
        default: args = ["/usr/bin/gdcmconv", "--raw", entry.file.path, out.path]
        }
        let r = try ExternalTool.run(args[0], Array(args.dropFirst()))
        guard r.status == 0 else { throw CorpusError("\(args.joined(separator: " ")): \(r.stderr)") }
    }

    @Test("every encoded file decodes as DCMTK or GDCM decode it, and lossless ones give back their source", .needs(.pydicom, .pixelTools))
    func encodedFilesMatchTheReference() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-pixels-ref")
        let encoded = corpus.entries.filter { $0.syntax != "native" }
        #expect(encoded.count >= 60)
        var syntaxes = Set<String>()
        for entry in encoded {
            let ref = work.appendingPathComponent(entry.file.lastPathComponent)
            try Self.referenceDecode(entry, into: ref)
            let ours = try sampleValues(try FrameReader(path: entry.file.path))
            let theirs = try sampleValues(try FrameReader(path: ref.path))
            let tolerance = entry.lossless ? 0 : (entry.syntax == "jpeg-ls" ? 2 : 3)
            let diff = maxDifference(ours.values, theirs.values)
            #expect(diff <= tolerance, "\(entry.file.lastPathComponent): differs from the reference by \(diff)")
            #expect(ours.photometric == theirs.photometric, "\(entry.file.lastPathComponent): \(ours.photometric) vs \(theirs.photometric)")
            if entry.lossless {
                let source = try sampleValues(try FrameReader(path: entry.source.path))
                #expect(maxDifference(ours.values, source.values) == 0, "\(entry.file.lastPathComponent) does not give back its source")
            }
            syntaxes.insert(entry.syntax)
        }
        for s in ["rle", "jpeg-baseline", "jpeg-extended", "jpeg-lossless", "jpeg-lossless-sv1", "jpeg-ls-lossless", "jpeg-ls", "j2k-lossless", "j2k"] {
            #expect(syntaxes.contains(s), "the corpus has no \(s) file")
        }
    }

    @Test("native files of every layout decode as pydicom reads them", .needs(.pydicom, .pixelTools))
    func nativeFilesMatchPydicom() throws {
        let corpus = try PixelCorpus.load()
        for entry in corpus.entries where entry.syntax == "native" {
            let ours = try sampleValues(try FrameReader(path: entry.file.path))
            let theirs = try pydicomValues(entry.file)
            #expect(maxDifference(ours.values, theirs.values) == 0, "\(entry.file.lastPathComponent) differs from pydicom")
        }
    }

    @Test("a 12-bit extended JPEG decodes with Arca's own DCT decoder, a lossless one with its predictors", .needs(.pydicom, .pixelTools))
    func ownDecodersServeWhatLibjpegTurboCannot() throws {
        let corpus = try PixelCorpus.load()
        let twelve = try FrameReader(path: corpus.directory.appendingPathComponent("ct-12bit.jpeg-extended.dcm").path)
        #expect(try twelve.decodeFrame(0).format.bitsStored == 12)
        for p in [2, 4, 7] {
            let r = try FrameReader(path: corpus.directory.appendingPathComponent("ct-signed.jpll-p\(p).dcm").path)
            let source = try FrameReader(path: corpus.native("ct-signed").path)
            #expect(try r.decodeFrame(0).normalized().bytes == source.decodeFrame(0).normalized().bytes)
        }
    }
}
