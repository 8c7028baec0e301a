import DICOM
import Foundation
import Pixels
import Testing
import TestSupport

/// Bad input gives a `PixelError` naming the problem: never a crash, never an allocation the input sized.
struct HostileInputTests {
    static func image(rows: Int = 8, columns: Int = 8, bits: Int = 16, frames: Int? = nil, photometric: String = "MONOCHROME2",
                      samples: Int = 1, pixels: [UInt8]? = nil) -> DataSet {
        var ds = DataSet()
        ds.setUInt16(UInt16(samples), for: .samplesPerPixel)
        ds.setString(photometric, for: .photometricInterpretation, vr: .CS)
        if let frames { ds.setString(String(frames), for: .numberOfFrames, vr: .IS) }
        ds.setUInt16(UInt16(truncatingIfNeeded: rows), for: .rows)
        ds.setUInt16(UInt16(truncatingIfNeeded: columns), for: .columns)
        ds.setUInt16(UInt16(bits), for: .bitsAllocated)
        ds.setUInt16(UInt16(bits), for: .bitsStored)
        ds.setUInt16(UInt16(max(0, bits - 1)), for: .highBit)
        ds.setUInt16(0, for: .pixelRepresentation)
        ds.set(Element(tag: .pixelData, vr: .OW, bytes: pixels ?? [UInt8](repeating: 7, count: rows * columns * bits / 8)))
        return ds
    }

