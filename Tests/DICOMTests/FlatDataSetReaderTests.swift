import Testing

@testable import DICOM

/// Flat datasets (C-FIND identifiers and answers) are read in one pass by `FlatDataSetReader` and everything
/// else by the parser: where the reader answers, it must answer what the parser reads, for valid and for
/// damaged bytes.
@Suite struct FlatDataSetReaderTests {
    static func parsed(_ bytes: [UInt8], _ syntax: TransferSyntax) throws -> DataSet {
        var parser = DataSetParser(transferSyntax: syntax)
        var builder = DataSetBuilder()
        try bytes.withUnsafeBytes { try parser.feed($0, to: &builder) }
        try parser.finish(&builder)
        return builder.dataSet
    }

    static func flat(_ bytes: [UInt8], _ syntax: TransferSyntax) -> DataSet? {
        bytes.withUnsafeBytes { FlatDataSetReader.read($0, syntax: syntax) }
    }

    /// A C-FIND answer with a character set, a private creator and value, a binary value, an empty value, an
    /// odd-length value, Pixel Representation before a "US or SS" attribute.
    static var answer: DataSet {
        var ds = DataSet(characterSet: SpecificCharacterSet("ISO_IR 100"))
        ds.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
        ds.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        ds.setString("Müller^Jürgen", for: .patientName, vr: .PN)
        ds.setString("", for: .patientBirthDate, vr: .DA)
        ds.setString("1.2.826.0.1.3680043.10.1432.8.7", for: .studyInstanceUID, vr: .UI)
        ds.setString("20240115", for: .studyDate, vr: .DA)
        ds.set(Element(tag: .pixelRepresentation, vr: .US, bytes: [1, 0]))
        ds.set(Element(tag: Tag(0x0028, 0x0106), vr: .SS, bytes: [0xFE, 0xFF]))  // Smallest Image Pixel Value: SS here
        ds.setString("ARCA", for: Tag(0x0009, 0x0010), vr: .LO)
        ds.set(Element(tag: Tag(0x0009, 0x1001), vr: .UN, bytes: [1, 2, 3]))
        ds.set(Element(tag: .numberOfStudyRelatedInstances, vr: .IS, bytes: Array("12 ".utf8)))
        return ds
    }

    @Test(arguments: [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian])
    func readsWhatTheParserReads(syntax: TransferSyntax) throws {
        let bytes = try DataSetWriter.encode(Self.answer, syntax: syntax)
        let flat = try #require(Self.flat(bytes, syntax))
        let parsed = try Self.parsed(bytes, syntax)
        #expect(flat == parsed)
        #expect(flat.characterSet.terms == ["ISO_IR 100"])
        #expect(flat.string(.patientName) == "Müller^Jürgen")
        #expect(flat[Tag(0x0028, 0x0106)]?.vr == parsed[Tag(0x0028, 0x0106)]?.vr)
        #expect(Self.flat([], syntax) == DataSet())
    }

    /// Sequences, undefined lengths, out-of-order tags, big endian and deflate go to the parser.
    @Test func declinesWhatIsNotFlat() throws {
        var withSequence = Self.answer
        var item = DataSet()
        item.setString("XR123", for: Tag(0x0008, 0x0100), vr: .SH)
        withSequence.setItems([item], for: Tag(0x0008, 0x1032))
        for syntax in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian] {
            #expect(Self.flat(try DataSetWriter.encode(withSequence, syntax: syntax), syntax) == nil)
        }
        let plain = try DataSetWriter.encode(Self.answer, syntax: .explicitVRLittleEndian)
        #expect(Self.flat(try DataSetWriter.encode(Self.answer, syntax: .explicitVRBigEndian), .explicitVRBigEndian) == nil)
        #expect(Self.flat(plain, .deflatedExplicitVRLittleEndian) == nil)
        // The second element first: out of order.
        func size(at i: Int) -> Int { 8 + (Int(plain[i + 6]) | Int(plain[i + 7]) << 8) }  // short-length VRs: CS, DA
        let first = size(at: 0)
        let second = size(at: first)
        let swapped = Array(plain[first..<(first + second)]) + Array(plain[0..<first]) + Array(plain[(first + second)...])
        #expect(Self.flat(swapped, .explicitVRLittleEndian) == nil)
        #expect(try Self.parsed(swapped, .explicitVRLittleEndian) == Self.answer)
        #expect(Self.flat(Array(plain.dropLast()), .explicitVRLittleEndian) == nil)  // a value cut short
    }

    /// Every one-byte change of an answer: whenever the reader accepts the bytes, the parser reads the same.
    @Test(arguments: [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian])
    func mutatedAnswersReadAlike(syntax: TransferSyntax) throws {
        let bytes = try DataSetWriter.encode(Self.answer, syntax: syntax)
        var accepted = 0
        for i in bytes.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0xFF, bytes[i] &+ 1] {
                var mutated = bytes
                mutated[i] = value
                guard let flat = Self.flat(mutated, syntax) else { continue }
                accepted += 1
                #expect(flat == (try Self.parsed(mutated, syntax)), "byte \(i) set to \(value)")
            }
        }
        #expect(accepted > bytes.count)
    }
}
