/// One media range of an `Accept` header, with its parameters (PS3.18 8.7.3: `multipart/related;
/// type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1`, several ranges separated by commas).
struct MediaRange: Equatable {
    var type: String
    var parameters: [String: String]

    /// Every range of an Accept header, in order (quality values are not ranked: the first acceptable wins,
    /// as every DICOMweb client lists its preference first). Unknown ranges are kept; callers skip them.
    static func parse(_ header: String?) -> [MediaRange] {
        guard let header, !header.isEmpty else { return [] }
        var out: [MediaRange] = []
        for range in split(header, on: ",") {
            let parts = split(range, on: ";")
            guard let first = parts.first?.trimmed.lowercased(), !first.isEmpty else { continue }
            var parameters: [String: String] = [:]
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
                guard kv.count == 2 else { continue }
                var value = kv[1]
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                parameters[kv[0].lowercased()] = value
            }
            out.append(MediaRange(type: first, parameters: parameters))
        }
        return out
    }

    /// Splits on `separator` outside double quotes.
    static func split(_ s: String, on separator: Character) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for c in s {
            if c == "\"" { quoted.toggle() }
            if c == separator && !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        out.append(current)
        return out
    }

    /// Whether this range admits `mediaType` (`*/*`, `type/*`, or equal).
    func admits(_ mediaType: String) -> Bool {
        if type == "*/*" || type == mediaType { return true }
        if type.hasSuffix("/*") { return mediaType.hasPrefix(String(type.dropLast())) }
        return false
    }
}

extension String {
    var trimmed: String {
        var u = Substring(self)
        while let f = u.first, f == " " || f == "\t" { u.removeFirst() }
        while let l = u.last, l == " " || l == "\t" { u.removeLast() }
        return String(u)
    }
}
