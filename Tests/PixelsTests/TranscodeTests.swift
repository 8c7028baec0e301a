import DICOM
import Foundation
@_spi(Benchmark) import Pixels
import Testing
import TestSupport

/// Transcoding: native → RLE, JPEG-LS, JPEG 2000 → native gives the source's values, and the field's
/// decoders read what Arca wrote.
@Suite(.serialized)
struct TranscodeTests {
    static let compressible = ["ct-signed", "ct-12bit", "mr", "cr-mono1", "mono8", "mr-multiframe", "sc-rgb", "sc-rgb-planar",
                               "us-ybr-multiframe", "us-palette", "ct-bigendian", "ct-implicit", "ct-deflated", "mr-highbit15"]

    @Test("native → RLE / JPEG-LS / JPEG 2000 lossless → native round trips exactly; DCMTK and GDCM read the result", .needs(.pydicom, .pixelTools))
    func losslessRoundTrips() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-transcode")
        for name in Self.compressible {
            let source = try sampleValues(try FrameReader(path: corpus.native(name).path))
            for keyword in ["rle", "jpeg-ls-lossless", "j2k-lossless"] {
                let syntax = try #require(PixelSyntax.named(keyword))
                let compressed = work.appendingPathComponent("\(name).\(keyword).dcm")
                try Transcoder.transcode(path: corpus.native(name).path, to: syntax, output: compressed.path)
                let back = work.appendingPathComponent("\(name).\(keyword).back.dcm")
                try Transcoder.transcode(path: compressed.path, to: try #require(PixelSyntax.named("explicit-little")), output: back.path)
                #expect(maxDifference(try sampleValues(try FrameReader(path: back.path)).values, source.values) == 0, "\(name) via \(keyword)")
                // The field's decoders: DCMTK for RLE and JPEG-LS, GDCM for every one.
                var peers: [[String]] = [["/usr/bin/gdcmconv", "--raw"]]
                if keyword == "rle" { peers.append(["/usr/bin/dcmdrle"]) }
                if keyword == "jpeg-ls-lossless" { peers.append(["/usr/bin/dcmdjpls"]) }
                for peer in peers {
                    let out = work.appendingPathComponent("\(name).\(keyword).\(URL(fileURLWithPath: peer[0]).lastPathComponent).dcm")
                    let r = try ExternalTool.run(peer[0], Array(peer.dropFirst()) + [compressed.path, out.path])
                    #expect(r.status == 0, "\(peer[0]) cannot read \(name) in \(keyword): \(r.stderr)")
                    guard r.status == 0 else { continue }
                    #expect(maxDifference(try pydicomValues(out).values, source.values) == 0, "\(peer[0]) reads \(name) in \(keyword) differently")
                }
            }
        }
    }

    @Test("uncompressed syntaxes convert into each other byte-exactly, 1-bit frames packed end to end", .needs(.pydicom, .pixelTools))
    func nativeConversions() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-transcode-native")
        for name in ["ct-signed", "seg-1bit", "dose-32bit", "us-ybr422", "sc-rgb-planar", "ct-bigendian", "ct-deflated"] {
            let source = try pydicomValues(corpus.native(name))
            for keyword in ["explicit-little", "implicit-little", "explicit-big", "deflated"] {
                let out = work.appendingPathComponent("\(name).\(keyword).dcm")
                try Transcoder.transcode(path: corpus.native(name).path, to: try #require(PixelSyntax.named(keyword)), output: out.path)
                #expect(maxDifference(try pydicomValues(out).values, source.values) == 0, "\(name) in \(keyword)")
            }
        }
    }

    @Test("the streaming form writes the same file the path form writes", .needs(.pydicom, .pixelTools))
    func streamingMatchesFile() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-transcode-stream")
        let syntax = try #require(PixelSyntax.named("jpeg-ls-lossless"))
        let out = work.appendingPathComponent("single.dcm")
        try Transcoder.transcode(path: corpus.native("ct-signed").path, to: syntax, output: out.path)
        var streamed: [UInt8] = []
        try Transcoder.transcode(try FrameReader(path: corpus.native("ct-signed").path), to: syntax) { streamed += $0 }
        #expect(streamed == [UInt8](try Data(contentsOf: out)))
    }

    @Test("compressing a stored file verifies the pixels and refuses lossy sources", .needs(.pydicom, .pixelTools))
    func compressStored() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-compress")
        let out = work.appendingPathComponent("mr.dcm")
        let result = try Transcoder.compressLosslessly(path: corpus.native("mr-multiframe").path, to: try #require(PixelSyntax.named("jpeg-ls-lossless")), output: out.path)
        #expect(result.written && result.compressedBytes < result.originalBytes)
        #expect(throws: PixelError.self) {
            try Transcoder.compressLosslessly(path: corpus.directory.appendingPathComponent("mono8.jpeg-baseline.dcm").path,
                                              to: try #require(PixelSyntax.named("rle")), output: work.appendingPathComponent("x.dcm").path)
        }
    }
}

/// HTJ2K: Arca writes it with OpenJPH; OpenJPEG (through pydicom and pylibjpeg-openjpeg) is the reference reader.
@Suite(.serialized)
struct HTJ2KTests {
    @Test("native → HTJ2K lossless → native round trips exactly, and OpenJPEG reads the same values", .needs(.pydicom, .pixelTools, .openjpeg))
    func roundTrip() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-htj2k")
        let syntax = try #require(PixelSyntax.named("htj2k-lossless"))
        for name in ["ct-signed", "ct-12bit", "mr", "mr-multiframe", "sc-rgb", "us-palette", "mr-highbit15"] {
            let source = try sampleValues(try FrameReader(path: corpus.native(name).path))
            let out = work.appendingPathComponent("\(name).htj2k.dcm")
            try Transcoder.transcode(path: corpus.native(name).path, to: syntax, output: out.path)
            #expect(maxDifference(try sampleValues(try FrameReader(path: out.path)).values, source.values) == 0, "\(name): Arca's decode")
            #expect(maxDifference(try pydicomValues(out).values, source.values) == 0, "\(name): OpenJPEG's decode")
        }
    }
}

extension HTJ2KTests {
    @Test("lossy HTJ2K decodes with OpenJPH as OpenJPEG decodes it, close to the source", .needs(.pydicom, .pixelTools))
    func lossy() throws {
        let corpus = try PixelCorpus.load()
        for name in ["ct-12bit", "mr", "mono8"] {
            let reader = try FrameReader(path: corpus.native(name).path)
            let source = try reader.decodeFrame(0).normalized()
            let stream = try AlternativeDecoders.lossyHTJ2K(source)
            let ours = try FrameDecoder.decode(stream, format: reader.format, syntax: "1.2.840.10008.1.2.4.203")
            let openjpeg = try AlternativeDecoders.htj2kWithOpenJPEG(stream, format: reader.format)
            let n = source.format.rows * source.format.columns
            var vsOpenJPEG = 0, vsSource = 0.0
            for i in 0..<n {
                vsOpenJPEG = max(vsOpenJPEG, abs(ours.sample(i) - openjpeg.sample(i)))
                vsSource += Double(abs(ours.sample(i) - source.sample(i)))
            }
            let range = Double(1 << source.format.bitsStored)
            #expect(vsOpenJPEG <= 1, "\(name): OpenJPH and OpenJPEG differ by \(vsOpenJPEG)")
            #expect(vsSource / Double(n) < range * 0.01, "\(name): mean error \(vsSource / Double(n)) of \(range)")
        }
    }
}
