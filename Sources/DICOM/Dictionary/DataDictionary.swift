/// One data element of the DICOM data dictionary (PS3.6), or of a vendor's private dictionary.
public struct DictionaryEntry: Sendable, Hashable {
    /// For repeating tags (50xx, 60xx, 7Fxx, 1000,xxx0 ...) the tag with the 'x' digits zero;
    /// for block-relative private tags (gggg,xxee) the tag (gggg,00ee).
    public let tag: Tag
    /// "US or SS" gives `[.US, .SS]`. Never empty. Item and delimitation tags (VR "NONE") are `[.UN]`.
    public let vrs: [VR]
    public var vr: VR { vrs.first ?? .UN }
    /// "1", "1-n", "2-2n" ...
    public let vm: String
    /// "PatientName"; empty for private tags and a few retired-blank elements.
    public let keyword: String
    /// "Patient's Name"
    public let name: String
    public let isRetired: Bool

    public init(tag: Tag, vrs: [VR], vm: String, keyword: String, name: String, isRetired: Bool) {
        self.tag = tag
        self.vrs = vrs.isEmpty ? [.UN] : vrs
        self.vm = vm
        self.keyword = keyword
        self.name = name
        self.isRetired = isRetired
    }
}

/// The DICOM data dictionary, parsed lazily from the tables in GeneratedDataDictionary.swift and
/// GeneratedPrivateDictionary.swift (made by scripts/gen-dictionary.py).
public enum DataDictionary {
    /// The standard entry for `tag`: exact match, then repeating-group masks. Also answers any group length
    /// (gggg,0000) as UL and any private creator (odd gggg,0010-00FF) as LO. Other private tags give nil.
    public static func entry(for tag: Tag) -> DictionaryEntry? {
        let tables = standard
        if let e = tables.exact[tag.rawValue] { return e }
        if tag.element == 0 {
            // Group lengths are retired except for groups 0000 and 0002, which are exact entries (PS3.5 7.2).
            return DictionaryEntry(tag: tag, vrs: [.UL], vm: "1", keyword: "GroupLength", name: "Group Length", isRetired: true)
        }
        if tag.isPrivateCreator {
            return DictionaryEntry(tag: tag, vrs: [.LO], vm: "1", keyword: "PrivateCreator", name: "Private Creator", isRetired: false)
        }
        if tag.isPrivate { return nil }
        for (mask, entries) in tables.repeating {
            if let e = entries[tag.rawValue & mask] { return e }
        }
        return nil
    }

    /// The entry whose keyword is `keyword` ("PatientName"), standard and repeating tags only.
    public static func entry(forKeyword keyword: String) -> DictionaryEntry? {
        byKeyword[keyword]
    }

    /// The VR for reading implicit VR data: the first dictionary VR, or UN for unknown and private tags.
    public static func vr(for tag: Tag) -> VR {
        if let vr = vrTable[tag.rawValue] { return vr }
        if tag.element == 0 { return .UL }
        if tag.isPrivate { return tag.isPrivateCreator ? .LO : .UN }
        for (mask, table) in repeatingVRTables {
            if let vr = table[tag.rawValue & mask] { return vr }
        }
        return .UN
    }

    /// The private dictionary entry for `tag` under private creator `creator` (compared after trimming
    /// spaces and NULs). The block byte of the element does not matter: (0029,1010) and (0029,1110)
    /// give the same entry as (0029,xx10).
    public static func privateEntry(creator: String, tag: Tag) -> DictionaryEntry? {
        let key = trimmed(creator)
        guard let table = privateTables[key] else { return nil }
        let low = UInt32(tag.element & 0xFF)
        let group = UInt32(tag.group)
        // The same order as pydicom: exact ggggeeee, then ggggxxee, then ggxxxxee.
        return table[PrivateKey(kind: 0, value: tag.rawValue)]
            ?? table[PrivateKey(kind: 1, value: group << 16 | low)]
            ?? table[PrivateKey(kind: 2, value: (group & 0xFF00) << 16 | low)]
    }

