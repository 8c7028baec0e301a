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
        var out = ""
        out.reserveCapacity(1024)
        write(ds, into: &out, topLevel: true)
        return out
    }

    /// A JSON array of datasets.
    func encode(_ list: [DataSet]) -> String {
        "[" + list.map { encode($0) }.joined(separator: ",") + "]"
    }

    private func write(_ ds: DataSet, into out: inout String, topLevel: Bool) {
        out += "{"
        var first = true
        for e in ds where !e.tag.isGroupLength && !e.tag.isFileMeta && !e.tag.isDelimiter {
            if !first { out += "," }
            first = false
            out += "\"" + Self.key(e.tag) + "\":"
            write(e, in: ds, into: &out, topLevel: topLevel)
        }
        out += "}"
    }

    static func key(_ tag: Tag) -> String {
        let h = String(tag.rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    private func write(_ e: Element, in ds: DataSet, into out: inout String, topLevel: Bool) {
        let vr = e.vr
        out += "{\"vr\":\"\(vr)\""
        defer { out += "}" }
        switch e.value {
        case .sequence(let seq):
            guard !seq.items.isEmpty else { return }
            out += ",\"Value\":["
            for (i, item) in seq.items.enumerated() {
                if i > 0 { out += "," }
                write(item.dataSet, into: &out, topLevel: false)
            }
            out += "]"
        case .fragments:
            if topLevel, let uri = bulkDataURI?(e.tag) { out += ",\"BulkDataURI\":" + Self.quote(uri) }
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            if vr.isString {
                writeStrings(e, in: ds, into: &out)
            } else if vr == .AT {
                let values = stride(from: 0, to: bytes.count - 3, by: 4).map { i -> String in
                    let group = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
                    let element = UInt16(bytes[i + 2]) | UInt16(bytes[i + 3]) << 8
                    return Self.quote(Self.key(Tag(group, element)))
                }
                out += ",\"Value\":[" + values.joined(separator: ",") + "]"
            } else if vr.isBinaryNumber {
                let numbers = vr == .FL || vr == .FD ? ds.doubles(e.tag).map(Self.number) : ds.ints(e.tag).map(String.init)
                out += ",\"Value\":[" + numbers.joined(separator: ",") + "]"
            } else if bytes.count > inlineLimit, topLevel, let uri = bulkDataURI?(e.tag) {
                out += ",\"BulkDataURI\":" + Self.quote(uri)
            } else {
                out += ",\"InlineBinary\":\"" + Data(bytes).base64EncodedString() + "\""
            }
        }
    }

    private func writeStrings(_ e: Element, in ds: DataSet, into out: inout String) {
        let vr = e.vr
        let raw = ds.characterSet.decode(e.bytes, vr: vr)
        let values = vr.allowsBackslashMultiplicity ? raw.split(separator: "\\", omittingEmptySubsequences: false).map(String.init) : [raw]
        let trimmed = values.map { TextValue.trim($0, vr: vr) }
        guard trimmed.contains(where: { !$0.isEmpty }) else { return }
        let items: [String] = trimmed.map { v in
            if v.isEmpty { return "null" }
            switch vr {
            case .PN:
                let groups = v.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
                var parts: [String] = []
                for (name, group) in zip(["Alphabetic", "Ideographic", "Phonetic"], groups) where !group.isEmpty {
                    parts.append("\"\(name)\":" + Self.quote(group))
                }
                return "{" + parts.joined(separator: ",") + "}"
            case .IS:
                return Int(v).map(String.init) ?? Self.quote(v)
            case .DS:
                return Double(v).flatMap { $0.isFinite ? Self.number($0) : nil } ?? Self.quote(v)
            default:
                return Self.quote(v)
            }
        }
        out += ",\"Value\":[" + items.joined(separator: ",") + "]"
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
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
