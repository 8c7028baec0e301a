/// One media range of an `Accept` header, with its parameters (PS3.18 8.7.3: `multipart/related;
/// type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1`, several ranges separated by commas).
struct MediaRange: Equatable {
    var type: String
    var parameters: [String: String]

    /// Every range of an Accept header, most preferred first: by quality value, then in the
    /// order written (RFC 9110 12.5.1); a range of quality 0 is left out. Callers take the first range they can
    /// answer and go on to the next one otherwise. Media types and the `type` parameter are compared in lower case.
    static func parse(_ header: String?) -> [MediaRange] {
        guard let header, !header.isEmpty else { return [] }
        var out: [(range: MediaRange, quality: Double)] = []
        for text in split(header, on: ",") {
            if let (range, quality) = range(text), quality > 0 { out.append((range, quality)) }
        }
        // Sorted by quality, the written order kept among equals (the offset breaks ties).
        return out.enumerated().sorted { ($0.element.quality, -$0.offset) > ($1.element.quality, -$1.offset) }.map(\.element.range)
    }

    /// A Content-Type: exactly one media type (a list is no Content-Type: read as an Accept list, one whose first
    /// range a browser sends without asking let a page of any site store instances).
    static func contentType(_ header: String?) -> MediaRange? {
        guard let header, split(header, on: ",").count == 1 else { return nil }
        return range(header)?.range
    }

    /// One range and its quality value (`q`, 1 when absent).
    private static func range(_ text: String) -> (range: MediaRange, quality: Double)? {
        let parts = split(text, on: ";")
        guard let first = parts.first?.trimmed.lowercased(), !first.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        var quality = 1.0
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
            guard kv.count == 2 else { continue }
            var value = kv[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            let name = kv[0].lowercased()
            switch name {
            case "q": quality = Double(value).map { min(1, max(0, $0)) } ?? 1
            case "type": parameters[name] = value.lowercased()
            default: parameters[name] = value
            }
        }
        return (MediaRange(type: first, parameters: parameters), quality)
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
