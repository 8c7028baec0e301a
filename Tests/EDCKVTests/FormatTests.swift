import BLAKE3
import DICOM
import Foundation
import TestSupport
import Testing

@testable import EDCKV

/// The entry format (§1–§3): keys, prefixes, routing, and DICOM → eDCKV → DICOM without loss.
@Suite struct FormatTests {
    /// What must survive: every element's tag and value at every depth (group lengths and trailing padding
    /// are not stored by design; sequence length encodings are not values).
    static func lines(_ ds: DataSet) -> [String] {
        Canonical.valueLines(strip(ds))
    }

    static func strip(_ ds: DataSet) -> DataSet {
        var out = DataSet()
        for e in ds where !e.tag.isGroupLength && e.tag != .dataSetTrailingPadding {
            var e = e
            if case .sequence(var s) = e.value, e.vr != .UN {
                s.items = s.items.map { SequenceItem(dataSet: strip($0.dataSet)) }
                s.hasUndefinedLength = true
                e.value = .sequence(s)
            }
            out.set(e)
        }
        return out
    }

    @Test(.needs(.pydicom)) func everyCorpusFileRoundTrips() throws {
        let corpus = try Corpus.load()
        var checked = 0
        for url in corpus.files {
            let original = try DICOMFile.read(path: url.path)
            guard original.dataSet.uid(.studyInstanceUID) != nil, original.dataSet.uid(.sopInstanceUID) != nil else { continue }
            let encoded = try InstanceEncoder().encode(original)
            for (c, entries) in encoded.entries {
                // Keys ascend within each category, and encode back to the same bytes.
                let bytes = try EntryCodec.encode(entries, footer: true)
                let decoded = try EntryCodec.decode(bytes)
                #expect(decoded.entries == entries, "\(url.lastPathComponent) \(c)")
                #expect(decoded.footer == entries.last?.prefix)
            }
            let all = encoded.entries.values.flatMap { $0 }
            let back = try InstanceDecoder().decode(all)
            #expect(Self.lines(back.dataSet) == Self.lines(original.dataSet), "\(url.lastPathComponent)")
            var meta = original.meta
            meta.remove(.fileMetaInformationGroupLength)
            var backMeta = back.meta
            backMeta.remove(.fileMetaInformationGroupLength)
            if original.hasMeta { #expect(backMeta == meta, "\(url.lastPathComponent)") }
            // The rebuilt file parses back to the same dataset.
            let reread = try DICOMFile.read(try back.serialized())
            #expect(Self.lines(reread.dataSet) == Self.lines(original.dataSet), "\(url.lastPathComponent) reread")
            checked += 1
        }
        #expect(checked >= 10)
    }

    @Test func routingFollowsTheRootTag() throws {
        var ds = SampleImage.secondaryCapture(rows: 4, columns: 4).dataSet
        ds.setString("Corrected^Name", for: .patientName, vr: .PN)
        ds.set(Element(tag: Tag(0x0029, 0x0010), vr: .LO, bytes: Array("ARCA ".utf8)))
        ds.set(Element(tag: Tag(0x0011, 0x1001), vr: .UN, bytes: [1, 2]))
        ds.setItems([], for: Tag(0x0008, 0x1140))
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: ds.uid(.sopClassUID)!, sopInstanceUID: ds.uid(.sopInstanceUID)!,
                                                 transferSyntax: .explicitVRLittleEndian, sourceAETitle: "SCU"),
                             dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let enc = try InstanceEncoder().encode(file)
        func tags(_ c: Category) -> Set<UInt32> { Set((enc.entries[c] ?? []).map { $0.rootTag.rawValue }) }
        #expect(tags(.study).contains(Tag.patientName.rawValue))
        #expect(tags(.study).contains(Tag.studyInstanceUID.rawValue))
        #expect(tags(.series).contains(Tag.seriesInstanceUID.rawValue))
        #expect(tags(.series).contains(Tag.modality.rawValue))
        #expect(tags(.privateData) == [0x0029_0010, 0x0011_1001])
        #expect(tags(.instance).contains(Tag.sopInstanceUID.rawValue))
        #expect(tags(.instance).contains(Tag.sourceApplicationEntityTitle.rawValue))
        #expect(!tags(.instance).contains(Tag.transferSyntaxUID.rawValue))
        #expect(tags(.nativePixels) == [0x0002_0010, 0x0028_0002, 0x0028_0004, 0x0028_0010, 0x0028_0011, 0x0028_0100,
                                        0x0028_0101, 0x0028_0102, 0x0028_0103, 0x7FE0_0010])
        #expect(enc.entries[.compressedPixels] == nil)
        // The empty sequence is kept as its own entry, VR SQ, no value.
        let empty = try #require(enc.entries[.instance]?.first { $0.tag == Tag(0x0008, 0x1140) })
        #expect(empty.vr == .SQ && empty.value.isEmpty && empty.depth == 0)
        // Prefixes: the category byte, then series and instance number + 0x8000, big-endian.
        let sop = try #require(enc.entries[.instance]?.first { $0.tag == .sopInstanceUID })
        let series = ds.int(.seriesNumber).flatMap(Prefix.stored) ?? Prefix.firstArtificial
        #expect(sop.key[0] == 3 && UInt16(sop.key[1]) << 8 | UInt16(sop.key[2]) == series)
        #expect(sop.key[8..<12] == [0x00, 0x08, 0x00, 0x18][...] && sop.key[12..<14] == [0x55, 0x49][...])
    }

    @Test func keysFollowTheSpecification() {
        let p = Prefix(category: .compressedPixels, series: Prefix.stored(2)!, instance: Prefix.stored(-1)!, frame: 3)
        #expect(p.bytes == [5, 0x80, 0x02, 0, 0x7F, 0xFF, 0, 3])
        #expect(Prefix(bytes: p.bytes) == p)
        #expect(Prefix(hex: Substring(p.hex)) == p)
        #expect(Prefix.stored(40000) == nil && Prefix.stored(-40000) == nil)
        // Fields a category does not have are zero, and a reader refuses anything else.
        #expect(Prefix(category: .study, series: 5, instance: 6, frame: 7).bytes == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Prefix(bytes: [0, 0, 1, 0, 0, 0, 0, 0]) == nil)
        #expect(Prefix(bytes: [9, 0, 0, 0, 0, 0, 0, 0]) == nil)
        let k = KeyBuilder(prefix: Prefix(category: .instance, series: 0x8001, instance: 0x8002))
        let nested = try! k.entering(Tag(0x0008, 0x1115), item: 2).key(Tag(0x0010, 0x0010), .PN, repertoire: 24)
        #expect(nested == [3, 0x80, 0x01, 0, 0x80, 0x02, 0, 0, 0x00, 0x08, 0x11, 0x15, 0, 0, 0, 2, 0x00, 0x10, 0x00, 0x10, 0x50, 0x4E, 24, 0])
    }

    @Test func repertoireIndexes() {
        #expect(Repertoire.index(for: .PN, in: .default) == 0)
        #expect(Repertoire.index(for: .PN, in: SpecificCharacterSet("ISO_IR 100")) == 1)
        #expect(Repertoire.index(for: .LO, in: SpecificCharacterSet("ISO_IR 192")) == 8)
        #expect(Repertoire.index(for: .PN, in: SpecificCharacterSet("\\ISO 2022 IR 87")) == 24)
        #expect(Repertoire.index(for: .SH, in: SpecificCharacterSet("ISO 2022 IR 6\\ISO 2022 IR 149")) == 30)
        #expect(Repertoire.index(for: .CS, in: SpecificCharacterSet("ISO_IR 100")) == 0)
        #expect(Repertoire.index(for: .UR, in: .default) == 8)
    }

    @Test func hostileEntryBytesAreRefused() {
        // Truncations at every point of a valid file, a huge value length, a bad key length, a bad prefix.
        let entries = [Entry(key: KeyBuilder(prefix: Prefix(category: .study)).key(.patientName, .PN, repertoire: 0), value: Array("DOE^J ".utf8))]
        let bytes = try! EntryCodec.encode(entries, footer: true)
        for cut in 1..<(bytes.count - EntryCodec.footerSize) {
            #expect(throws: EDCKVError.self) { try EntryCodec.decode(Array(bytes[0..<cut])) }
        }
        var huge = bytes
        huge[17...20] = [0xF0, 0xFF, 0xFF, 0xFF][...]
        #expect(throws: EDCKVError.self) { try EntryCodec.decode(huge) }
        var badKL = bytes
        badKL[0] = 17
        #expect(throws: EDCKVError.self) { try EntryCodec.decode(badKL) }
        var badPrefix = bytes
        badPrefix[1] = 9
        #expect(throws: EDCKVError.self) { try EntryCodec.decode(badPrefix) }
        #expect(throws: EDCKVError.self) { try EntryCodec.encode(entries + entries, footer: false) }
    }

    /// Keys one at a time with their values copied through in pieces of at most 1 MiB (what the merger does with
    /// pixel files), a value left unread skipped by the next key; a cut anywhere is an error, never a short value.
    @Test func fileReaderCopiesValuesThroughInPieces() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-entries-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = (0..<(3 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let keys = KeyBuilder(prefix: Prefix(category: .nativePixels, series: 0x8001, instance: 0x8001))
        let entries = [Entry(key: keys.key(Tag(0x0028, 0x0010), .US, repertoire: 0), value: [0, 2]),
                       Entry(key: keys.key(.pixelData, .OW, repertoire: 0), value: big),
                       Entry(key: keys.key(Tag(0x7FE0, 0x0020), .OW, repertoire: 0), value: [1, 2, 3, 4])]
        for footer in [false, true] {
            let bytes = try EntryCodec.encode(entries, footer: footer)
            let path = dir.path + "/f\(footer)"
            try FileWriter.write(bytes, to: path)
            let reader = try EntryFileReader(path: path)
            var read: [Entry] = []
            var largest = 0
            while let next = try reader.nextKey() {
                var value: [UInt8] = []
                try reader.copyValue { piece in
                    largest = max(largest, piece.count)
                    value.append(contentsOf: piece)
                }
                #expect(value.count == next.length)
                read.append(Entry(key: next.key, value: value))
            }
            #expect(read == entries)
            #expect(largest <= 1 << 20)
            #expect(reader.footer == (footer ? entries.last?.prefix : nil))
            // Values left unread: the keys alone.
            let skipping = try EntryFileReader(path: path)
            var skipped: [[UInt8]] = []
            while let next = try skipping.nextKey() { skipped.append(next.key) }
            #expect(skipped == entries.map(\.key))
            for cut in [1, 20, 40, bytes.count / 2, bytes.count - (footer ? EntryCodec.footerSize : 0) - 1] {
                try FileWriter.write(Array(bytes[0..<cut]), to: path)
                #expect(throws: EDCKVError.self) {
                    let r = try EntryFileReader(path: path)
                    while try r.nextKey() != nil { try r.copyValue { _ in } }
                }
            }
        }
    }

    @Test func fileReaderStreamsEntriesToTheEnd() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-entries")
        let big = [UInt8](repeating: 7, count: 3 << 20)
        let keys = KeyBuilder(prefix: Prefix(category: .nativePixels, series: 0x8001, instance: 0x8001))
        let entries = [Entry(key: keys.key(Tag(0x0028, 0x0010), .US, repertoire: 0), value: [0, 2]),
                       Entry(key: keys.key(.pixelData, .OW, repertoire: 0), value: big)]
        for footer in [false, true] {
            let bytes = try EntryCodec.encode(entries, footer: footer)
            let path = dir.path + "/f\(footer)"
            try FileWriter.write(bytes, to: path)
            let read = try EntryFileReader.readAll(path: path)
            #expect(read.entries == entries)
            #expect(read.footer == (footer ? entries.last?.prefix : nil))
            // Truncated anywhere inside an entry: an error naming the file, never a partial entry.
            for cut in [1, 20, 40, bytes.count - (footer ? EntryCodec.footerSize : 0) - 1] {
                try FileWriter.write(Array(bytes[0..<cut]), to: path)
                #expect(throws: EDCKVError.self) { try EntryFileReader.readAll(path: path) }
            }
        }
    }

    /// The frames of an encapsulated instance as the encoder stores them: fragment lists by frame number.
    static func frames(_ fragments: [[UInt8]], offsetTable: [UInt8] = [], numberOfFrames: Int) throws -> [UInt16: [[UInt8]]] {
        var ds = SampleImage.secondaryCapture(rows: 2, columns: 2).dataSet
        ds.setString("\(numberOfFrames)", for: Tag(0x0028, 0x0008), vr: .IS)
        ds.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(offsetTable: offsetTable, fragments: fragments))))
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: ds.uid(.sopClassUID)!, sopInstanceUID: ds.uid(.sopInstanceUID)!,
                                                 transferSyntax: .jpegBaseline, sourceAETitle: nil),
                             dataSet: ds, transferSyntax: .jpegBaseline)
        let c = try InstanceEncoder().encode(file).entries[.compressedPixels] ?? []
        var out: [UInt16: [[UInt8]]] = [:]
        for e in c where e.tag == .pixelData { out[e.prefix?.frame ?? 9999] = try InstanceEncoder.fragments(e.value) }
        // The rebuilt pixel data is the original, fragment for fragment.
        let back = try InstanceDecoder().decode(try InstanceEncoder().encode(file).entries.values.flatMap { $0 })
        #expect(back.dataSet[.pixelData] == ds[.pixelData])
        return out
    }

    /// What must wait for SeriesNumber and InstanceNumber is bounded: a huge value before (0020,0013) is
    /// refused with a message, never held whole.
    @Test func aHugeValueBeforeTheNumbersIsRefused() throws {
        var file = SampleImage.secondaryCapture(rows: 2, columns: 2)
        file.dataSet.set(Element(tag: Tag(0x0009, 0x0010), vr: .LO, bytes: Array("ARCA ".utf8)))
        file.dataSet.set(Element(tag: Tag(0x0009, 0x1001), vr: .OB,
                                 bytes: [UInt8](repeating: 1, count: StreamingEncoder<MemoryEntryOutput>.memoryBudget + 2)))
        #expect { try InstanceEncoder().encode(file) } throws: { ($0 as? EDCKVError)?.message.contains("refused rather than held") == true }
    }

    @Test func framesFollowTheOffsetTable() throws {
        let f: [[UInt8]] = [[1, 2], [3, 4], [5, 6, 7, 8]]
        // Three fragments, two frames: frame 2 starts at the third fragment (offset 10 + 10 = 20).
        let bot: [UInt8] = [0, 0, 0, 0, 20, 0, 0, 0]
        #expect(try Self.frames(f, offsetTable: bot, numberOfFrames: 2) == [0: [bot], 1: [[1, 2], [3, 4]], 2: [[5, 6, 7, 8]]])
        // No offset table: one fragment a frame, the last frame taking any extra.
        #expect(try Self.frames(f, numberOfFrames: 3) == [0: [[]], 1: [[1, 2]], 2: [[3, 4]], 3: [[5, 6, 7, 8]]])
        #expect(try Self.frames(f, numberOfFrames: 1) == [0: [[]], 1: f])
        #expect(try Self.frames(f, numberOfFrames: 2) == [0: [[]], 1: [[1, 2]], 2: [[3, 4], [5, 6, 7, 8]]])
    }

    /// The `c` entries of an encapsulated file fed to the encoder in pieces of `piece` bytes (as the spool reads a
    /// journal), by entry number; the rebuilt pixel data is checked against the original.
    /// Entries kept in memory, and the largest piece of a `c` value handed over at once.
    struct RecordingOutput: EntryOutput {
        var inner = MemoryEntryOutput()
        var largestPixelPiece = 0
        mutating func open(_ identity: InstanceIdentity) throws { try inner.open(identity) }
        mutating func begin(_ c: Category, key: [UInt8], length: Int) throws { try inner.begin(c, key: key, length: length) }
        mutating func append(_ c: Category, _ bytes: UnsafeRawBufferPointer) throws {
            if c == .compressedPixels { largestPixelPiece = max(largestPixelPiece, bytes.count) }
            try inner.append(c, bytes)
        }
    }

    static func streamedEntries(_ fragments: [[UInt8]], numberOfFrames: Int, piece: Int,
                                largestPiece: Int = .max) throws -> [UInt16: [Int]] {
        var ds = SampleImage.secondaryCapture(rows: 2, columns: 2).dataSet
        ds.setString("\(numberOfFrames)", for: Tag(0x0028, 0x0008), vr: .IS)
        ds.set(Element(tag: .pixelData, vr: .OB, value: .fragments(EncapsulatedPixelData(offsetTable: [], fragments: fragments))))
        let file = DICOMFile(meta: FileMeta.make(sopClassUID: ds.uid(.sopClassUID)!, sopInstanceUID: ds.uid(.sopInstanceUID)!,
                                                 transferSyntax: .jpegBaseline, sourceAETitle: nil),
                             dataSet: ds, transferSyntax: .jpegBaseline)
        var encoder = StreamingEncoder(output: RecordingOutput(), syntax: file.transferSyntax)
        try encoder.didReadFileMeta(file.meta, transferSyntax: file.transferSyntax)
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        let bytes = try DataSetWriter.encode(file.dataSet, syntax: .explicitVRLittleEndian)
        for start in stride(from: 0, to: bytes.count, by: piece) {
            try bytes[start..<min(start + piece, bytes.count)].withUnsafeBytes { try parser.feed($0, to: &encoder) }
        }
        try parser.finish(&encoder)
        _ = try encoder.finish()
        let entries = encoder.output.inner.entries
        #expect(encoder.output.largestPixelPiece <= largestPiece)
        let back = try InstanceDecoder().decode(entries.values.flatMap { $0 })
        #expect(back.dataSet[.pixelData] == ds[.pixelData])
        var out: [UInt16: [Int]] = [:]
        for e in entries[.compressedPixels] ?? [] where e.tag == .pixelData {
            out[e.prefix?.frame ?? 9999] = try InstanceEncoder.fragments(e.value).map(\.count)
        }
        return out
    }

    /// A frame larger than an entry holds is cut into several, numbered on, and a fragment that arrives in pieces
    /// and is over the limit is an entry of its own, streamed to the output: a crafted frame of many large
    /// fragments was held whole. Frames within the limit stay one entry each, numbered as frames.
    @Test func aFrameLargerThanAnEntryIsCutAndALongFragmentStreamed() throws {
        let mib = 1 << 20
        let limit = FrameGrouper.entryLimit
        // Whole fragments (read at once): one frame of three 7 MiB fragments is two entries.
        let seven = [UInt8](repeating: 3, count: 7 * mib)
        #expect(try Self.streamedEntries([seven, seven, seven], numberOfFrames: 1, piece: 64 * mib)
                == [0: [0], 1: [7 * mib, 7 * mib], 2: [7 * mib]])
        // In 256 KiB pieces: the 20 MiB fragment comes as a long value, and goes out as an entry of its own.
        let big = [UInt8](repeating: 9, count: limit + 4 * mib)
        #expect(try Self.streamedEntries([[1, 2], big, [3, 4]], numberOfFrames: 1, piece: 256 << 10, largestPiece: 256 << 10)
                == [0: [0], 1: [2], 2: [big.count], 3: [2]])
        // Frames under the limit: an entry each, the number the frame's.
        #expect(try Self.streamedEntries([[1, 2], [3, 4], [5, 6]], numberOfFrames: 3, piece: 256 << 10)
                == [0: [0], 1: [2], 2: [2], 3: [2]])
    }

    /// A UN sequence of undefined length before (0020,0013) is counted once against the budget, as the entry it
    /// becomes: it was counted as it arrived and again as its entry, so 40 MiB was refused as 80 in the spool,
    /// after the receiver (which counts it once) had acknowledged it.
    @Test func aSubtreeKeptWholeIsCountedOnce() throws {
        var file = SampleImage.secondaryCapture(rows: 2, columns: 2)
        var item = DataSet()
        item.set(Element(tag: Tag(0x0009, 0x1001), vr: .OB, bytes: [UInt8](repeating: 5, count: 40 << 20)))
        file.dataSet.set(Element(tag: Tag(0x0009, 0x0010), vr: .LO, bytes: Array("ARCA ".utf8)))
        file.dataSet.set(Element(tag: Tag(0x0009, 0x1020), vr: .UN,
                                 value: .sequence(SequenceValue(items: [SequenceItem(dataSet: item)], hasUndefinedLength: true))))
        let encoded = try InstanceEncoder().encode(file)
        #expect(encoded.entries[.privateData]?.contains { $0.tag == Tag(0x0009, 0x1020) } == true)
    }

    /// A Number of Frames no image has (10^18) is read without overflow: the encoder trapped on it in the spool,
    /// after the acknowledgement, at every restart.
    @Test func anImpossibleNumberOfFramesIsNoCrash() throws {
        let f: [[UInt8]] = [[1, 2], [3, 4]]
        #expect(try Self.frames(f, offsetTable: [0, 0, 0, 0, 10, 0, 0, 0], numberOfFrames: 1_000_000_000_000_000_000)
                == [0: [[0, 0, 0, 0, 10, 0, 0, 0]], 1: [[1, 2]], 2: [[3, 4]]])
    }

    /// Fragments that arrive in pieces but fit an entry share their frame's entry: the frame number stays the
    /// entry number for frames of at most 16 MiB (three 300 KB fragments, fed in 64 KiB pieces).
    @Test func fragmentsArrivingInPiecesShareTheirFramesEntry() throws {
        let f = [[UInt8]](repeating: [UInt8](repeating: 1, count: 300_000), count: 3)
        #expect(try Self.streamedEntries(f, numberOfFrames: 2, piece: 64 << 10) == [0: [0], 1: [300_000], 2: [300_000, 300_000]])
    }
}
