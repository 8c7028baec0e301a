import DICOM
import Foundation

/// The DICOM JSON model (PS3.18 F): a dataset as `{"GGGGEEEE": {"vr": …, "Value": […]}}`. Keys are eight
/// upper-case hex digits; an attribute present but empty has only its `vr`; PN values are objects with
/// `Alphabetic`, `Ideographic`, `Phonetic`; IS, DS and the binary numbers are JSON numbers; AT values are hex
/// strings; binary values are `InlineBinary` (base64) up to `inlineLimit` bytes, `BulkDataURI` beyond (when a
/// URI is given for them), so metadata never carries pixels.
struct DICOMJSONEncoder {
    /// Binary values up to this many bytes are inlined.
    var inlineLimit = 256
    /// The BulkDataURI of a top-level binary element (nil: inline whatever its size).
    var bulkDataURI: ((Tag) -> String?)?

    func encode(_ ds: DataSet) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(ds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON array of datasets.
    func encode(_ list: [DataSet]) -> String {
        var out: [UInt8] = []
        write(list, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON array of datasets, appended as UTF-8 to `out`: a QIDO-RS answer of thousands of matches is one
    /// buffer written byte by byte, not thousands of small strings joined.
    func write(_ list: [DataSet], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, ds) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            write(ds, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// One dataset, appended as UTF-8 to `out`.
    func write(_ ds: DataSet, into out: inout [UInt8]) {
        write(ds, into: &out, topLevel: true)
    }

    private func write(_ ds: DataSet, into out: inout [UInt8], topLevel: Bool) {
        writeObject(ds, into: &out) { e, out in write(e, in: ds, into: &out, topLevel: topLevel) }
    }

    /// `{"GGGGEEEE":…,…}` of `elements` in their order, the value of each written by `value`; group lengths,
    /// file meta elements and delimiters are not part of the JSON model.
    private func writeObject<Elements: Sequence<Element>>(_ elements: Elements, into out: inout [UInt8],
                                                          value: (Element, inout [UInt8]) -> Void) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for e in elements where !e.tag.isGroupLength && !e.tag.isFileMeta && !e.tag.isDelimiter {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            Self.appendKey(e.tag, to: &out)
            out += #"":"#.utf8
            value(e, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// One dataset given as its elements (ascending tags, text ASCII: `AnswerValues.flatASCIIElements`), written
    /// as `write(_:into:)` writes the dataset that would hold them: QIDO-RS builds no dataset per answer.
    func write(elements: [Element], into out: inout [UInt8]) {
        writeObject(elements, into: &out) { e, out in
            if e.vr.isBinaryNumber {
                // Binary numbers are read through the dataset that holds them.
                var holder = DataSet()
                holder.set(e)
                write(e, in: holder, into: &out, topLevel: true)
            } else {
                write(e, in: Self.asciiDataSet, into: &out, topLevel: true)
            }
        }
    }

    /// What ASCII text is read in: the default character set, as in a dataset without (0008,0005).
    private static let asciiDataSet = DataSet()

    static func key(_ tag: Tag) -> String {
        var out: [UInt8] = []
        appendKey(tag, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerHexDigits = Array("0123456789abcdef".utf8)

    /// Eight upper-case hex digits.
    private static func appendKey(_ tag: Tag, to out: inout [UInt8]) {
        for shift in stride(from: 28, through: 0, by: -4) {
            out.append(hexDigits[Int((tag.rawValue >> UInt32(shift)) & 0xF)])
        }
    }

    private func write(_ e: Element, in ds: DataSet, into out: inout [UInt8], topLevel: Bool) {
        let vr = e.vr
        out += #"{"vr":""#.utf8
        out.append(UInt8(truncatingIfNeeded: vr.rawValue >> 8))
        out.append(UInt8(truncatingIfNeeded: vr.rawValue))
        out.append(UInt8(ascii: "\""))
        defer { out.append(UInt8(ascii: "}")) }
        switch e.value {
        case .sequence(let seq):
            guard !seq.items.isEmpty else { return }
            out += #","Value":["#.utf8
            for (i, item) in seq.items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item.dataSet, into: &out, topLevel: false)
            }
            out.append(UInt8(ascii: "]"))
        case .fragments:
            if topLevel, let uri = bulkDataURI?(e.tag) {
                out += #","BulkDataURI":"#.utf8
                Self.appendQuoted(uri, to: &out)
            }
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            if vr.isString {
                writeStrings(e, in: ds, into: &out)
            } else if vr == .AT {
                out += #","Value":["#.utf8
                for (n, i) in stride(from: 0, to: bytes.count - 3, by: 4).enumerated() {
                    if n > 0 { out.append(UInt8(ascii: ",")) }
                    let group = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
                    let element = UInt16(bytes[i + 2]) | UInt16(bytes[i + 3]) << 8
                    out.append(UInt8(ascii: "\""))
                    Self.appendKey(Tag(group, element), to: &out)
                    out.append(UInt8(ascii: "\""))
                }
                out.append(UInt8(ascii: "]"))
            } else if vr.isBinaryNumber {
                let numbers = vr == .FL || vr == .FD ? ds.doubles(e.tag).map(Self.number) : ds.ints(e.tag).map(String.init)
                out += #","Value":["#.utf8
                out += numbers.joined(separator: ",").utf8
                out.append(UInt8(ascii: "]"))
            } else if bytes.count > inlineLimit, topLevel, let uri = bulkDataURI?(e.tag) {
                out += #","BulkDataURI":"#.utf8
                Self.appendQuoted(uri, to: &out)
            } else {
                out += #","InlineBinary":""#.utf8
                out += Data(bytes).base64EncodedString().utf8
                out.append(UInt8(ascii: "\""))
            }
        }
    }

    private func writeStrings(_ e: Element, in ds: DataSet, into out: inout [UInt8]) {
        if !Self.writeASCIIStrings(e.bytes, e.vr, into: &out) { writeDecodedStrings(e, in: ds, into: &out) }
    }

    /// `writeStrings` for the usual value, read as bytes: printable ASCII (which every character set decodes as
    /// itself), no quote to escape, no backslash but the separators of a multi-valued VR, NUL only as padding,
    /// no `=` in a person name, integers in IS. Returns false, having written nothing, for anything else (and
    /// for DS, whose numbers are reformatted). A QIDO-RS answer decoded, split and trimmed each value as
    /// Strings: 15% of the server's time for a 19-study search. `DICOMJSONTests` compare both paths.
    static func writeASCIIStrings(_ bytes: [UInt8], _ vr: VR, into out: inout [UInt8]) -> Bool {
        guard vr != .DS else { return false }
        let multi = vr.allowsBackslashMultiplicity
        let trimsLeading = vr != .LT && vr != .ST && vr != .UT && vr != .UR
        return bytes.withUnsafeBufferPointer { b in
            // Each value's range, its padding trimmed as `TextValue.trim` trims it; false stops.
            func forEachValue(_ body: (Range<Int>) -> Bool) -> Bool {
                var start = 0
                for i in 0...b.count where i == b.count || (multi && b[i] == 0x5C) {
                    var lo = start, hi = i
                    while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0 { hi -= 1 }
                    if trimsLeading { while lo < hi, b[lo] == 0x20 { lo += 1 } }
                    guard body(lo..<hi) else { return false }
                    start = i + 1
                }
                return true
            }
            for c in b {
                guard c == 0 || (c >= 0x20 && c < 0x7F), c != 0x22, multi || c != 0x5C, vr != .PN || c != 0x3D else { return false }
            }
            var anyValue = false
            let plain = forEachValue { r in
                anyValue = anyValue || !r.isEmpty
                return !b[r].contains(0) && (vr != .IS || r.isEmpty || canonicalInteger(b[r]) != nil)
            }
            guard plain else { return false }
            guard anyValue else { return true }
            out += #","Value":["#.utf8
            var first = true
            _ = forEachValue { r in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                if r.isEmpty {
                    out += "null".utf8
                } else if vr == .IS, let digits = canonicalInteger(b[r]) {
                    out += digits
                } else {
                    if vr == .PN { out += #"{"Alphabetic":"#.utf8 }
                    out.append(UInt8(ascii: "\""))
                    out += b[r]
                    out.append(UInt8(ascii: "\""))
                    if vr == .PN { out.append(UInt8(ascii: "}")) }
                }
                return true
            }
            out.append(UInt8(ascii: "]"))
            return true
        }
    }

    /// An integer as `String(Int(text))` writes it (sign `+` and leading zeros dropped, `-0` as `0`), or nil when
    /// `Int(text)` is nil (not an integer, or beyond 18 digits, which this leaves to the general path).
    static func canonicalInteger(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> ArraySlice<UInt8>? {
        var digits = text[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        while digits.count > 1, digits.first == 0x30 { digits = digits.dropFirst() }
        let zero = digits.count == 1 && digits.first == 0x30
        return ArraySlice((negative && !zero ? [UInt8(ascii: "-")] : []) + Array(digits))
    }

    func writeDecodedStrings(_ e: Element, in ds: DataSet, into out: inout [UInt8]) {
        let vr = e.vr
        let raw = ds.characterSet.decode(e.bytes, vr: vr)
        let values = vr.allowsBackslashMultiplicity ? raw.split(separator: "\\", omittingEmptySubsequences: false).map(String.init) : [raw]
        let trimmed = values.map { TextValue.trim($0, vr: vr) }
        guard trimmed.contains(where: { !$0.isEmpty }) else { return }
        out += #","Value":["#.utf8
        for (i, v) in trimmed.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if v.isEmpty {
                out += "null".utf8
                continue
            }
            switch vr {
            case .PN:
                out.append(UInt8(ascii: "{"))
                var first = true
                let groups = v.split(separator: "=", omittingEmptySubsequences: false)
                for (name, group) in zip(["Alphabetic", "Ideographic", "Phonetic"], groups) where !group.isEmpty {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(UInt8(ascii: "\""))
                    out += name.utf8
                    out += #"":"#.utf8
                    Self.appendQuoted(group, to: &out)
                }
                out.append(UInt8(ascii: "}"))
            case .IS:
                if let n = Int(v) { out += String(n).utf8 } else { Self.appendQuoted(v, to: &out) }
            case .DS:
                if let d = Double(v), d.isFinite { out += Self.number(d).utf8 } else { Self.appendQuoted(v, to: &out) }
            default:
                Self.appendQuoted(v, to: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest copied as UTF-8.
    /// `s` escaped as the inside of a JSON string.
    static func escaped(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out.dropFirst().dropLast(), as: UTF8.self)
    }

    private static func appendQuoted<S: StringProtocol>(_ s: S, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case UInt8(ascii: "\n"): out += #"\n"#.utf8
            case UInt8(ascii: "\r"): out += #"\r"#.utf8
            case UInt8(ascii: "\t"): out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(lowerHexDigits[Int(byte >> 4)])
                out.append(lowerHexDigits[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension VR {
    /// Binary numbers given as JSON numbers (PS3.18 F.2.3).
    var isBinaryNumber: Bool {
        switch self {
        case .US, .SS, .UL, .SL, .FL, .FD, .SV, .UV: return true
        default: return false
        }
    }
}
