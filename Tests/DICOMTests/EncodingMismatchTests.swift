import DICOM
import Foundation
import Testing
import TestSupport

/// Files whose meta header names one uncompressed little-endian syntax while the dataset is written in the
/// other: read in the syntax the bytes are in, with the mismatch reported, the bytes untouched.
@Suite struct EncodingMismatchTests {
    @Test(arguments: 0..<MismatchedFile.cases.count)
    func readInTheSyntaxTheBytesAreIn(_ n: Int) throws {
        let (declared, written) = MismatchedFile.cases[n]
        let (bytes, expected) = try MismatchedFile.make(declared: declared, written: written)
        let dir = try ExternalTool.temporaryDirectory("arca-mismatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("f.dcm").path
        try FileWriter.write(bytes, to: path)

        var reads = [try DICOMFile.read(bytes), try DICOMFile.read(path: path)]
        // Fed a byte at a time: the check waits for the dataset's first bytes.
        var parser = Part10Parser()
        var builder = DataSetBuilder()
        for b in bytes { try parser.feed([b], to: &builder) }
        try parser.finish(&builder)
        #expect(builder.transferSyntax == written)
        #expect(parser.encodingMismatch?.detected == written)
        reads.append(DICOMFile(meta: parser.meta, dataSet: builder.dataSet, transferSyntax: try #require(parser.transferSyntax),
                               encodingMismatch: parser.encodingMismatch))
        for file in reads {
            #expect(file.transferSyntax == written)
            #expect(file.encodingMismatch == EncodingMismatch(declared: declared, detected: written, offset: try #require(file.encodingMismatch?.offset)))
            #expect(file.dataSet == expected)
            // The meta header is kept as it is: it still names the declared syntax.
            #expect(file.meta.uid(.transferSyntaxUID) == declared.uid)
        }
        let header = try DICOMFile.read(path: path, options: .headerOnly)
        #expect(header.dataSet.string(.patientName) == "DOE^JOHN" && header.dataSet[.pixelData] == nil)
        #expect(header.encodingMismatch?.detected == written)

        let location = try DICOMFile.locateDataSet(path: path)
        #expect(location.transferSyntax == written && location.encodingMismatch?.declared == declared)
        #expect(location.offset == location.encodingMismatch?.offset)
        // The dataset's bytes from there on are the ones written in `written`: what a sender streams as they are.
        let dataSetBytes = Array(bytes[Int(location.offset)...])
        var check = DataSetParser(transferSyntax: written)
        var checked = DataSetBuilder()
        try check.feed(dataSetBytes, to: &checked)
        try check.finish(&checked)
        #expect(checked.dataSet == expected)
        #expect(try FileReader.readAll(path: path) == bytes)

        let partial = DICOMFile.readAsFarAsPossible(path: path)
        #expect(partial.error == nil && partial.file?.encodingMismatch?.detected == written)
    }

    @Test(.needs(.pydicom)) func filesThatAgreeAreNotFlagged() throws {
        for syntax in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian] {
            var file = SampleImage.secondaryCapture(rows: 8, columns: 8)
            file.transferSyntax = syntax
            file.meta.setString(syntax.uid, for: .transferSyntaxUID, vr: .UI)
            let read = try DICOMFile.read(try file.serialized())
            #expect(read.encodingMismatch == nil, "\(syntax)")
            #expect(read.transferSyntax == syntax)
        }
        let corpus = try Corpus.load()
        for url in corpus.files {
            let file = try DICOMFile.read(path: url.path, options: .headerOnly)
            #expect(file.encodingMismatch == nil, "\(url.lastPathComponent)")
        }
    }

