import DICOM

/// One line per entry for `arca dckv dump`: prefix fields, decoded key path, VR, repertoire, length, value.
public enum EntryDumper {
    public static func line(_ e: Entry, preview: Int) -> String {
        guard let p = e.prefix else { return "bad prefix \(EntryCodec.hex(e.key))" }
        var fields = "\(p.category.letter) "
        switch p.category {
        case .study: break
        case .series: fields += "series \(Int(p.series) - 0x8000) "
        case .compressedPixels: fields += "series \(Int(p.series) - 0x8000) instance \(Int(p.instance) - 0x8000) frame \(p.frame) "
        default: fields += "series \(Int(p.series) - 0x8000) instance \(Int(p.instance) - 0x8000) "
        }
        let path = e.path.map { "\($0.tag)[\($0.item)]" }
        let last = e.isEmptyItemMarker ? "(empty item)" : "\(e.tag)"
        let name = e.isEmptyItemMarker ? "" : DataDictionary.entry(for: e.tag).map { " " + $0.keyword } ?? ""
        let vr = e.vr.map { "\($0)" } ?? String(decoding: [e.vrBytes.0, e.vrBytes.1], as: UTF8.self)
        return fields + (path + [last]).joined(separator: ".") + name + " \(vr) rep=\(e.repertoire) len=\(e.value.count) " + value(e, preview: preview)
    }

    static func value(_ e: Entry, preview: Int) -> String {
        let preview = max(0, preview)  // `prefix` traps on a negative length (`--preview -1`)
        guard let vr = e.vr, !e.value.isEmpty else { return "" }
        if vr.isString {
            let text = String(decoding: e.value.prefix(preview), as: UTF8.self)
            return "[" + text.map { $0.isASCII && ($0.asciiValue ?? 0) >= 32 ? String($0) : "." }.joined() + (e.value.count > preview ? "…" : "") + "]"
        }
        return e.value.prefix(min(preview, 16)).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ") + (e.value.count > 16 ? " …" : "")
    }
}
