@testable import ArcaServer
import DICOM
import Foundation
import Testing
import TestSupport

/// Frames for `application/octet-stream` are in the layout the instance's metadata describes (PS3.18 8.7.3).
@Suite struct PixelPipelineTests {
    static func write(_ ds: DataSet, in dir: URL, _ name: String) throws -> String {
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5",
                                                 transferSyntax: .implicitVRLittleEndian),
                             dataSet: ds, transferSyntax: .implicitVRLittleEndian)
        let path = dir.appendingPathComponent(name).path
        try FileWriter.write(try file.serialized(), to: path)
        return path
    }

    static func header(rows: Int, columns: Int, samples: Int, bits: Int, photometric: String) -> DataSet {
        var ds = DataSet()
        ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
        ds.setString("1.2.3.4.5", for: .sopInstanceUID, vr: .UI)
        ds.setUInt16(UInt16(rows), for: .rows)
        ds.setUInt16(UInt16(columns), for: .columns)
        ds.setUInt16(UInt16(samples), for: .samplesPerPixel)
        ds.setUInt16(UInt16(bits), for: .bitsAllocated)
        ds.setUInt16(UInt16(bits), for: .bitsStored)
        ds.setUInt16(UInt16(bits - 1), for: .highBit)
        ds.setUInt16(0, for: .pixelRepresentation)
        ds.setString(photometric, for: .photometricInterpretation, vr: .CS)
        return ds
    }

    /// Stored in Implicit VR (which the web does not use, so frames are "decoded"): a 1-bit frame stays packed
    /// (8 bytes for 8 × 8, not 64), an RGB frame with Planar Configuration 1 stays planar.
    @Test func nativeFramesKeepTheirStoredLayout() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-native-frames")
        defer { try? FileManager.default.removeItem(at: dir) }
        var bitmap = Self.header(rows: 8, columns: 8, samples: 1, bits: 1, photometric: "MONOCHROME2")
        let packed: [UInt8] = [0x01, 0x03, 0x07, 0x0F, 0x1F, 0x3F, 0x7F, 0xFF]
        bitmap.set(Element(tag: .pixelData, vr: .OW, bytes: packed))
        var planar = Self.header(rows: 1, columns: 2, samples: 3, bits: 8, photometric: "RGB")
        planar.setUInt16(1, for: .planarConfiguration)
        let planes: [UInt8] = [10, 11, 20, 21, 30, 31]  // R R G G B B
        planar.set(Element(tag: .pixelData, vr: .OB, bytes: planes))
        let pipeline = PixelPipeline()
        #expect(try pipeline.nativeFrame(path: Self.write(bitmap, in: dir, "bitmap.dcm"), frame: 0) == packed)
        #expect(try pipeline.nativeFrame(path: Self.write(planar, in: dir, "planar.dcm"), frame: 0) == planes)
    }
}
