import DICOM

/// DICOM → eDCKV: routes every element of one instance to its category and makes its entries (§1–§3).
/// Everything a lossless reconstruction needs is kept: empty sequences and items, file meta elements, the
/// fragmentation of compressed pixel data. Group lengths and trailing padding are not stored.
public struct InstanceEncoder {
    /// The instance's entries per category, keys ascending, under the instance's provisional prefixes.
    public struct Encoded: Sendable {
        public var entries: [Category: [Entry]]
        /// Series and instance fields of the prefixes (the merger may assign others).
        public var series: UInt16
        public var instance: UInt16
        public var studyInstanceUID: String
        public var seriesInstanceUID: String
        public var sopInstanceUID: String
        public var studyDate: String
    }

    public init() {}

    public func encode(_ file: DICOMFile) throws -> Encoded {
        let ds = file.dataSet
        guard let study = ds.uid(.studyInstanceUID), !study.isEmpty else { throw EDCKVError("no Study Instance UID") }
        guard let sop = ds.uid(.sopInstanceUID) ?? file.meta.uid(.mediaStorageSOPInstanceUID), !sop.isEmpty else {
            throw EDCKVError("no SOP Instance UID")
        }
        let series = ds.int(.seriesNumber).flatMap(Prefix.stored) ?? Prefix.firstArtificial
        let instance = ds.int(.instanceNumber).flatMap(Prefix.stored) ?? Prefix.firstArtificial
        var encapsulated = false
        if case .fragments? = ds[.pixelData]?.value { encapsulated = true }

        var out: [Category: [Entry]] = [:]
        let charset = ds[.specificCharacterSet].map { SpecificCharacterSet(String(decoding: $0.bytes, as: UTF8.self)) } ?? .default
        let roots: [Element] = file.meta.elements + ds.elements
        for element in roots {
            if element.tag.isGroupLength || element.tag == .dataSetTrailingPadding { continue }
            let category = Category.route(element.tag, vr: element.vr, encapsulated: encapsulated)
            let prefix = Prefix(category: category, series: series, instance: instance)
            if category == .compressedPixels, element.tag == .pixelData, case .fragments(let px) = element.value {
                try encodeFrames(px, frames: ds.int(Tag(0x0028, 0x0008)) ?? 1, prefix: prefix, vr: element.vr, into: &out[category, default: []])
                continue
            }
            try encode(element, KeyBuilder(prefix: prefix), charset, into: &out[category, default: []])
        }
        for c in out.keys { out[c]?.sort { $0.key.lexicographicallyPrecedes($1.key) } }
        for (c, list) in out {
            for i in list.indices.dropFirst() where list[i - 1].key == list[i].key {
                throw EDCKVError("two elements with the key \(EntryCodec.hex(list[i].key)) in category \(c)")
            }
        }
        return Encoded(entries: out, series: series, instance: instance, studyInstanceUID: study,
                       seriesInstanceUID: ds.uid(.seriesInstanceUID) ?? "", sopInstanceUID: sop,
                       studyDate: ds.string(.studyDate) ?? "")
    }

    private func encode(_ e: Element, _ keys: KeyBuilder, _ charset: SpecificCharacterSet, into out: inout [Entry]) throws {
        if e.tag.isGroupLength || e.tag == .dataSetTrailingPadding { return }
        switch e.value {
        case .bytes(let b):
            out.append(Entry(key: keys.key(e.tag, e.vr, repertoire: Repertoire.index(for: e.vr, in: charset)), value: b))
        case .sequence where e.vr == .UN:
            // A UN of undefined length: its value, as explicit VR LE carries it (implicit VR LE items).
            var one = DataSet()
            one.set(e)
            let encoded = try DataSetWriter.encode(one, syntax: .implicitVRLittleEndian)
            out.append(Entry(key: keys.key(e.tag, .UN, repertoire: 0), value: Array(encoded.dropFirst(8))))
        case .sequence(let seq):
            if seq.items.isEmpty {
                out.append(Entry(key: keys.key(e.tag, .SQ, repertoire: 0), value: []))
                return
            }
            for (n, item) in seq.items.enumerated() {
                let inner = try keys.entering(e.tag, item: UInt32(n + 1))
                let set = item.dataSet[.specificCharacterSet].map { SpecificCharacterSet(String(decoding: $0.bytes, as: UTF8.self)) } ?? charset
                let children = item.dataSet.elements.filter { !$0.tag.isGroupLength && $0.tag != .dataSetTrailingPadding }
                if children.isEmpty {
                    out.append(Entry(key: inner.emptyItemKey(), value: []))
                    continue
                }
                for child in children { try encode(child, inner, set, into: &out) }
            }
        case .fragments(let px):
            // Encapsulated pixel data nested in a sequence (icons): one value, fragments as items.
            out.append(Entry(key: keys.key(e.tag, e.vr, repertoire: 0), value: Self.items([px.offsetTable] + px.fragments)))
        }
    }