    /// Explicit VR LE element bytes with a 2-byte length field.
    static func short(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
        [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)] + Array(vr.utf8)
            + [UInt8(value.count & 0xFF), UInt8(value.count >> 8)] + value
    }

    /// Implicit VR LE element bytes.
    static func implicit(_ group: UInt16, _ element: UInt16, length: UInt32) -> [UInt8] {
        [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8),
         UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
    }

    @Test func detectionReadsOnlyWhatIsThere() throws {
        let explicit = Self.short(0x0008, 0x0005, "CS", Array("ISO_IR 100".utf8))
        let implicit = Self.implicit(0x0008, 0x0005, length: 10) + Array("ISO_IR 100".utf8)
        func detect(_ declared: TransferSyntax, _ bytes: [UInt8]) -> TransferSyntax? {
            let file = try? DICOMFile.read(Self.header(declared) + bytes)
            return file?.encodingMismatch?.detected
        }
        #expect(detect(.explicitVRLittleEndian, implicit) == .implicitVRLittleEndian)
        #expect(detect(.implicitVRLittleEndian, explicit) == .explicitVRLittleEndian)
        #expect(detect(.explicitVRLittleEndian, explicit) == nil)
        #expect(detect(.implicitVRLittleEndian, implicit) == nil)
        // Fewer bytes than a header: nothing to tell from, and no crash; the read fails as truncated.
        for count in 0..<8 {
            for declared in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian] {
                let bytes = Self.header(declared) + Array(implicit.prefix(count))
                if count == 0 {
                    #expect(try DICOMFile.read(bytes).dataSet.isEmpty)
                } else {
                    #expect(throws: DICOMParseError.self) { try DICOMFile.read(bytes) }
                }
            }
        }
        // Two capitals that are no VR: an explicit writer's unknown VR, not implicit VR (the error stays).
        let madeUp = Self.short(0x0008, 0x0005, "QQ", Array("ISO_IR 100".utf8))
        #expect(throws: DICOMParseError.self) { try DICOMFile.read(Self.header(.explicitVRLittleEndian) + madeUp) }
        // An implicit length whose low bytes read "OB" (0x424F), on a tag the dictionary gives another VR
        // (Patient's Name, PN): still implicit.
        let namedOB = Self.implicit(0x0010, 0x0010, length: 0x424F) + [UInt8](repeating: 0x41, count: 0x424F)
        let read = try DICOMFile.read(Self.header(.implicitVRLittleEndian) + namedOB)
        #expect(read.encodingMismatch == nil && read.dataSet[.patientName]?.bytes.count == 0x424F)
        // The same on a tag whose VR is OB (Encapsulated Document) but with the reserved bytes of an explicit
        // 4-byte length not zero: still implicit.
        let document = Self.implicit(0x0042, 0x0011, length: 0x0001_424F) + [UInt8](repeating: 0, count: 0x0001_424F)
        let doc = try DICOMFile.read(Self.header(.implicitVRLittleEndian) + document)
        #expect(doc.encodingMismatch == nil && doc.dataSet[Tag(0x0042, 0x0011)]?.bytes.count == 0x0001_424F)
        // An item tag first: no VR in either syntax, nothing detected.
        #expect(detect(.implicitVRLittleEndian, Self.implicit(0xFFFE, 0xE000, length: 0)) == nil)
    }

    /// Preamble, `DICM` and a meta header naming `syntax`.
    static func header(_ syntax: TransferSyntax) -> [UInt8] {
        let meta = FileMeta.make(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4", transferSyntax: syntax)
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + ((try? FileMeta.encode(meta)) ?? [])
    }

    @Test func aDumpSaysWhichSyntaxItUsed() throws {
        let (bytes, _) = try MismatchedFile.make(declared: .explicitVRLittleEndian, written: .implicitVRLittleEndian)
        let dump = DumpFormatter().format(try DICOMFile.read(bytes))
        #expect(dump.contains("# Used TransferSyntax: Implicit VR Little Endian"), "\(dump)")
        #expect(dump.contains("(0002,0010) UI =ExplicitVRLittleEndian"), "\(dump)")
        #expect(dump.contains("(0010,0010) PN [DOE^JOHN]"), "\(dump)")
    }
}