    /// All standard entries (exact tags, then repeating ones), in the order of the generated table.
    public static var allEntries: [DictionaryEntry] { standard.all }

    /// The private creators the private dictionary knows.
    public static var privateCreators: [String] { privateTables.keys.sorted() }

    // MARK: - Tables

    static let vrTable = VRTable(standard.exact)
    static let repeatingVRTables: [(UInt32, VRTable)] = standard.repeating.map { ($0.0, VRTable($0.1)) }
    /// Exact tag -> the VR implicit VR data is read with (`DataSetParser.implicitVR`): "US or SS" as US (see
    /// `usOrSS`), "OB or OW" as OW. Every element of every implicit VR dataset (each DIMSE command among them)
    /// looks its VR up here: through `entry(for:)` it was a `Dictionary` lookup and a copy of the entry's strings.
    static let implicitVRTable = VRTable(standard.exact) { e in
        if e.vrs.contains(.US) && e.vrs.contains(.SS) { return .US }
        return e.vrs.count > 1 && e.vrs.contains(.OW) ? .OW : e.vr
    }
    /// Exact tags whose VR is "US or SS" (read as SS in a dataset of signed pixels).
    static let usOrSS: Set<UInt32> = Set(standard.exact.filter { $0.value.vrs.contains(.US) && $0.value.vrs.contains(.SS) }.keys)

    /// Exact tag -> first VR, an open-addressing hash table (cheaper than `Dictionary`'s SipHash).
    struct VRTable: Sendable {
        private var keys: [UInt32]
        private var vrs: [VR]
        private let shift: UInt32
        private static let empty: UInt32 = 0xFFFF_FFFF  // (FFFF,FFFF) is not a dictionary tag

        init(_ entries: [UInt32: DictionaryEntry], vr: (DictionaryEntry) -> VR = { $0.vr }) {
            var bits: UInt32 = 4
            while (1 << bits) < entries.count * 3 { bits += 1 }
            shift = 32 - bits
            keys = Array(repeating: Self.empty, count: 1 << bits)
            vrs = Array(repeating: .UN, count: 1 << bits)
            let m = keys.count - 1
            for (k, e) in entries where k != Self.empty {
                var i = slot(k)
                while keys[i] != Self.empty { i = (i + 1) & m }
                keys[i] = k
                vrs[i] = vr(e)
            }
        }

        private func slot(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> shift) }

