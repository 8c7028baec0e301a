import DICOM
import Foundation
import Testing
import TestSupport

/// Hostile input for the data layer, on files built in-process: every truncation point, seeded random byte
/// flips, absurd length fields, 1,000-deep nesting, unknown VRs, streaming in pieces, header-only reads. Each
/// input ends in a `DICOMParseError` naming where (offset, and the tag when known) or in a dataset: never in a
/// crash, a hang, another error type, or an allocation sized by an untrusted length.
@Suite(.timeLimit(.minutes(5)))
struct MalformedInputTests {
    // MARK: - Samples

    /// A valid file and where its parts are: the dataset's start, and the end offset of each root element.
    struct Sample: CustomStringConvertible {
        let name: String
        let file: DICOMFile
        let bytes: [UInt8]
        /// Offset of the first dataset byte (after preamble and meta header).
        let dataSetStart: Int
        /// Offsets (from 132) where each meta element ends.
        let metaBoundaries: [Int]
        /// `rootBoundaries[k]`: offset just past the k-th root element (`[0]` is `dataSetStart`); nil when the
        /// dataset is deflated, where a cut of the stream says nothing about the elements.
        let rootBoundaries: [Int]?

        var description: String { name }

        init(_ name: String, _ file: DICOMFile) throws {
            self.name = name
            self.file = file
            bytes = try file.serialized()
            let dataSet = try DataSetWriter.encode(file.dataSet, syntax: file.transferSyntax)
            dataSetStart = bytes.count - dataSet.count
            let explicitLE = TransferSyntax.explicitVRLittleEndian
            metaBoundaries = try (1...file.meta.count).map {
                132 + (try DataSetWriter.encode(DataSet(elements: Array(file.meta.elements.prefix($0))), syntax: explicitLE)).count
            }
            if file.transferSyntax.isDeflated {
                rootBoundaries = nil
            } else {
                let start = dataSetStart
                rootBoundaries = try (0...file.dataSet.count).map {
                    start + (try DataSetWriter.encode(DataSet(elements: Array(file.dataSet.elements.prefix($0))), syntax: file.transferSyntax)).count
                }
            }
        }

        /// Where the root element with this tag starts and ends.
        func range(of tag: DICOM.Tag) -> Range<Int>? {
            guard let bounds = rootBoundaries, let i = file.dataSet.elements.firstIndex(where: { $0.tag == tag }) else { return nil }
            return bounds[i]..<bounds[i + 1]
        }
    }

    /// The small Secondary Capture `arca hello` sends.
    static func helloFile() -> DICOMFile { SampleImage.secondaryCapture(rows: 16, columns: 16) }

