import DICOM
import Foundation
import Pixels
import Testing
import TestSupport

/// Rendering against DCMTK's dcmj2pnm on the same window.
@Suite(.serialized)
struct RenderTests {
    /// name, dcmj2pnm options choosing the same VOI, our window, frame (from 0), tolerance.
    static let cases: [(String, [String], Window?, Int, Int)] = [
        ("ct-signed", ["+Wi", "1"], nil, 0, 1),                               // CT: signed, rescaled, the file's window
        ("ct-signed", ["+Ww", "-600", "1500"], Window(center: -600, width: 1500), 0, 1),
        ("ct-12bit", ["+Wi", "1"], nil, 0, 1),
        ("mr", ["+Wm"], nil, 0, 1),                                          // MR: no window, min/max
        ("cr-mono1", ["+Wi", "1"], nil, 0, 1),                               // CR: MONOCHROME1 inverted
        ("mr-multiframe", ["+Wm", "+F", "3"], nil, 2, 1),
        ("us-palette", [], nil, 0, 1),                                       // US: palette colour
        ("sc-rgb", [], nil, 0, 1), ("sc-rgb-planar", [], nil, 0, 1),           // RGB secondary capture
        // YBR: DCMTK centres chroma on 127.5 and truncates (dcmimage's YBR conversion); the standard's
        // equations (PS3.3 C.7.6.3.1.2, JFIF) centre on 128 and Arca rounds: up to 2 apart.
        ("us-ybr-multiframe", ["+F", "2"], nil, 1, 2), ("us-ybr422", [], nil, 0, 2),
        ("ct-signed.jls", ["+Wi", "1"], nil, 0, 1), ("ct-12bit.jpeg-extended", ["+Wi", "1"], nil, 0, 1),
        ("sc-rgb.jpeg-baseline", [], nil, 0, 1),
        // Modality LUT Sequence, VOI LUT Sequence, SIGMOID, INVERSE Presentation LUT Shape.
        ("ct-modality-lut", ["+Wi", "1"], nil, 0, 1), ("mr-voi-lut", ["+Wl", "1"], nil, 0, 1),
        ("cr-sigmoid", ["+Wi", "1"], nil, 0, 1), ("mr-inverse", ["+Wi", "1"], nil, 0, 1),
    ]

    @Test("rendered frames match dcmj2pnm within one grey level (two for YBR)", .needs(.pydicom, .pixelTools))
    func matchesDCMTK() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-render")
        for (name, options, window, frame, tolerance) in Self.cases {
            var file = corpus.directory.appendingPathComponent(name + ".dcm")
            if name.contains(".") {
                // dcmj2pnm 3.6.7 renders compressed files only when built with their codecs: give it native.
                let native = work.appendingPathComponent(name + ".native.dcm")
                try Transcoder.transcode(path: file.path, to: try #require(PixelSyntax.named("explicit-little")), output: native.path)
                file = native
            }
            let pnm = work.appendingPathComponent(name + ".pnm")
            let r = try ExternalTool.run("/usr/bin/dcmj2pnm", options + ["+op", file.path, pnm.path])
            try #require(r.status == 0, "dcmj2pnm \(name): \(r.stderr)")
            let theirs = try readPNM(pnm)
            let ours = try Renderer.render(try FrameReader(path: corpus.directory.appendingPathComponent(name + ".dcm").path), frame: frame, window: window)
            #expect(ours.width == theirs.width && ours.height == theirs.height && ours.components == theirs.components, "\(name): size")
            guard ours.pixels.count == theirs.pixels.count else { continue }
            var worst = 0
            for i in ours.pixels.indices { worst = max(worst, abs(Int(ours.pixels[i]) - Int(theirs.pixels[i]))) }
            #expect(worst <= tolerance, "\(name): differs from dcmj2pnm by \(worst) grey levels")
        }
    }

    @Test("VOI functions follow PS3.3 C.11.2.1.2", arguments: [
        (VOIFunction.linear, 40.0, 400.0, -200.0, UInt8(0)), (.linear, 40, 400, 300, 255), (.linear, 40, 400, 40, 128),
        (.linearExact, 40, 400, 40, 128), (.linearExact, 40, 400, -160, 0), (.sigmoid, 40, 400, 40, 128),
    ])
    func voiFunctions(function: VOIFunction, center: Double, width: Double, value: Double, expected: UInt8) throws {
        var ds = DataSet()
        ds.setUInt16(1, for: .rows)
        ds.setUInt16(1, for: .columns)
        ds.setUInt16(16, for: .bitsAllocated)
        ds.setUInt16(16, for: .bitsStored)
        ds.setUInt16(15, for: .highBit)
        ds.setUInt16(1, for: .pixelRepresentation)
        ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
        let v = Int16(value)
        ds.set(Element(tag: .pixelData, vr: .OW, bytes: [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]))
        let reader = try FrameReader(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let image = try Renderer.render(reader, window: Window(center: center, width: width, function: function))
        #expect(abs(Int(image.pixels[0]) - Int(expected)) <= 1)
    }

    @Test("a thumbnail fits the viewport, keeps the aspect ratio, and is a valid PNG and JPEG", .needs(.pydicom, .pixelTools))
    func thumbnail() throws {
        let corpus = try PixelCorpus.load()
        let reader = try FrameReader(path: corpus.native("cr-mono1").path)  // 200 × 240
        let image = try Renderer.render(reader, viewport: Viewport(width: 64, height: 64))
        #expect(image.width == 53 && image.height == 64)
        let png = try image.png()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let jpeg = try image.jpeg(quality: 80)
        #expect(jpeg.starts(with: [0xFF, 0xD8]))
    }
}