        subscript(key: UInt32) -> VR? {
            let m = keys.count - 1
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key { return vrs[i] }
                if k == Self.empty { return nil }
                i = (i + 1) & m
            }
        }
    }

    struct StandardTables: Sendable {
        var exact: [UInt32: DictionaryEntry] = [:]
        /// (mask, entries keyed by the masked tag), one element per distinct mask.
        var repeating: [(UInt32, [UInt32: DictionaryEntry])] = []
        var all: [DictionaryEntry] = []
    }

    struct PrivateKey: Hashable, Sendable {
        /// 0 exact tag, 1 ggggxxee (value gggg00ee), 2 ggxxxxee (value gg0000ee).
        let kind: UInt8
        let value: UInt32
    }

    static let standard: StandardTables = {
        var t = StandardTables()
        t.exact.reserveCapacity(5200)
        t.all.reserveCapacity(5200)
        DictionaryTableParser.forEachLine(standardTable) { f in
            guard f.count >= 6, let (value, mask) = DictionaryTableParser.maskedHex(f[0]) else { return }
            let e = DictionaryEntry(tag: Tag(rawValue: value), vrs: DictionaryTableParser.vrs(f[1]), vm: DictionaryTableParser.string(f[2]),
                                    keyword: DictionaryTableParser.string(f[4]), name: DictionaryTableParser.string(f[5]),
                                    isRetired: f[3].first == UInt8(ascii: "R"))
            t.all.append(e)
            if mask == 0xFFFF_FFFF {
                t.exact[value] = e
            } else if let i = t.repeating.firstIndex(where: { $0.0 == mask }) {
                t.repeating[i].1[value] = e
            } else {
                t.repeating.append((mask, [value: e]))
            }
        }
        return t
    }()

    static let byKeyword: [String: DictionaryEntry] = {
        var d: [String: DictionaryEntry] = [:]
        d.reserveCapacity(standard.all.count)
        for e in standard.all where !e.keyword.isEmpty { d[e.keyword] = e }
        return d
    }()

    static let privateTables: [String: [PrivateKey: DictionaryEntry]] = {
        var result: [String: [PrivateKey: DictionaryEntry]] = [:]
        var creator = ""
        var current: [PrivateKey: DictionaryEntry] = [:]
        DictionaryTableParser.forEachLine(privateTable) { f in
            if f.count == 1, f[0].first == UInt8(ascii: "@") {
                if !current.isEmpty { result[creator, default: [:]].merge(current) { a, _ in a } }
                creator = DictionaryTableParser.string(UnsafeBufferPointer(rebasing: f[0].dropFirst()))
                current = [:]
                return
            }
            guard f.count >= 5, let (value, mask) = DictionaryTableParser.maskedHex(f[0]) else { return }
            let kind: UInt8 = mask == 0xFFFF_FFFF ? 0 : (mask == 0xFFFF_00FF ? 1 : 2)
            current[PrivateKey(kind: kind, value: value)] = DictionaryEntry(
                tag: Tag(rawValue: value), vrs: DictionaryTableParser.vrs(f[1]), vm: DictionaryTableParser.string(f[2]),
                keyword: "", name: DictionaryTableParser.string(f[4]), isRetired: f[3].first == UInt8(ascii: "R"))
        }
        if !current.isEmpty { result[creator, default: [:]].merge(current) { a, _ in a } }
        return result
    }()

    /// `s` without leading and trailing spaces and NULs.
    static func trimmed(_ s: String) -> String {
        var sub = Substring(s)
        while let c = sub.first, c == " " || c == "\0" { sub = sub.dropFirst() }
        while let c = sub.last, c == " " || c == "\0" { sub = sub.dropLast() }
        return sub.startIndex == s.startIndex && sub.endIndex == s.endIndex ? s : String(sub)
    }
}

/// Reads the generated tab-separated tables straight from the UTF-8 bytes of a `StaticString`.
enum DictionaryTableParser {
    typealias Field = UnsafeBufferPointer<UInt8>

    /// Calls `body` with the tab-separated fields of every non-empty line.
    static func forEachLine(_ text: StaticString, _ body: ([Field]) -> Void) {
        text.withUTF8Buffer { buf in
            var fields: [Field] = []
            fields.reserveCapacity(8)
            var lineStart = 0
            var fieldStart = 0
            var i = 0
            let n = buf.count
            while i <= n {
                let b: UInt8 = i < n ? buf[i] : 0x0A
                if b == 0x09 || b == 0x0A {
                    fields.append(Field(rebasing: buf[fieldStart..<i]))
                    fieldStart = i + 1
                    if b == 0x0A {
                        if i > lineStart { body(fields) }
                        fields.removeAll(keepingCapacity: true)
                        lineStart = i + 1
                    }
                }
                i += 1
            }
        }
    }

    static func string(_ f: Field) -> String { String(decoding: f, as: UTF8.self) }

    /// "0028xx10" -> (value 0x00280010, mask 0xFFFF00FF): 'x' digits are zero in the value and the mask.
    static func maskedHex(_ f: Field) -> (UInt32, UInt32)? {
        guard f.count == 8 else { return nil }
        var value: UInt32 = 0
        var mask: UInt32 = 0
        for c in f {
            let d: UInt32
            var m: UInt32 = 0xF
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "x"), UInt8(ascii: "X"): d = 0; m = 0
            default: return nil
            }
            value = value << 4 | d
            mask = mask << 4 | m
        }
        return (value, mask)
    }

    /// "OB/OW" -> [.OB, .OW]; never empty.
    static func vrs(_ f: Field) -> [VR] {
        var result: [VR] = []
        var i = 0
        while i + 1 < f.count {
            if let vr = VR(byte0: f[i], byte1: f[i + 1]) { result.append(vr) }
            i += 3
        }
        return result.isEmpty ? [.UN] : result
    }
}