    /// One entry per frame (frame numbers from 1), the Basic Offset Table under frame 0 (§2).
    private func encodeFrames(_ px: EncapsulatedPixelData, frames: Int, prefix: Prefix, vr: VR, into out: inout [Entry]) throws {
        let groups = Self.framesOf(px, frames: frames)
        func entry(_ frame: Int, _ fragments: [[UInt8]]) -> Entry {
            let key = KeyBuilder(prefix: prefix.with(category: .compressedPixels, frame: UInt16(frame))).key(.pixelData, vr, repertoire: 0)
            return Entry(key: key, value: Self.items(fragments))
        }
        out.append(entry(0, [px.offsetTable]))
        for (i, g) in groups.enumerated() { out.append(entry(i + 1, g)) }
    }

    /// Fragments grouped by frame: one each when the counts agree, all in one for a single frame, by the
    /// offset table when it has one offset per frame; otherwise all in frame 1 (still lossless).
    static func framesOf(_ px: EncapsulatedPixelData, frames: Int) -> [[[UInt8]]] {
        let f = px.fragments
        if f.isEmpty { return [] }
        if frames == f.count, frames <= 0xFFFF { return f.map { [$0] } }
        if frames > 1, frames <= 0xFFFF, px.offsetTable.count == frames * 4 {
            let offsets = stride(from: 0, to: px.offsetTable.count, by: 4).map { o in
                UInt64(px.offsetTable[o]) | UInt64(px.offsetTable[o + 1]) << 8 | UInt64(px.offsetTable[o + 2]) << 16 | UInt64(px.offsetTable[o + 3]) << 24
            }
            if offsets.first == 0, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 < $1 }) {
                var groups: [[[UInt8]]] = Array(repeating: [], count: frames)
                var position: UInt64 = 0
                var frame = 0
                for fragment in f {
                    while frame + 1 < frames && position >= offsets[frame + 1] { frame += 1 }
                    groups[frame].append(fragment)
                    position += 8 + UInt64(fragment.count)
                }
                if groups.allSatisfy({ !$0.isEmpty }) { return groups }
            }
        }
        return [f]
    }

    /// Fragments as items: item tag, length, bytes.
    static func items(_ fragments: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fragments.reduce(0) { $0 + 8 + $1.count })
        for f in fragments {
            out += [0xFE, 0xFF, 0x00, 0xE0]
            let n = UInt32(truncatingIfNeeded: f.count)
            out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
            out.append(contentsOf: f)
        }
        return out
    }

    /// The fragments of an entry value written by `items`.
    static func fragments(_ value: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var o = 0
        while o < value.count {
            guard value.count - o >= 8, value[o] == 0xFE, value[o + 1] == 0xFF, value[o + 2] == 0x00, value[o + 3] == 0xE0 else {
                throw EDCKVError("fragment item expected at offset \(o) of a pixel data value")
            }
            let n = Int(value[o + 4]) | Int(value[o + 5]) << 8 | Int(value[o + 6]) << 16 | Int(value[o + 7]) << 24
            guard value.count - o - 8 >= n else { throw EDCKVError("fragment at offset \(o) runs past its value") }
            out.append(Array(value[(o + 8)..<(o + 8 + n)]))
            o += 8 + n
        }
        return out
    }
}
