import DICOM
import Foundation
import Testing
import TestSupport

/// Hostile files: every truncation point, random byte flips, absurd lengths, deep nesting, unknown VRs. Each
/// ends in a `DICOMParseError` naming the offset (and the tag when known) or in a dataset, never in a crash,
/// a hang, or an allocation sized by an untrusted length.
@Suite struct MalformedDataSetTests {
    /// Three valid files: a small image (explicit LE), nested undefined-length sequences in big endian, and
    /// encapsulated fragments.
    static func samples() throws -> [[UInt8]] {
        let hello = SampleImage.secondaryCapture(rows: 8, columns: 8)
        var nested = hello
        var inner = DataSet()
        inner.setString("T-D0050", for: Tag(0x0008, 0x0100), vr: .SH)
        var middle = DataSet()
        middle.setItems([inner, DataSet()], for: Tag(0x0008, 0x2218))
        nested.dataSet.setItems([middle], for: Tag(0x0008, 0x1115))
        nested.dataSet.setItems([], for: Tag(0x0008, 0x1110))
        nested.transferSyntax = .explicitVRBigEndian
        nested.meta.setString(TransferSyntax.explicitVRBigEndian.uid, for: .transferSyntaxUID, vr: .UI)
        var encapsulated = hello
        encapsulated.transferSyntax = .jpegBaseline
        encapsulated.meta.setString(TransferSyntax.jpegBaseline.uid, for: .transferSyntaxUID, vr: .UI)
        encapsulated.dataSet.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(
            offsetTable: [0, 0, 0, 0], fragments: [[0xFF, 0xD8, 1, 2, 3, 4, 0xFF, 0xD9], [9, 9]]))))
        return try [hello, nested, encapsulated].map { try $0.serialized() }
    }

    @Test func everyTruncationPointFailsCleanlyOrParsesAPrefix() throws {
        for (n, bytes) in try Self.samples().enumerated() {
            let full = try DICOMFile.read(bytes)
            var errors = 0
            for cut in 0..<bytes.count {
                do {
                    let partial = try DICOMFile.read(Array(bytes[0..<cut]))
                    // A cut on an element boundary of the root dataset is a shorter dataset, never more.
                    #expect(partial.dataSet.count <= full.dataSet.count)
                } catch let error as DICOMParseError {
                    errors += 1
                    #expect(error.description.contains("offset"), "\(error)")
                }
            }
            #expect(errors > bytes.count / 2, "sample \(n): only \(errors) of \(bytes.count) cuts failed")
            // A cut inside the pixel data value names it.
            let cut = bytes.count - 3
            #expect(throws: DICOMParseError.self) { try DICOMFile.read(Array(bytes[0..<cut])) }
        }
    }

    @Test func randomByteFlipsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xD1C0)
        var (read, refused) = (0, 0)
        for bytes in try Self.samples() {
            for _ in 0..<1500 {
                var mutated = bytes
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let i = Int.random(in: 0..<mutated.count, using: &rng)
                    mutated[i] = UInt8.random(in: 0...255, using: &rng)
                }
                if (try? DICOMFile.read(mutated)) != nil { read += 1 } else { refused += 1 }
                var parser = DataSetParser(transferSyntax: .implicitVRLittleEndian)
                var builder = DataSetBuilder()
                _ = try? parser.feed(mutated, to: &builder)
            }
        }
        // Both outcomes happen: a flip in a value reads, one in a header or length is refused by name.
        #expect(read > 0 && refused > 0, "\(read) read, \(refused) refused")
    }

    /// Explicit VR LE element bytes with a 4-byte length field.
    static func longElement(_ group: UInt16, _ element: UInt16, _ vr: String, length: UInt32) -> [UInt8] {
        [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)] + Array(vr.utf8) + [0, 0]
            + [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
    }

    @Test(arguments: [UInt32(0xFFFF_FFF0), 0x7FFF_FFFF, 1000])
    func hugeLengthsAreErrorsNotAllocations(_ length: UInt32) throws {
        let bytes = Self.longElement(0x0009, 0x1010, "OB", length: length) + [1, 2, 3, 4]
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        var builder = DataSetBuilder()
        try parser.feed(bytes, to: &builder)
        #expect(throws: DICOMParseError.self) { try parser.finish(&builder) }
        #expect(residentMemoryBytes() < 1 << 30)
    }

    @Test func itemLengthPastItsSequenceNamesTheTag() throws {
        // SQ of defined length 16 holding an item that claims 100 bytes.
        let bytes = Self.longElement(0x0008, 0x1115, "SQ", length: 16) + [0xFE, 0xFF, 0x00, 0xE0, 100, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        var builder = DataSetBuilder()
        do {
            try parser.feed(bytes, to: &builder)
            try parser.finish(&builder)
            Issue.record("an item longer than its sequence was accepted")
        } catch let error as DICOMParseError {
            #expect(error.kind == .invalidLength)
            #expect(error.description.contains("offset 12"), "\(error)")
        }
    }

    @Test func thousandDeepNestingIsRefused() throws {
        var bytes: [UInt8] = []
        for _ in 0..<1000 {
            bytes += Self.longElement(0x0008, 0x1115, "SQ", length: 0xFFFF_FFFF) + [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]
        }
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        var builder = DataSetBuilder()
        do {
            try parser.feed(bytes, to: &builder)
            Issue.record("1,000-deep nesting was accepted")
        } catch let error as DICOMParseError {
            #expect(error.kind == .nestingTooDeep)
        }
    }

    @Test func unknownVRNamesTheTagAndOffset() throws {
        let bytes: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0x5A, 0x5A, 4, 0, 65, 66, 67, 68]
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        var builder = DataSetBuilder()
        do {
            try parser.feed(bytes, to: &builder)
            Issue.record("an unknown VR was accepted")
        } catch let error as DICOMParseError {
            #expect(error.kind == .unknownVR)
            #expect(error.tag == Tag(0x0010, 0x0010))
            #expect(error.description.contains("offset 0") && error.description.contains("(0010,0010)"), "\(error)")
        }
    }

    @Test(arguments: [1, 7, 100, 4096])
    func feedingInPiecesGivesTheSameDataSet(_ piece: Int) throws {
        for (n, bytes) in try Self.samples().enumerated() {
            let whole = try DICOMFile.read(bytes)
            var parser = Part10Parser(options: ParseOptions(streamThreshold: 16))
            var builder = DataSetBuilder()
            var i = 0
            while i < bytes.count {
                try parser.feed(Array(bytes[i..<min(bytes.count, i + piece)]), to: &builder)
                i += piece
            }
            try parser.finish(&builder)
            #expect(builder.dataSet == whole.dataSet, "sample \(n) in pieces of \(piece)")
            #expect(builder.meta == whole.meta, "sample \(n) in pieces of \(piece)")
        }
    }
}
