import DICOM
import Foundation
import Testing
import TestSupport

/// A file cut short (or damaged part-way): `readAsFarAsPossible` keeps every element before the cut, and the
/// dump lists exactly those, as `dcmdump +E` does, with the error and its offset after them.
@Suite struct TruncatedReadTests {
    /// A file with nested sequences of both length encodings and pixel data long enough to be streamed in
    /// pieces (600×600 bytes, past the parser's 256 KiB stream threshold).
    static func sample() throws -> [UInt8] {
        var file = SampleImage.secondaryCapture(rows: 600, columns: 600)
        var inner = DataSet()
        inner.setString("T-D0050", for: Tag(0x0008, 0x0100), vr: .SH)
        inner.setString("SRT", for: Tag(0x0008, 0x0102), vr: .SH)
        var middle = DataSet()
        middle.set(Element(tag: Tag(0x0008, 0x2218), vr: .SQ, value: .sequence(SequenceValue(
            items: [SequenceItem(dataSet: inner, hasUndefinedLength: false), SequenceItem(dataSet: DataSet())], hasUndefinedLength: false))))
        middle.setString("ABC", for: Tag(0x0008, 0x0104), vr: .LO)
        file.dataSet.setItems([middle, middle], for: Tag(0x0008, 0x1115))
        return try file.serialized()
    }

    /// Where each value ends, in file order (meta header, then dataset): the elements a cut at an offset keeps.
    struct ValueEnds: ParseEventHandler {
        var values: [(start: UInt64, end: UInt64, tag: DICOM.Tag)] = []
        mutating func handle(_ event: ParseEvent) throws {
            switch event {
            case .element(let h, let bytes): values.append((h.offset, h.offset + Self.headerLength(h) + UInt64(bytes.count), h.tag))
            case .valueStart(let h): values.append((h.offset, h.offset + Self.headerLength(h) + UInt64(h.length), h.tag))
            default: break
            }
        }
        /// Explicit VR little endian.
        static func headerLength(_ h: ElementHeader) -> UInt64 { h.vr.hasLongLength ? 12 : 8 }
    }

    static func valueEnds(_ bytes: [UInt8]) throws -> [(start: UInt64, end: UInt64, tag: DICOM.Tag)] {
        var parser = Part10Parser()
        var ends = ValueEnds()
        try parser.feed(bytes, to: &ends)
        try parser.finish(&ends)
        let dataSetStart = try #require(parser.dataSetOffset)
        var meta = DataSetParser(transferSyntax: .explicitVRLittleEndian, startOffset: 132)
        var metaEnds = ValueEnds()
        try meta.feed(Array(bytes[132..<Int(dataSetStart)]), to: &metaEnds)
        return metaEnds.values + ends.values
    }

    /// The dump's lines of elements with values (sequence, item and delimiter lines left out: a cut changes
    /// their item counts, not what they hold).
    static func valueLines(_ dump: String) -> [String] {
        dump.split(separator: "\n").map(String.init).filter { line in
            line.drop { $0 == " " }.hasPrefix("(") && !line.contains(" na ") && !line.contains(" SQ (Sequence")
        }
    }

    @Test func aCutFileDumpsEveryElementBeforeTheCut() throws {
        let bytes = try Self.sample()
        let values = try Self.valueEnds(bytes)
        let formatter = DumpFormatter()
        let fullLines = Self.valueLines(formatter.format(try DICOMFile.read(bytes)))
        #expect(fullLines.count == values.count)
        let pixels = values[values.count - 1]
        #expect(pixels.tag == .pixelData)

        // Inside every element's header and value, at its end, and at several points of the pixel data.
        var cuts: Set<UInt64> = [200, pixels.start + 12 + 1, pixels.start + 12 + 100_000, pixels.start + 12 + 300_000, UInt64(bytes.count - 1)]
        for v in values { cuts.formUnion([v.start + 2, v.start + 9, v.end - 1, v.end]) }
        let dir = try ExternalTool.temporaryDirectory("arca-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.dcm").path
        for cut in cuts.sorted() where cut < UInt64(bytes.count) {
            try FileWriter.write(Array(bytes[0..<Int(cut)]), to: path)
            let read = DICOMFile.readAsFarAsPossible(path: path)
            let kept = values.filter { $0.end <= cut }.count
            let lines = Self.valueLines(formatter.format(read))
            #expect(lines == Array(fullLines.prefix(kept)), "cut at \(cut): \(lines.count) of \(kept) elements")
            if let cutInside = values.first(where: { $0.start < cut && cut < $0.end }) {
                let error = try #require(read.error as? DICOMParseError, "cut at \(cut)")
                #expect(error.kind == .truncated, "cut at \(cut): \(error)")
                #expect(error.offset <= cut, "cut at \(cut): \(error)")
                // Once its tag is in, the error names it.
                if cutInside.tag == .pixelData && cut >= cutInside.start + 4 { #expect(error.tag == .pixelData, "cut at \(cut): \(error)") }
            }
        }
    }

    @Test func damageAfterSomeElementsKeepsThem() throws {
        var bytes = try Self.sample()
        let values = try Self.valueEnds(bytes)
        // The VR of Patient's Name made unknown: everything before it is kept, the error names its offset.
        let name = try #require(values.first { $0.tag == .patientName })
        bytes[Int(name.start) + 4] = 0x01
        let dir = try ExternalTool.temporaryDirectory("arca-damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("damaged.dcm").path
        try FileWriter.write(bytes, to: path)
        let read = DICOMFile.readAsFarAsPossible(path: path)
        let error = try #require(read.error as? DICOMParseError)
        #expect(error.kind == .unknownVR && error.offset == name.start)
        let kept = try #require(read.file).dataSet
        #expect(kept[.patientName] == nil && kept[.studyDescription] != nil)
    }

    @Test func aFileCutInsideItsMetaHeaderKeepsTheMetaElementsRead() throws {
        let bytes = try Self.sample()
        let values = try Self.valueEnds(bytes)
        let syntax = try #require(values.first { $0.tag == .transferSyntaxUID })
        let dir = try ExternalTool.temporaryDirectory("arca-cut-meta")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.dcm").path
        try FileWriter.write(Array(bytes[0..<Int(syntax.end + 3)]), to: path)
        let read = DICOMFile.readAsFarAsPossible(path: path)
        #expect(read.file == nil && read.error is DICOMParseError)
        #expect(read.meta.uid(.transferSyntaxUID) == TransferSyntax.explicitVRLittleEndian.uid)
        #expect(DumpFormatter().format(read).contains("(0002,0010) UI =ExplicitVRLittleEndian"))
    }
}
