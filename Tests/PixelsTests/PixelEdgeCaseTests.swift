import DICOM
import Foundation
import Pixels
import Testing
import TestSupport

/// Pixel layouts that a review of the pipeline found read or rendered wrongly, each built in memory.
@Suite struct PixelEdgeCaseTests {
    static func image(rows: Int, columns: Int, bitsAllocated: Int, bitsStored: Int, signed: Bool = false, frames: Int? = nil,
                      pixels: [UInt8], vr: VR = .OW) -> DataSet {
        var ds = DataSet()
        ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
        ds.setString("1.2.3.4.5", for: .sopInstanceUID, vr: .UI)
        ds.setUInt16(UInt16(rows), for: .rows)
        ds.setUInt16(UInt16(columns), for: .columns)
        ds.setUInt16(1, for: .samplesPerPixel)
        ds.setUInt16(UInt16(bitsAllocated), for: .bitsAllocated)
        ds.setUInt16(UInt16(bitsStored), for: .bitsStored)
        ds.setUInt16(UInt16(bitsStored - 1), for: .highBit)
        ds.setUInt16(signed ? 1 : 0, for: .pixelRepresentation)
        ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
        if let frames { ds.setString(String(frames), for: .numberOfFrames, vr: .IS) }
        ds.set(Element(tag: .pixelData, vr: vr, bytes: pixels))
        return ds
    }

    /// Big endian OW words count from the value's first byte (PS3.5 7.3): the second frame of 8-bit samples,
    /// 15 bytes a frame, starts inside a word. Swapped from its own first byte, every pair came out wrong.
    @Test func bigEndianEightBitFramesOfOddLength() throws {
        let values = (0..<30).map { UInt8($0 * 3) }
        let ds = Self.image(rows: 3, columns: 5, bitsAllocated: 8, bitsStored: 8, frames: 2, pixels: values)
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5",
                                                 transferSyntax: .explicitVRBigEndian),
                             dataSet: ds, transferSyntax: .explicitVRBigEndian)
        let dir = try ExternalTool.temporaryDirectory("arca-be-frames")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("be.dcm").path
        try FileWriter.write(try file.serialized(), to: path)
        let reader = try FrameReader(path: path)
        #expect(try reader.frameData(0) == Array(values[0..<15]))
        #expect(try reader.frameData(1) == Array(values[15..<30]))
        #expect(try reader.decodeFrame(1).bytes == Array(values[15..<30]))
    }

    /// 32 bits allocated, 16 stored: read as 16-bit words, the second pixel was the first sample's high half.
    @Test func thirtyTwoBitsAllocatedSixteenStoredRender() throws {
        var bytes: [UInt8] = []
        for v: UInt32 in [0, 1000, 500, 250] { bytes += withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let ds = Self.image(rows: 1, columns: 4, bitsAllocated: 32, bitsStored: 16, pixels: bytes)
        let reader = try FrameReader(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let image = try Renderer.render(reader, window: Window(center: 500, width: 1000, function: .linearExact))
        #expect(image.pixels == [0, 255, 128, 64])
    }

    /// A VOI LUT after a rescale to negative values (CT in Hounsfield units from unsigned stored values): the
    /// descriptor's first mapped value is SS (PS3.3 C.11.2.1.1). Read as US, −1024 (0xFC00) put every value below
    /// the table: one grey level.
    @Test func voiLUTFirstValueIsSignedAfterANegativeRescale() throws {
        var ds = Self.image(rows: 1, columns: 3, bitsAllocated: 16, bitsStored: 12,
                            pixels: [0x00, 0x00, 0x00, 0x08, 0xFF, 0x0F])  // 0, 2048, 4095
        ds.setString("-1024", for: Tag(0x0028, 0x1052), vr: .DS)  // Rescale Intercept
        ds.setString("1", for: Tag(0x0028, 0x1053), vr: .DS)      // Rescale Slope
        var lut = DataSet()
        // 4096 entries from −1024 (0xFC00 as US), 12 bits: a ramp.
        lut.set(Element(tag: Tag(0x0028, 0x3002), vr: .US, bytes: [0x00, 0x10, 0x00, 0xFC, 0x0C, 0x00]))
        lut.set(Element(tag: Tag(0x0028, 0x3006), vr: .OW, bytes: (0..<4096).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        ds.setItems([lut], for: Tag(0x0028, 0x3010))
        let image = try Renderer.render(try FrameReader(dataSet: ds, transferSyntax: .explicitVRLittleEndian))
        #expect(image.pixels.count == 3)
        #expect(image.pixels[0] == 0 && image.pixels[2] == 255 && (127...128).contains(image.pixels[1]), "\(image.pixels)")
    }

    /// An 8×8 grey ramp, baseline JPEG (quality 90, made with Pillow): Arca writes no lossy syntax itself.
    static let baselineJPEG: [UInt8] = {
        let hex = [
        "ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304030304050805050404050a070706080c0a0c0c0b",
        "0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffc0000b080008000801011100ffc4001f000001050101",
        "0101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221314106",
        "13516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455",
        "565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba",
        "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f008bc35ff04dbfb9ff",
        "0012bffc875fffd9",
        ].joined()
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let next = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<next], radix: 16) ?? 0)
            i = next
        }
        return bytes
    }()

    /// Decompressing a lossy source says so (2110 = 01) and names the method (2114, Type 1C with it).
    @Test func decompressingALossySourceNamesTheMethod() throws {
        var ds = Self.image(rows: 8, columns: 8, bitsAllocated: 8, bitsStored: 8, pixels: [])
        ds.remove(.pixelData)
        let syntax = try #require(TransferSyntax(uid: "1.2.840.10008.1.2.4.50"))
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5", transferSyntax: syntax),
                             dataSet: ds, transferSyntax: syntax)
        // Pixel Data, encapsulated: an empty Basic Offset Table, one fragment, the sequence delimiter.
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let jpeg = Self.baselineJPEG
        let pixelData: [UInt8] = [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x42, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
            + [0xFE, 0xFF, 0x00, 0xE0] + le32(0)
            + [0xFE, 0xFF, 0x00, 0xE0] + le32(jpeg.count) + jpeg
            + [0xFE, 0xFF, 0xDD, 0xE0] + le32(0)
        let dir = try ExternalTool.temporaryDirectory("arca-lossy-method")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("baseline.dcm").path
        try FileWriter.write(try file.serialized() + pixelData, to: path)
        var native: [UInt8] = []
        _ = try Transcoder.transcode(try FrameReader(path: path), to: try #require(PixelSyntax.named("explicit-little"))) { native += $0 }
        let result = try DICOMFile.read(native)
        #expect(result.dataSet.string(Tag(0x0028, 0x2110)) == "01")
        #expect(result.dataSet.string(Tag(0x0028, 0x2114)) == "ISO_10918_1")
        #expect(result.dataSet[.pixelData]?.bytes.count == 64)
    }
}
