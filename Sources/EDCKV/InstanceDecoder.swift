import DICOM

/// eDCKV → DICOM: rebuilds one instance from its entries of every category (§2). Where the instance's own
/// `i` entries hold a root tag that the study (`e`) or series (`s`) copy also holds, the instance's value wins.
public struct InstanceDecoder {
    public init() {}

    /// `entries`: the instance's entries of all categories, in any order.
    public func decode(_ entries: [Entry]) throws -> DICOMFile {
        // Root tags the instance itself carries in `i`: the shared copies of those are not used.
        var own = Set<UInt32>()
        for e in entries where e.prefix?.category == .instance { own.insert(e.rootTag.rawValue) }
        var kept: [Entry] = []
        kept.reserveCapacity(entries.count)
        for e in entries {
            guard let c = e.prefix?.category else { throw EDCKVError("bad prefix in key \(EntryCodec.hex(e.key))") }
            if (c == .study || c == .series) && own.contains(e.rootTag.rawValue) { continue }
            kept.append(e)
        }
        // Sort by the key without its prefix (then by prefix: frames of compressed pixel data in order).
        kept.sort { a, b in
            if a.path8 != b.path8 { return a.path8.lexicographicallyPrecedes(b.path8) }
            return a.key.lexicographicallyPrecedes(b.key)
        }
        let root = try build(kept[...], level: 0)
        let (meta, body) = root.partitionedFileMeta()
        var dataSet = body
        if let cs = dataSet[.specificCharacterSet] { dataSet.set(cs) }
        var fullMeta = meta
        fullMeta.set(Element(tag: .fileMetaInformationGroupLength, vr: .UL, bytes: [0, 0, 0, 0]))
        let uid = meta.uid(.transferSyntaxUID) ?? TransferSyntax.explicitVRLittleEndian.uid
        var encapsulated = false
        if case .fragments? = dataSet[.pixelData]?.value { encapsulated = true }
        let syntax = TransferSyntax(uid: uid)
            ?? TransferSyntax(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: encapsulated)
        return DICOMFile(meta: fullMeta, dataSet: dataSet, transferSyntax: syntax)
    }

    /// The dataset at `level` from entries sorted by their path, all below the same items down to `level`.
    private func build(_ entries: ArraySlice<Entry>, level: Int) throws -> DataSet {
        var ds = DataSet()
        var i = entries.startIndex
        while i < entries.endIndex {
            let e = entries[i]
            if e.depth == level {
                // A root-level compressed pixel data element: the frames follow, one entry each.
                if e.tag == .pixelData, e.prefix?.category == .compressedPixels {
                    var j = i
                    var fragments: [[UInt8]] = []
                    var offsetTable: [UInt8] = []
                    while j < entries.endIndex, entries[j].depth == level, entries[j].tag == .pixelData {
                        let parts = try InstanceEncoder.fragments(entries[j].value)
                        if entries[j].prefix?.frame == 0 { offsetTable = parts.first ?? [] } else { fragments += parts }
                        j += 1
                    }
                    ds.set(Element(tag: .pixelData, vr: e.vr ?? .OB, value: .fragments(EncapsulatedPixelData(offsetTable: offsetTable, fragments: fragments))))
                    i = j
                    continue
                }
                ds.set(try element(e))
                i += 1
                continue
            }
            // A sequence: every entry below it at this level, grouped by item number.
            let path = e.path
            let sequence = path[level].tag
            var j = i
            var items: [SequenceItem] = []
            while j < entries.endIndex, entries[j].depth > level, entries[j].path[level].tag == sequence {
                let item = entries[j].path[level].item
                var k = j
                while k < entries.endIndex, entries[k].depth > level, entries[k].path[level].tag == sequence,
                      entries[k].path[level].item == item { k += 1 }
                let group = entries[j..<k]
                if group.count == 1, let only = group.first, only.depth == level + 1, only.isEmptyItemMarker {
                    items.append(SequenceItem(dataSet: DataSet()))
                } else {
                    items.append(SequenceItem(dataSet: try build(group.filter { !$0.isEmptyItemMarker }[...], level: level + 1)))
                }
                j = k
            }
            ds.set(Element(tag: sequence, vr: .SQ, value: .sequence(SequenceValue(items: items))))
            i = j
        }
        return ds
    }

    private func element(_ e: Entry) throws -> Element {
        guard let vr = e.vr else {
            throw EDCKVError("\(e.tag): unknown VR bytes \(e.vrBytes.0) \(e.vrBytes.1)")
        }
        if vr == .SQ {
            guard e.value.isEmpty else { throw EDCKVError("\(e.tag): a sequence entry has a value") }
            return Element(tag: e.tag, vr: .SQ, value: .sequence(SequenceValue()))
        }
        if e.tag == .pixelData, vr == .OB || vr == .OW, e.value.count >= 8, e.value[0..<4] == [0xFE, 0xFF, 0x00, 0xE0][...],
           e.depth > 0 {
            let parts = try InstanceEncoder.fragments(e.value)
            return Element(tag: e.tag, vr: vr, value: .fragments(EncapsulatedPixelData(offsetTable: parts.first ?? [], fragments: Array(parts.dropFirst()))))
        }
        return Element(tag: e.tag, vr: vr, bytes: e.value)
    }
}
