import DICOM
import Foundation
import Pixels
import Testing
import TestSupport

/// Which fragments make a frame: Extended Offset Table, Basic Offset Table, one per frame, codestream starts.
struct FrameReaderTests {
    /// Three 4×4 frames, RLE-encoded, each split into two fragments.
    static func frames() throws -> (source: [DecodedFrame], fragments: [[UInt8]], starts: [UInt64]) {
        let format = PixelFormat(rows: 4, columns: 4, samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8, highBit: 7,
                                 isSigned: false, photometric: .monochrome2)
        var source: [DecodedFrame] = [], fragments: [[UInt8]] = [], starts: [UInt64] = []
        var offset: UInt64 = 0
        for k in 0..<3 {
            let frame = DecodedFrame(format: format, bytes: (0..<16).map { UInt8($0 * (k + 1)) })
            source.append(frame)
            let encoded = try FrameEncoder.encode(frame, to: try #require(PixelSyntax.named("rle")))
            let half = encoded.count / 2 & ~1
            starts.append(offset)
            for part in [Array(encoded[0..<half]), Array(encoded[half...])] {
                fragments.append(part)
                offset += 8 + UInt64(part.count)
            }
        }
        return (source, fragments, starts)
    }

    static func dataSet(_ fragments: [[UInt8]], offsetTable: [UInt8] = [], extended: [UInt64]? = nil) -> DataSet {
        var ds = DataSet()
        ds.setUInt16(1, for: .samplesPerPixel)
        ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
        ds.setString("3", for: .numberOfFrames, vr: .IS)
        ds.setUInt16(4, for: .rows)
        ds.setUInt16(4, for: .columns)
        ds.setUInt16(8, for: .bitsAllocated)
        ds.setUInt16(8, for: .bitsStored)
        ds.setUInt16(7, for: .highBit)
        ds.setUInt16(0, for: .pixelRepresentation)
        if let extended {
            ds.set(Element(tag: Tag(0x7FE0, 0x0001), vr: .OV, bytes: extended.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }))
        }
        ds.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(offsetTable: offsetTable, fragments: fragments))))
        return ds
    }

    static let rle = TransferSyntax(uid: "1.2.840.10008.1.2.5")

    @Test("frames spanning two fragments are found through the Basic Offset Table")
    func basicOffsetTable() throws {
        let (source, fragments, starts) = try Self.frames()
        let table = starts.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let reader = try FrameReader(dataSet: Self.dataSet(fragments, offsetTable: table), transferSyntax: try #require(Self.rle))
        for k in 0..<3 { #expect(try reader.decodeFrame(k).bytes == source[k].bytes) }
    }

    @Test("and through the Extended Offset Table when the Basic one is empty")
    func extendedOffsetTable() throws {
        let (source, fragments, starts) = try Self.frames()
        let reader = try FrameReader(dataSet: Self.dataSet(fragments, extended: starts), transferSyntax: try #require(Self.rle))
        for k in 0..<3 { #expect(try reader.decodeFrame(k).bytes == source[k].bytes) }
    }

    @Test("without a table, RLE fragments (no codestream marker) cannot be assigned: a clear error")
    func noTable() throws {
        let (_, fragments, _) = try Self.frames()
        #expect(throws: PixelError.self) { try FrameReader(dataSet: Self.dataSet(fragments), transferSyntax: try #require(Self.rle)) }
    }

    @Test("a file's frames are read one at a time, through the reserved and filled Basic Offset Table", .needs(.pydicom, .pixelTools))
    func transcodedFileHasATable() throws {
        let corpus = try PixelCorpus.load()
        let work = try ExternalTool.temporaryDirectory("arca-frames")
        let out = work.appendingPathComponent("mf.dcm")
        try Transcoder.transcode(path: corpus.native("mr-multiframe").path, to: try #require(PixelSyntax.named("rle")), output: out.path)
        let file = try DICOMFile.read(path: out.path)
        guard case .fragments(let px)? = file.dataSet[.pixelData]?.value else { Issue.record("not encapsulated"); return }
        #expect(px.offsetTable.count == 4 * 5 && px.fragments.count == 5)
        let reader = try FrameReader(path: out.path)
        let native = try FrameReader(path: corpus.native("mr-multiframe").path)
        for k in [4, 0, 2] { #expect(try reader.decodeFrame(k).normalized().bytes == native.decodeFrame(k).normalized().bytes) }
    }
}