    static func encapsulated(_ ds: DataSet, fragments: [[UInt8]], offsetTable: [UInt8] = []) -> DataSet {
        var d = ds
        d.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(offsetTable: offsetTable, fragments: fragments))))
        return d
    }

    static func decodeAll(_ ds: DataSet, syntax: String) throws {
        let reader = try FrameReader(dataSet: ds, transferSyntax: try #require(TransferSyntax(uid: syntax)))
        for i in 0..<reader.numberOfFrames { _ = try reader.decodeFrame(i) }
    }

    @Test("absurd or inconsistent attributes are refused before any pixel is read")
    func attributes() {
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(bits: 12), syntax: "1.2.840.10008.1.2.1") }          // Bits Allocated 12
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(bits: 64), syntax: "1.2.840.10008.1.2.1") }
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(rows: 0), syntax: "1.2.840.10008.1.2.1") }
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(frames: 2_000_000_000), syntax: "1.2.840.10008.1.2.1") }
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(photometric: "RGB"), syntax: "1.2.840.10008.1.2.1") }
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(photometric: "HSV"), syntax: "1.2.840.10008.1.2.1") }
        // 65535 × 65535 × 3 × 32 bits: 51 GB a frame, over the limit.
        var huge = Self.image(rows: 65535, columns: 65535, bits: 32, photometric: "RGB", samples: 3, pixels: [0, 0])
        huge.setUInt16(0, for: .planarConfiguration)
        #expect(throws: PixelError.self) { try Self.decodeAll(huge, syntax: "1.2.840.10008.1.2.1") }
    }

    /// Image Pixel attributes are US, but a file names its own VRs: SV and IS can hold Int.min, which the
    /// defaults derived from them (High Bit from Bits Stored) used to subtract from.
    @Test("attribute values under another VR, out of the US range, are refused")
    func attributesUnderAnotherVR() {
        let intMin: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x80]
        var storedSV = Self.image()
        _ = storedSV.remove(.highBit)
        storedSV.set(Element(tag: .bitsStored, vr: .SV, bytes: intMin))
        #expect(throws: PixelError.self) { try Self.decodeAll(storedSV, syntax: "1.2.840.10008.1.2.1") }
        var allocatedIS = Self.image()
        _ = allocatedIS.remove(.highBit)
        _ = allocatedIS.remove(.bitsStored)
        allocatedIS.setString("-9223372036854775808", for: .bitsAllocated, vr: .IS)
        #expect(throws: PixelError.self) { try Self.decodeAll(allocatedIS, syntax: "1.2.840.10008.1.2.1") }
        var rowsSV = Self.image()
        rowsSV.set(Element(tag: .rows, vr: .SV, bytes: [0, 0, 1, 0, 0, 0, 0, 0]))  // 65,536
        #expect(throws: PixelError.self) { try Self.decodeAll(rowsSV, syntax: "1.2.840.10008.1.2.1") }
    }

    /// A Modality LUT whose first mapped value is Int.min (an SV descriptor) is not a LUT: the image renders
    /// without it instead of trapping on the subtraction in the table's lookup.
    @Test("a LUT descriptor out of the US/SS range is ignored")
    func lutDescriptorOutOfRange() throws {
        var ds = Self.image(rows: 2, columns: 2, bits: 8, pixels: [0, 50, 100, 200])
        var item = DataSet()
        var descriptor: [UInt8] = []
        for v in [Int64(256), .min, 8] { withUnsafeBytes(of: v.littleEndian) { descriptor += $0 } }
        item.set(Element(tag: Tag(0x0028, 0x3002), vr: .SV, bytes: descriptor))
        item.set(Element(tag: Tag(0x0028, 0x3006), vr: .OW, bytes: [UInt8](repeating: 9, count: 512)))
        ds.setItems([item], for: Tag(0x0028, 0x3000))
        let reader = try FrameReader(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let image = try Renderer.render(reader, window: Window(center: 100, width: 200))
        #expect(image.pixels.count == 4)
    }

    /// A viewport of one pixel over a large image: one block of k × k samples a pixel, summed past UInt32 when
    /// k > 4,104 and the image is white (`/rendered?viewport=1,1`).
    @Test("a large image shrunk to one pixel")
    func largeImageToOnePixel() throws {
        let side = 4200
        let ds = Self.image(rows: side, columns: side, bits: 8, pixels: [UInt8](repeating: 255, count: side * side))
        let reader = try FrameReader(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let image = try Renderer.render(reader, window: Window(center: 0, width: 1), viewport: Viewport(width: 1, height: 1))
        #expect(image.width == 1 && image.height == 1 && image.pixels == [255])
    }

    @Test("a frame shorter than declared is an error naming the frame")
    func shortNative() {
        #expect(throws: PixelError.self) { try Self.decodeAll(Self.image(frames: 3, pixels: [UInt8](repeating: 1, count: 200)), syntax: "1.2.840.10008.1.2.1") }
    }

    @Test("corrupt codestreams in every codec are errors", arguments: [
        "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
    ])
    func corruptCodestreams(syntax: String) {
        var rng = SplitMix64(seed: 42)
        let inputs: [[UInt8]] = [
            [], [0xFF, 0xD8], [0xFF, 0xD8, 0xFF, 0xC3, 0xFF, 0xFF], [0xFF, 0x4F, 0xFF, 0x51, 0, 0],
            [UInt8](repeating: 0xFF, count: 100), (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
            [0xFF, 0xD8, 0xFF, 0xF7, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA],
            [1, 0, 0, 0, 64, 0, 0, 0] + [UInt8](repeating: 0, count: 56) + [0x80, 0x7F, 0x01],
            // Three 1-bit Huffman codes (over-subscribed): found by Fuzz/run-pixels.sh, once a trap.
            [0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x16, 0x00, 3] + [UInt8](repeating: 0, count: 15) + [1, 2, 3, 0xFF, 0xD9],
        ]
        for input in inputs {
            #expect(throws: PixelError.self) { try Self.decodeAll(Self.encapsulated(Self.image(), fragments: [input]), syntax: syntax) }
        }
    }

    @Test("an offset table that points nowhere falls back or fails cleanly")
    func badOffsetTable() throws {
        let ds = Self.encapsulated(Self.image(frames: 2), fragments: [[1, 2], [3, 4], [5, 6]], offsetTable: [0, 0, 0, 0, 0xFF, 0xFF, 0, 0])
        #expect(throws: PixelError.self) { try Self.decodeAll(ds, syntax: "1.2.840.10008.1.2.5") }
    }

    @Test("a truncated file stops at the missing frame, with a message that names it")
    func truncatedFile() throws {
        let work = try ExternalTool.temporaryDirectory("arca-truncated")
        var file = DICOMFile(dataSet: Self.image(frames: 4, pixels: [UInt8](repeating: 3, count: 4 * 128)))
        file.dataSet.setString("1.2.3", for: .sopInstanceUID, vr: .UI)
        var bytes = try file.serialized()
        bytes.removeLast(200)
        let path = work.appendingPathComponent("cut.dcm").path
        try FileWriter.write(bytes, to: path)
        let reader = try FrameReader(path: path)
        _ = try reader.decodeFrame(0)
        _ = try reader.decodeFrame(1)
        #expect(throws: PixelError.self) { try reader.decodeFrame(3) }
        #expect(throws: PixelError.self) { try reader.decodeFrame(4) }
    }
}

/// Which syntax a transfer converts to.
struct SyntaxChoiceTests {
    @Test("the stored syntax when accepted, else the peer's first lossless one Arca writes")
    func target() {
        let jls = "1.2.840.10008.1.2.4.80", explicit = "1.2.840.10008.1.2.1", implicit = "1.2.840.10008.1.2", baseline = "1.2.840.10008.1.2.4.50"
        #expect(PixelSyntax.target(stored: jls, accepted: [implicit, jls])?.uid == jls)
        #expect(PixelSyntax.target(stored: jls, accepted: [baseline, implicit, explicit])?.uid == implicit)
        #expect(PixelSyntax.target(stored: explicit, accepted: [baseline]) == nil)
        #expect(PixelSyntax.target(stored: "1.2.840.10008.1.2.4.70", accepted: ["1.2.840.10008.1.2.4.90"])?.keyword == "j2k-lossless")
        #expect(PixelSyntax.target(stored: "9.9", accepted: [explicit]) == nil)
    }
}

/// Inputs the pixel fuzzer once crashed on (Fuzz/regressions/): each is now an error or an image.
struct FuzzRegressionTests {
    @Test("every input in Fuzz/regressions decodes and renders or throws a PixelError")
    func replay() throws {
        let dir = ExternalTool.repositoryRoot.appendingPathComponent("Fuzz/regressions")
        // The DICOM files at the top; the other fuzz targets keep theirs in subfolders (multipart/, …).
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "dcm" }
        #expect(!files.isEmpty)
        for url in files {
            let bytes = [UInt8](try Data(contentsOf: url))
            guard let file = try? DICOMFile.read(bytes) else { continue }
            do {
                let reader = try FrameReader(dataSet: file.dataSet, meta: file.meta, transferSyntax: file.transferSyntax,
                                             limits: PixelLimits(maxFrameBytes: 1 << 26, maxFrames: 1 << 12))
                _ = try Renderer.render(reader, viewport: Viewport(width: 32, height: 32)).png()
            } catch is PixelError {
            }
        }
    }
}