    /// Nested sequences: undefined-length sequences and items three deep, a defined-length sequence of
    /// defined-length items, empty sequences and items, a UN sequence (implicit VR items), binary values of
    /// every swap width (US, SS, UL, FL, FD, AT, OW) and OW pixel data.
    static func nestedDataSet() -> DataSet {
        var ds = DataSet()
        ds.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
        ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
        ds.setString("1.2.826.0.1.3680043.10.1432.77.1", for: .sopInstanceUID, vr: .UI)
        ds.setString("OT", for: .modality, vr: .CS)
        ds.setString("Nested^Sequences", for: .patientName, vr: .PN)
        ds.setString("NEST01", for: .patientID, vr: .LO)

        var code = DataSet()
        code.setString("T-D0050", for: Tag(0x0008, 0x0100), vr: .SH)
        code.setString("SRT", for: Tag(0x0008, 0x0102), vr: .SH)
        code.setString("Tissue", for: Tag(0x0008, 0x0104), vr: .LO)
        var modifier = DataSet()
        modifier.setItems([code, DataSet()], for: Tag(0x0008, 0x2220))  // Anatomic Region Modifier Sequence
        modifier.setString("R-404A4", for: Tag(0x0008, 0x0100), vr: .SH)
        var region = DataSet()
        region.setItems([modifier], for: Tag(0x0008, 0x2218))  // Anatomic Region Sequence
        region.set(Element(tag: Tag(0x0018, 0x9219), vr: .SS, bytes: [0xFE, 0xFF, 0x02, 0x00]))  // SS -2, 2
        ds.setItems([region, DataSet()], for: Tag(0x0008, 0x1115))  // Referenced Series Sequence
        ds.setItems([], for: Tag(0x0008, 0x1110))  // empty Referenced Study Sequence

        // Defined lengths throughout.
        var referenced = DataSet()
        referenced.setString("1.2.840.10008.5.1.4.1.1.2", for: Tag(0x0008, 0x1150), vr: .UI)
        referenced.setString("1.2.826.0.1.3680043.10.1432.77.2", for: Tag(0x0008, 0x1155), vr: .UI)
        referenced.set(Element(tag: Tag(0x0008, 0x1160), vr: .IS, bytes: Array("1\\2 ".utf8)))
        ds.set(Element(tag: Tag(0x0008, 0x1140), vr: .SQ, value: .sequence(SequenceValue(
            items: [SequenceItem(dataSet: referenced, hasUndefinedLength: false), SequenceItem(dataSet: DataSet(), hasUndefinedLength: false)],
            hasUndefinedLength: false))))

        // A private sequence of unknown VR: its items are implicit VR little endian in every syntax.
        var privateItem = DataSet()
        privateItem.setString("NESTED", for: Tag(0x0010, 0x0020), vr: .LO)
        ds.setString("ARCA TEST", for: Tag(0x0019, 0x0010), vr: .LO)
        ds.set(Element(tag: Tag(0x0019, 0x1001), vr: .UN, value: .sequence(SequenceValue(items: [SequenceItem(dataSet: privateItem)]))))

        ds.set(Element(tag: Tag(0x0018, 0x6024), vr: .US, bytes: [3, 0]))
        ds.set(Element(tag: Tag(0x0020, 0x9057), vr: .UL, bytes: [1, 0, 0, 0, 2, 0, 0, 0]))
        ds.set(Element(tag: Tag(0x0028, 0x0009), vr: .AT, bytes: [0x18, 0x00, 0x63, 0x10]))  // Frame Increment Pointer
        ds.set(Element(tag: Tag(0x0028, 0x0034), vr: .IS, bytes: Array("1\\1 ".utf8)))
        ds.set(Element(tag: Tag(0x0040, 0x9212), vr: .FD, bytes: [0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40]))
        ds.set(Element(tag: Tag(0x0018, 0x2043), vr: .FL, bytes: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]))  // Localizing Cursor Position
        ds.setUInt16(1, for: .samplesPerPixel)
        ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
        ds.setUInt16(8, for: .rows)
        ds.setUInt16(8, for: .columns)
        ds.setUInt16(16, for: .bitsAllocated)
        ds.setUInt16(12, for: .bitsStored)
        ds.setUInt16(11, for: .highBit)
        ds.setUInt16(0, for: .pixelRepresentation)
        ds.set(Element(tag: .pixelData, vr: .OW, bytes: (0..<128).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
        return ds
    }

    static func withSyntax(_ file: DICOMFile, _ syntax: TransferSyntax) -> DICOMFile {
        var f = file
        f.transferSyntax = syntax
        f.meta.setString(syntax.uid, for: .transferSyntaxUID, vr: .UI)
        return f
    }

    static func samples() throws -> [Sample] {
        let nested = DICOMFile(dataSet: nestedDataSet())
        var encapsulated = withSyntax(helloFile(), .jpegBaseline)
        encapsulated.dataSet.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(
            offsetTable: [0, 0, 0, 0, 14, 0, 0, 0],
            fragments: [[0xFF, 0xD8, 1, 2, 3, 4, 0xFF, 0xD9], [], [9, 9, 9, 9]]))))
        return [
            try Sample("secondary capture, explicit LE", helloFile()),
            try Sample("nested sequences, explicit LE", nested),
            try Sample("nested sequences, explicit BE", withSyntax(nested, .explicitVRBigEndian)),
            try Sample("nested sequences, implicit LE", withSyntax(nested, .implicitVRLittleEndian)),
            try Sample("nested sequences, deflated", withSyntax(nested, .deflatedExplicitVRLittleEndian)),
            try Sample("encapsulated fragments", encapsulated),
        ]
    }

    @Test func samplesReadBackAsBuilt() throws {
        for s in try Self.samples() {
            let read = try DICOMFile.read(s.bytes)
            #expect(read.transferSyntax == s.file.transferSyntax, "\(s)")
            #expect(read.meta.count == s.file.meta.count, "\(s)")
            #expect(read.dataSet.count == s.file.dataSet.count, "\(s)")
            #expect(read.dataSet.items(Tag(0x0008, 0x1115)).first?.items(Tag(0x0008, 0x2218)).first?
                .items(Tag(0x0008, 0x2220)).first?.string(Tag(0x0008, 0x0100)) == (s.name.hasPrefix("nested") ? "T-D0050" : nil), "\(s)")
            if let bounds = s.rootBoundaries { #expect(bounds.last == s.bytes.count, "\(s)") }
            #expect(s.metaBoundaries.last == s.dataSetStart, "\(s)")
        }
    }

    // MARK: - (a) Every truncation point

    /// Parses `bytes`, failing the test on any error that is not a `DICOMParseError` naming an offset.
    static func parse(_ bytes: [UInt8], options: ParseOptions = .default) -> Result<DICOMFile, DICOMParseError>? {
        do {
            return .success(try DICOMFile.read(bytes, options: options))
        } catch let error as DICOMParseError {
            #expect(error.description.contains("offset \(error.offset)"), "\(error)")
            return .failure(error)
        } catch {
            Issue.record("not a DICOMParseError: \(error)")
            return nil
        }
    }

    @Test func everyTruncationPointThrowsOrParsesAPrefix() throws {
        for s in try Self.samples() {
            let full = try DICOMFile.read(s.bytes)
            let rootEnds = Set(s.rootBoundaries ?? [])
            var failures = 0
            for cut in 0..<s.bytes.count {
                guard let result = Self.parse(Array(s.bytes[0..<cut])) else { continue }
                switch result {
                case .success(let partial):
                    if cut > 132 && cut < s.dataSetStart {
                        Issue.record("\(s): a cut at \(cut), inside the meta header, was accepted")
                    } else if cut >= s.dataSetStart, let bounds = s.rootBoundaries {
                        // Only a cut between two root elements is a (shorter) dataset, and exactly that prefix.
                        if let k = bounds.firstIndex(of: cut) {
                            #expect(partial.dataSet.elements == Array(full.dataSet.elements.prefix(k)), "\(s): cut at \(cut)")
                            #expect(partial.meta == full.meta, "\(s): cut at \(cut)")
                        } else {
                            Issue.record("\(s): a cut at \(cut), inside an element, was accepted")
                        }
                    }
                case .failure(let error):
                    failures += 1
                    if cut >= s.dataSetStart && !rootEnds.isEmpty {
                        #expect(!rootEnds.contains(cut), "\(s): a cut between elements at \(cut) failed: \(error)")
                        #expect(error.kind == .truncated, "\(s): cut at \(cut): \(error)")
                    }
                }
            }
            // Past the preamble, only cuts between root elements parse (and a few cuts of a deflated stream).
            let mustFail = s.bytes.count - 133 - (s.rootBoundaries?.count ?? (s.bytes.count - s.dataSetStart) / 10)
            #expect(failures >= mustFail, "\(s): \(failures) of \(s.bytes.count) cuts failed")
        }
    }

    @Test func aCutInsideThePixelDataNamesItsOffsetAndTag() throws {
        for s in try Self.samples() {
            guard let pixels = s.range(of: .pixelData) else { continue }
            let encapsulated = s.file.transferSyntax.isEncapsulated
            // Past the tag (inside the rest of the header), in the value, one byte short.
            for cut in [pixels.lowerBound + 5, pixels.lowerBound + 14, pixels.upperBound - 1] {
                guard case .failure(let error)? = Self.parse(Array(s.bytes[0..<cut])) else {
                    Issue.record("\(s): a cut at \(cut) inside the pixel data was accepted")
                    continue
                }
                #expect(error.kind == .truncated, "\(s): \(error)")
                #expect(error.offset >= UInt64(pixels.lowerBound) && error.offset <= UInt64(cut), "\(s): \(error)")
                #expect(error.description.contains("offset \(error.offset)"), "\(error)")
                if encapsulated {
                    // Inside the fragments, the cut item (or the unterminated pixel data) is named.
                    #expect([.pixelData, .item, .sequenceDelimitation].contains(error.tag), "\(s): \(error)")
                } else {
                    #expect(error.tag == .pixelData, "\(s): \(error)")
                    #expect(error.offset == UInt64(pixels.lowerBound), "\(s): \(error)")
                }
            }
        }
    }

    /// A long value streamed in chunks and then cut: the error names the value's tag, not the enclosing level.
    @Test func aCutInsideAStreamedValueNamesItsTag() throws {
        let s = try Sample("secondary capture, explicit LE", Self.helloFile())
        let pixels = try #require(s.range(of: .pixelData))
        var parser = Part10Parser(options: ParseOptions(streamThreshold: 16))
        var builder = DataSetBuilder()
        try parser.feed(Array(s.bytes[0..<(pixels.lowerBound + 40)]), to: &builder)
        do {
            try parser.finish(&builder)
            Issue.record("a cut streamed value was accepted")
        } catch let error as DICOMParseError {
            #expect(error.kind == .truncated)
            #expect(error.tag == .pixelData, "\(error)")
            #expect(error.offset == UInt64(pixels.lowerBound + 40), "\(error)")
            #expect(error.description.contains("starting at offset \(pixels.lowerBound)"), "\(error)")
        }
    }

    /// Regression: a file cut between two meta elements was read as a file with a short meta header and an
    /// empty dataset; the group length says the meta header goes on.
    @Test func aCutBetweenMetaElementsIsTruncated() throws {
        let s = try Sample("secondary capture, explicit LE", Self.helloFile())
        for cut in s.metaBoundaries.dropLast() {
            guard case .failure(let error)? = Self.parse(Array(s.bytes[0..<cut])) else {
                Issue.record("a cut at \(cut) between meta elements was accepted")
                continue
            }
            #expect(error.kind == .truncated, "\(error)")
            #expect(error.offset == UInt64(cut), "\(error)")
            #expect(error.tag == .fileMetaInformationGroupLength, "\(error)")
        }
    }

    // MARK: - (b) Random byte flips

    @Test func seededRandomMutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xA4CA_D1C0)
        var parsed = 0, failed = 0
        for s in try Self.samples() {
            for round in 0..<600 {
                var mutated = s.bytes
                switch round % 4 {
                case 0, 1:  // flip 1–8 bytes
                    for _ in 0..<Int.random(in: 1...8, using: &rng) {
                        mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                case 2:  // hit a length field (or nearby) with an extreme value
                    let i = Int.random(in: 0..<(mutated.count - 4), using: &rng)
                    let v: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xF0, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0]][Int.random(in: 0..<4, using: &rng)]
                    mutated.replaceSubrange(i..<(i + 4), with: v)
                default:  // delete or duplicate a run of bytes
                    let i = Int.random(in: 0..<mutated.count, using: &rng)
                    let n = Int.random(in: 1...min(16, mutated.count - i), using: &rng)
                    if Bool.random(using: &rng) { mutated.removeSubrange(i..<(i + n)) } else { mutated.insert(contentsOf: mutated[i..<(i + n)], at: i) }
                }
                let whole = Self.parse(mutated)
                if case .success = whole { parsed += 1 } else { failed += 1 }

                // In two pieces split anywhere, with values streamed: the same outcome as whole.
                let split = Int.random(in: 0...mutated.count, using: &rng)
                var parser = Part10Parser(options: ParseOptions(streamThreshold: 16))
                var builder = DataSetBuilder()
                do {
                    try parser.feed(Array(mutated[0..<split]), to: &builder)
                    try parser.feed(Array(mutated[split...]), to: &builder)
                    try parser.finish(&builder)
                    if case .success(let file)? = whole { #expect(builder.dataSet == file.dataSet, "\(s) round \(round)") }
                } catch is DICOMParseError {
                    if case .success? = whole { Issue.record("\(s) round \(round): whole parses, in pieces split at \(split) fails") }
                } catch {
                    Issue.record("not a DICOMParseError: \(error)")
                }

                // The bare dataset parser in the syntaxes without meta header.
                for syntax in [TransferSyntax.implicitVRLittleEndian, .explicitVRBigEndian] {
                    var p = DataSetParser(transferSyntax: syntax)
                    var b = DataSetBuilder()
                    do {
                        try p.feed(mutated, to: &b)
                        try p.finish(&b)
                    } catch is DICOMParseError {
                    } catch {
                        Issue.record("not a DICOMParseError: \(error)")
                    }
                }

                // What parses writes back and reads again the same.
                // (Unless the mutation moved meta elements into the dataset, which a writer puts in the meta header.)
                if case .success(let file)? = whole, !file.dataSet.contains(where: { $0.tag.group <= 2 }),
                   let again = try? file.serialized() {
                    if case .success(let reread)? = Self.parse(again) {
                        #expect(reread.dataSet == file.dataSet, "\(s) round \(round): write/read round trip differs")
                    }
                }
            }
        }
        #expect(parsed + failed == 3600)
        #expect(failed > 0 && parsed > 0)
    }

    // MARK: - (c) Huge length fields

    /// Explicit VR LE element bytes with a 4-byte length field.
    static func longHeader(_ tag: DICOM.Tag, _ vr: VR, length: UInt32, bigEndian: Bool = false) -> [UInt8] {
        func b16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func b32(_ v: UInt32) -> [UInt8] { bigEndian ? b16(UInt16(v >> 16)) + b16(UInt16(v & 0xFFFF)) : b16(UInt16(v & 0xFFFF)) + b16(UInt16(v >> 16)) }
        return b16(tag.group) + b16(tag.element) + [vr.byte0, vr.byte1, 0, 0] + b32(length)
    }

    static func itemHeader(_ tag: DICOM.Tag = .item, length: UInt32) -> [UInt8] {
        [UInt8(tag.group & 0xFF), UInt8(tag.group >> 8), UInt8(tag.element & 0xFF), UInt8(tag.element >> 8),
         UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
    }

    /// Parses a bare dataset (whole, then in pieces of 3 with streaming) and returns the error both give.
    static func bareError(_ bytes: [UInt8], _ syntax: TransferSyntax = .explicitVRLittleEndian,
                          sourceLocation: SourceLocation = #_sourceLocation) -> DICOMParseError? {
        var errors: [DICOMParseError] = []
        for piece in [bytes.count, 3] {
            var parser = DataSetParser(transferSyntax: syntax, options: ParseOptions(streamThreshold: piece == 3 ? 4 : 256 * 1024))
            var builder = DataSetBuilder()
            do {
                var i = 0
                while i < bytes.count {
                    try parser.feed(Array(bytes[i..<min(bytes.count, i + max(piece, 1))]), to: &builder)
                    i += max(piece, 1)
                }
                try parser.finish(&builder)
                Issue.record("accepted: \(bytes.prefix(40))", sourceLocation: sourceLocation)
            } catch let error as DICOMParseError {
                #expect(error.description.contains("offset \(error.offset)"), sourceLocation: sourceLocation)
                errors.append(error)
            } catch {
                Issue.record("not a DICOMParseError: \(error)", sourceLocation: sourceLocation)
            }
        }
        if errors.count == 2 {
            #expect(errors[0].kind == errors[1].kind && errors[0].tag == errors[1].tag,
                    "whole: \(errors[0]); in pieces: \(errors[1])", sourceLocation: sourceLocation)
        }
        return errors.first
    }

    @Test(arguments: [UInt32(0xFFFF_FFF0), 0xFFFF_FFFE, 0x7FFF_FFFF, 0x1000_0000, 1000])
    func aHugeValueLengthIsTruncatedQuicklyWithoutAllocation(_ length: UInt32) throws {
        // 20 bytes that declare a value of up to 4 GB.
        let bytes = Self.longHeader(.pixelData, .OB, length: length) + [1, 2, 3, 4, 5, 6, 7, 8]
        #expect(bytes.count == 20)
        let clock = ContinuousClock()
        let before = residentMemoryBytes()
        let elapsed = try clock.measure {
            for _ in 0..<100 {
                let error = try #require(Self.bareError(bytes))
                #expect(error.kind == .truncated, "\(error)")
                #expect(error.tag == .pixelData, "\(error)")
                // As a file without meta header too.
                guard case .failure(let fileError)? = Self.parse(bytes) else { Issue.record("accepted"); return }
                #expect(fileError.kind == .truncated && fileError.tag == .pixelData, "\(fileError)")
            }
        }
        #expect(elapsed < .seconds(5), "100 parses of 20 bytes took \(elapsed)")
        #expect(residentMemoryBytes() - before < 256 << 20, "resident memory grew by \(residentMemoryBytes() - before) bytes")
    }

    @Test func aShortLengthPastTheEndNamesTheTag() throws {
        // (0010,0010) PN of length 0xFFFF with 4 bytes of value, then the same at the end of a real file.
        let bytes: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0x50, 0x4E, 0xFF, 0xFF, 65, 66, 67, 68]
        let error = try #require(Self.bareError(bytes))
        #expect(error.kind == .truncated && error.tag == Tag(0x0010, 0x0010) && error.offset == 0, "\(error)")

        // Implicit VR: 4-byte lengths on every element.
        let implicit: [UInt8] = [0x10, 0x00, 0x20, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, 65, 66]
        let e2 = try #require(Self.bareError(implicit, .implicitVRLittleEndian))
        #expect(e2.kind == .truncated && e2.tag == Tag(0x0010, 0x0020), "\(e2)")

        // Big endian.
        let big = Self.longHeader(Tag(0x0028, 0x1201), .OW, length: 0x7FFF_FFFE, bigEndian: true) + [1, 2, 3, 4]
        let e3 = try #require(Self.bareError(big, .explicitVRBigEndian))
        #expect(e3.kind == .truncated && e3.tag == Tag(0x0028, 0x1201), "\(e3)")
    }

    @Test func aPixelDataLengthPastTheEndOfARealFile() throws {
        let s = try Sample("secondary capture, explicit LE", Self.helloFile())
        let pixels = try #require(s.range(of: .pixelData))
        for length: UInt32 in [0xFFFF_FFF0, 0x7FFF_FFFF, UInt32(pixels.count)] {  // the last: header counted in
            var bytes = s.bytes
            bytes.replaceSubrange((pixels.lowerBound + 8)..<(pixels.lowerBound + 12), with: Self.itemHeader(length: length).suffix(4))
            guard case .failure(let error)? = Self.parse(bytes) else { Issue.record("accepted length \(length)"); continue }
            // Waiting for a value that fits the threshold, or streaming a longer one: the pixel data and where it starts.
            #expect(error.kind == .truncated && error.tag == .pixelData, "\(error)")
            #expect(error.description.contains("offset \(pixels.lowerBound)"), "\(error)")
        }
    }

    @Test func anItemLengthPastItsSequenceNamesOffsetAndTag() throws {
        // SQ of defined length 16 holding an item that claims 100 bytes (and one that claims 4 GB).
        for itemLength: UInt32 in [100, 0xFFFF_FFF0, 17] {
            let bytes = Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 16) + Self.itemHeader(length: itemLength) + [UInt8](repeating: 0, count: 8)
            let error = try #require(Self.bareError(bytes))
            #expect(error.kind == .invalidLength, "\(error)")
            #expect(error.offset == 12 && error.tag == .item, "\(error)")
            #expect(error.description.contains("offset 12") && error.description.contains("\(DICOM.Tag.item)"), "\(error)")
        }
    }

    @Test func anElementLengthPastItsItemNamesOffsetAndTag() throws {
        // Undefined-length SQ, an item of length 12 holding an element of length 100.
        let element: [UInt8] = [0x08, 0x00, 0x00, 0x01, 0x53, 0x48, 100, 0, 65, 66, 67, 68]
        let bytes = Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 0xFFFF_FFFF) + Self.itemHeader(length: 12) + element
        let error = try #require(Self.bareError(bytes))
        #expect(error.kind == .invalidLength && error.offset == 20 && error.tag == Tag(0x0008, 0x0100), "\(error)")

        // A defined-length sequence inside an item that ends before it does.
        let inner = Self.longHeader(Tag(0x0008, 0x2218), .SQ, length: 0x7FFF_FFFF)
        let nested = Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 0xFFFF_FFFF) + Self.itemHeader(length: 12) + inner
        let e2 = try #require(Self.bareError(nested))
        #expect(e2.kind == .invalidLength && e2.offset == 20 && e2.tag == Tag(0x0008, 0x2218), "\(e2)")
    }

    @Test func aDefinedLengthSequencePastTheEndIsTruncated() throws {
        let bytes = Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 0xFFFF_FFF0) + Self.itemHeader(length: 0)
        let error = try #require(Self.bareError(bytes))
        #expect(error.kind == .truncated && error.tag == Tag(0x0008, 0x1115), "\(error)")
    }

    @Test func fragmentLengthsAreChecked() throws {
        let start = Self.longHeader(.pixelData, .OB, length: 0xFFFF_FFFF)
        // A fragment of undefined length.
        let e1 = try #require(Self.bareError(start + Self.itemHeader(length: 0) + Self.itemHeader(length: 0xFFFF_FFFF)))
        #expect(e1.kind == .invalidLength && e1.offset == 20 && e1.tag == .item, "\(e1)")
        // A fragment of 4 GB with 4 bytes.
        let e2 = try #require(Self.bareError(start + Self.itemHeader(length: 0xFFFF_FFF0) + [1, 2, 3, 4]))
        #expect(e2.kind == .truncated && e2.tag == .item, "\(e2)")
        // Something else than an item among the fragments.
        let e3 = try #require(Self.bareError(start + Self.itemHeader(length: 0) + Self.longHeader(Tag(0x0008, 0x0016), .UN, length: 0)))
        #expect(e3.kind == .unexpectedTag && e3.offset == 20 && e3.tag == Tag(0x0008, 0x0016), "\(e3)")
        // Fragments never terminated.
        let e4 = try #require(Self.bareError(start + Self.itemHeader(length: 2) + [1, 2]))
        #expect(e4.kind == .truncated && e4.tag == .pixelData, "\(e4)")
    }

    @Test func anImplausibleMetaGroupLengthIsRefused() throws {
        var bytes = try Self.helloFile().serialized()
        bytes.replaceSubrange(140..<144, with: [0xF0, 0xFF, 0xFF, 0xFF])
        guard case .failure(let error)? = Self.parse(bytes) else { Issue.record("accepted"); return }
        #expect(error.kind == .invalidLength && error.tag == .fileMetaInformationGroupLength && error.offset == 132, "\(error)")
    }

    // MARK: - (d) Deep nesting

    /// `depth` sequences nested in items with defined lengths, written by hand (inside out): no DataSet that
    /// deep is built, compared or freed recursively.
    static func definedLengthNesting(depth: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x08, 0x00, 0x00, 0x01, 0x53, 0x48, 4, 0, 0x6C, 0x65, 0x61, 0x66]  // (0008,0100) SH "leaf"
        for _ in 0..<depth {
            let item = itemHeader(length: UInt32(bytes.count)) + bytes
            bytes = longHeader(Tag(0x0008, 0x1115), .SQ, length: UInt32(item.count)) + item
        }
        return bytes
    }

    /// `depth` sequences nested in items; undefined lengths, or defined lengths computed inside out.
    static func nestedSequences(depth: Int, definedLengths: Bool, syntax: TransferSyntax = .explicitVRLittleEndian) throws -> [UInt8] {
        var ds = DataSet()
        ds.setString("leaf", for: Tag(0x0008, 0x0100), vr: .SH)
        for _ in 0..<depth {
            var outer = DataSet()
            outer.set(Element(tag: Tag(0x0008, 0x1115), vr: .SQ, value: .sequence(SequenceValue(
                items: [SequenceItem(dataSet: ds, hasUndefinedLength: !definedLengths)], hasUndefinedLength: !definedLengths))))
            ds = outer
        }
        return try DataSetWriter.encode(ds, syntax: syntax)
    }

    @Test(arguments: [false, true])
    func thousandDeepNestingIsRefused(definedLengths: Bool) throws {
        var bytes: [UInt8] = []
        if definedLengths {
            bytes = Self.definedLengthNesting(depth: 1000)
        } else {
            // Built by hand: no DataSet of that depth is ever made.
            for _ in 0..<1000 {
                bytes += Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 0xFFFF_FFFF) + Self.itemHeader(length: 0xFFFF_FFFF)
            }
        }
        let error = try #require(Self.bareError(bytes))
        #expect(error.kind == .nestingTooDeep && error.tag == Tag(0x0008, 0x1115), "\(error)")
        // The 65th sequence (default maxDepth 64) is refused where it starts: 20 bytes of headers a level.
        #expect(error.offset == 64 * 20, "\(error)")

        // In a Part-10 file and in implicit VR too.
        // One sample: its generated UIDs vary in length from one call to the next, and so would the split.
        let hello = Self.helloFile()
        let file = try hello.serialized()
        let meta = Array(file[0..<(file.count - (try DataSetWriter.encode(hello.dataSet, syntax: .explicitVRLittleEndian)).count)])
        guard case .failure(let e2)? = Self.parse(meta + bytes) else { Issue.record("accepted"); return }
        #expect(e2.kind == .nestingTooDeep, "\(e2)")
        if !definedLengths {
            let implicit = try #require(Self.bareError(
                (0..<1000).flatMap { _ in Self.itemHeader(Tag(0x0008, 0x1115), length: 0xFFFF_FFFF) + Self.itemHeader(length: 0xFFFF_FFFF) },
                .implicitVRLittleEndian))
            #expect(implicit.kind == .nestingTooDeep, "\(implicit)")
        }
    }

    @Test func nestingUpToTheLimitParses() throws {
        for defined in [false, true] {
            let ok = defined ? Self.definedLengthNesting(depth: 64) : try Self.nestedSequences(depth: 64, definedLengths: false)
            var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
            var builder = DataSetBuilder()
            try parser.feed(ok, to: &builder)
            try parser.finish(&builder)
            var ds = builder.dataSet
            for _ in 0..<64 { ds = try #require(ds.items(Tag(0x0008, 0x1115)).first) }
            #expect(ds.string(Tag(0x0008, 0x0100)) == "leaf")

            let error = try #require(Self.bareError(try Self.nestedSequences(depth: 65, definedLengths: defined)))
            #expect(error.kind == .nestingTooDeep, "\(error)")
            let tight = ParseOptions(maxDepth: 3)
            var p2 = DataSetParser(transferSyntax: .explicitVRLittleEndian, options: tight)
            var b2 = DataSetBuilder()
            #expect(throws: DICOMParseError.self) { try p2.feed(try Self.nestedSequences(depth: 4, definedLengths: defined), to: &b2) }
        }
    }

    // MARK: - (e) Unknown VRs

    @Test func unknownVRBytesNameTheTag() throws {
        // At the root.
        let root: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0x5A, 0x5A, 4, 0, 65, 66, 67, 68]
        let e1 = try #require(Self.bareError(root))
        #expect(e1.kind == .unknownVR && e1.tag == Tag(0x0010, 0x0010) && e1.offset == 0, "\(e1)")
        #expect(e1.description.contains("(0010,0010)") && e1.description.contains("0x5a 0x5a"), "\(e1)")

        // Inside an item, and in big endian; lower-case and zero bytes are not VRs either.
        for vr: [UInt8] in [[0x73, 0x68], [0, 0], [0x4F, 0x00]] {
            let inner: [UInt8] = [0x00, 0x08, 0x01, 0x00] + vr + [0, 2, 65, 66]
            let big = Self.longHeader(Tag(0x0008, 0x1115), .SQ, length: 0xFFFF_FFFF, bigEndian: true)
                + [0xFF, 0xFE, 0xE0, 0x00, 0xFF, 0xFF, 0xFF, 0xFF] + inner
            let e2 = try #require(Self.bareError(big, .explicitVRBigEndian))
            #expect(e2.kind == .unknownVR && e2.tag == Tag(0x0008, 0x0100) && e2.offset == 20, "\(e2)")
        }

        // In a whole file: the VR of Patient Name overwritten.
        let s = try Sample("secondary capture, explicit LE", Self.helloFile())
        let name = try #require(s.range(of: Tag(0x0010, 0x0010)))
        var bytes = s.bytes
        bytes[name.lowerBound + 4] = 0x3F
        guard case .failure(let e3)? = Self.parse(bytes) else { Issue.record("accepted"); return }
        #expect(e3.kind == .unknownVR && e3.tag == Tag(0x0010, 0x0010) && e3.offset == UInt64(name.lowerBound), "\(e3)")

        // In the meta header.
        var meta = s.bytes
        meta[144 + 4] = 0x3F
        guard case .failure(let e4)? = Self.parse(meta) else { Issue.record("accepted"); return }
        #expect(e4.kind == .unknownVR && e4.tag == .fileMetaInformationVersion && e4.offset == 144, "\(e4)")
    }

    // MARK: - (f) Streaming in pieces

    @Test(arguments: [1, 7, 100, 4096])
    func feedingInPiecesGivesTheSameDataSet(_ piece: Int) throws {
        var samples = try Self.samples()
        // A bigger image, so 4096-byte pieces and the default threshold also split values.
        samples.append(try Sample("512×64 16-bit, explicit BE", Self.withSyntax(Self.bigImage(), .explicitVRBigEndian)))
        samples.append(try Sample("512×64 16-bit, explicit LE", Self.bigImage()))
        for s in samples {
            let whole = try DICOMFile.read(s.bytes)
            for threshold in [16, 256 * 1024] {
                var parser = Part10Parser(options: ParseOptions(streamThreshold: threshold))
                var builder = DataSetBuilder()
                var i = 0
                while i < s.bytes.count {
                    try s.bytes[i..<min(s.bytes.count, i + piece)].withUnsafeBytes { try parser.feed($0, to: &builder) }
                    i += piece
                }
                try parser.finish(&builder)
                let what = "\(s) in pieces of \(piece), threshold \(threshold)"
                #expect(builder.dataSet == whole.dataSet, "\(what)")
                #expect(builder.meta == whole.meta, "\(what)")
                #expect(parser.transferSyntax == whole.transferSyntax, "\(what)")
                #expect(parser.meta == whole.meta, "\(what)")
                #expect(parser.preamble == whole.preamble, "\(what)")
                // The values are what was built, byte-swapped back in big endian.
                #expect(builder.dataSet[.pixelData] == s.file.dataSet[.pixelData], "\(what)")
                #expect(builder.dataSet[Tag(0x0040, 0x9212)] == s.file.dataSet[Tag(0x0040, 0x9212)], "\(what)")
            }
        }
    }

    /// Regression: a meta header without Transfer Syntax UID leaves the syntax to be guessed from the dataset's
    /// first bytes; fed in pieces, the guess was made from whatever followed the meta header in the same piece
    /// (nothing, when a piece ended there), so explicit VR was read as implicit.
    @Test(arguments: [1, 7, 100, 4096])
    func aMetaHeaderWithoutTransferSyntaxIsGuessedTheSameInPieces(_ piece: Int) throws {
        for syntax in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian] {
            var file = Self.withSyntax(DICOMFile(dataSet: Self.nestedDataSet()), syntax)
            file.meta.remove(.transferSyntaxUID)
            let bytes = try file.serialized()
            let whole = try DICOMFile.read(bytes)
            #expect(whole.transferSyntax == syntax)
            // Split right after the meta header, and in even pieces.
            let metaEnd = bytes.count - (try DataSetWriter.encode(file.dataSet, syntax: syntax)).count
            for cuts in [[metaEnd, metaEnd + 3], Array(stride(from: piece, to: bytes.count, by: piece))] {
                var parser = Part10Parser()
                var builder = DataSetBuilder()
                var from = 0
                for cut in cuts + [bytes.count] where cut >= from {
                    try parser.feed(Array(bytes[from..<cut]), to: &builder)
                    from = cut
                }
                try parser.finish(&builder)
                #expect(parser.transferSyntax == syntax, "\(syntax) in pieces \(cuts.prefix(3))")
                #expect(builder.dataSet == whole.dataSet, "\(syntax) in pieces \(cuts.prefix(3))")
                #expect(builder.meta == whole.meta)
            }
        }
    }

    /// 512×64 16-bit pixels (64 KiB) and FD values, explicit VR LE.
    static func bigImage() -> DICOMFile {
        var ds = nestedDataSet()
        ds.setUInt16(64, for: .rows)
        ds.setUInt16(512, for: .columns)
        var rng = SplitMix64(seed: 42)
        ds.set(Element(tag: .pixelData, vr: .OW, bytes: (0..<(512 * 64 * 2)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        return DICOMFile(dataSet: ds)
    }

    // MARK: - (g) Header-only reads from disk

    @Test func headerOnlyFromDiskStopsBeforeThePixelData() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("arca-malformed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var image = Self.bigImage()
        var rng = SplitMix64(seed: 7)
        image.dataSet.set(Element(tag: .pixelData, vr: .OW, bytes: (0..<(512 * 512 * 2)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        image.dataSet.set(Element(tag: .dataSetTrailingPadding, vr: .OB, bytes: [0, 0]))
        let s = try Sample("CT-sized", image)
        let pixels = try #require(s.range(of: .pixelData))
        let path = dir.appendingPathComponent("ct.dcm").path
        try Data(s.bytes).write(to: URL(fileURLWithPath: path))

        let full = try DICOMFile.read(path: path)
        #expect(full.dataSet == image.dataSet)
        let header = try DICOMFile.read(path: path, options: .headerOnly)
        #expect(header.dataSet[.pixelData] == nil)
        #expect(header.dataSet[.dataSetTrailingPadding] == nil)
        #expect(header.dataSet.elements == full.dataSet.elements.filter { $0.tag < .pixelData })
        #expect(header.dataSet.int(.rows) == 64 && header.dataSet.int(.columns) == 512)
        #expect(header.meta == full.meta)

        // The pixel data is never read: a file cut inside it, or whose pixel data claims 4 GB, still gives its
        // header, while a full read says where it is truncated.
        var cut = s.bytes
        cut.removeLast(s.bytes.count - pixels.lowerBound - 100_000)
        var huge = Array(s.bytes[0..<(pixels.lowerBound + 200)])
        huge.replaceSubrange((pixels.lowerBound + 8)..<(pixels.lowerBound + 12), with: [0xF0, 0xFF, 0xFF, 0xFF])
        for (name, bytes) in [("cut", cut), ("huge", huge)] {
            let p = dir.appendingPathComponent("\(name).dcm").path
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            let h = try DICOMFile.read(path: p, options: .headerOnly)
            #expect(h.dataSet == header.dataSet, "\(name)")
            do {
                _ = try DICOMFile.read(path: p)
                Issue.record("\(name): a full read was accepted")
            } catch let error as DICOMParseError {
                #expect(error.kind == .truncated && error.tag == .pixelData, "\(name): \(error)")
            }
        }
        // A header-only read of bytes in memory is the same.
        let inMemory = try DICOMFile.read(cut, options: .headerOnly)
        #expect(inMemory.dataSet == header.dataSet)
    }


    // MARK: - (h) Long values skipped, and a budget on what a read holds

    /// A dataset with a 3 MB private value at the root, a 100 KB one inside a sequence item, and short
    /// attributes around them; deflated, the 3 MB of zeros are a few kilobytes on the wire.
    static func longValues(_ syntax: TransferSyntax) throws -> [UInt8] {
        var ds = nestedDataSet()
        ds.set(Element(tag: Tag(0x0009, 0x1010), vr: .OB, bytes: [UInt8](repeating: 0, count: 3 << 20)))
        var item = DataSet()
        item.set(Element(tag: Tag(0x0009, 0x1020), vr: .OB, bytes: [UInt8](repeating: 1, count: 100_000)))
        item.setString("kept", for: Tag(0x0009, 0x1030), vr: .LO)
        ds.setItems([item], for: Tag(0x0009, 0x1040))
        return try Self.withSyntax(DICOMFile(dataSet: ds), syntax).serialized()
    }

    @Test(arguments: [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .deflatedExplicitVRLittleEndian])
    func longValuesAreSkippedAsTheyPass(syntax: TransferSyntax) throws {
        let bytes = try Self.longValues(syntax)
        var options = ParseOptions.headerOnly
        options.skipValuesLongerThan = 64 << 10
        // Fed in pieces, as a received instance arrives: a long value is never gathered.
        var parser = Part10Parser(options: options)
        var builder = DataSetBuilder(byteBudget: 1 << 20)
        var at = 0
        while at < bytes.count {
            let n = min(16_384, bytes.count - at)
            try bytes.withUnsafeBytes { try parser.feed(UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)]), to: &builder) }
            at += n
        }
        try parser.finish(&builder)
        let ds = builder.dataSet
        #expect(ds[Tag(0x0009, 0x1010)] == nil)
        #expect(ds.items(Tag(0x0009, 0x1040)).first?[Tag(0x0009, 0x1020)] == nil)
        #expect(ds.items(Tag(0x0009, 0x1040)).first?.string(Tag(0x0009, 0x1030)) == "kept")
        #expect(ds.uid(.sopInstanceUID) == Self.nestedDataSet().uid(.sopInstanceUID))
        #expect(builder.heldBytes < 64 << 10)
        #expect(builder.skipped.map(\.tag) == [Tag(0x0009, 0x1010), Tag(0x0009, 0x1020)])
    }

    @Test func theValueAskedForIsKeptWhateverItsLength() throws {
        var options = ParseOptions(stopBefore: Tag(0x0009, 0x1011))
        options.skipValuesLongerThan = 64 << 10
        options.keepsValueOf = Tag(0x0009, 0x1010)
        let file = try DICOMFile.read(try Self.longValues(.explicitVRLittleEndian), options: options)
        #expect(file.dataSet[Tag(0x0009, 0x1010)]?.bytes.count == 3 << 20)
    }

    /// Without skipping, the budget ends the read with an error naming the element, not a dataset of gigabytes.
    @Test(arguments: [TransferSyntax.explicitVRLittleEndian, .deflatedExplicitVRLittleEndian])
    func aReadPastItsBudgetFails(syntax: TransferSyntax) throws {
        let bytes = try Self.longValues(syntax)
        var parser = Part10Parser(options: .headerOnly)
        var builder = DataSetBuilder(byteBudget: 1 << 20)
        let error = #expect(throws: DICOMParseError.self) {
            try parser.feed(bytes, to: &builder)
            try parser.finish(&builder)
        }
        #expect(error?.kind == .valueTooLarge && error?.tag == Tag(0x0009, 0x1010))
        #expect(builder.heldBytes <= 1 << 20)
        // A million small elements cost their entries too.
        var ds = Self.nestedDataSet()
        for n in 0..<20_000 { ds.setString(String(repeating: "A", count: 40), for: Tag(0x0011, UInt16(0x1000 + n)), vr: .LO) }
        let small = try DICOMFile(dataSet: ds).serialized()
        var manyParser = Part10Parser(options: .headerOnly)
        var many = DataSetBuilder(byteBudget: 1 << 20)
        #expect(throws: DICOMParseError.self) {
            try manyParser.feed(small, to: &many)
            try manyParser.finish(&many)
        }
    }
}
