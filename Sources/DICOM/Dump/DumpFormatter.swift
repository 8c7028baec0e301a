/// Text listing of a dataset in the style of DCMTK's dcmdump: one line per element with tag, VR, value,
/// length, VM and keyword; nested items indented.
public struct DumpFormatter: Sendable {
    /// Values longer than this are cut with "...".
    public var maxValueWidth = 72
    public init() {}

    public func format(_ file: DICOMFile) -> String {
        var out = "# Dicom-File-Format\n\n"
        if file.hasMeta {
            out += "# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n"
            format(file.meta, depth: 0, into: &out)
            out += "\n"
        }
        out += "# Dicom-Data-Set\n# Used TransferSyntax: \(syntaxName(file.transferSyntax))\n"
        format(file.dataSet, depth: 0, into: &out)
        return out
    }

    /// A read that may have stopped early: everything it read (the meta header alone when it stopped before
    /// the dataset); the caller prints the error after it, as dcmdump does.
    public func format(_ read: DICOMFile.PartialRead) -> String {
        if let file = read.file { return format(file) }
        guard !read.meta.isEmpty else { return "" }
        var out = "# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n"
        format(read.meta, depth: 0, into: &out)
        return out
    }

    public func format(_ ds: DataSet, depth: Int, into out: inout String) {
        for e in ds.elements { format(e, in: ds, depth: depth, into: &out) }
    }

    private func syntaxName(_ ts: TransferSyntax) -> String {
        UIDRegistry.entry(for: ts.uid)?.name ?? ts.uid
    }

    private func format(_ e: Element, in ds: DataSet, depth: Int, into out: inout String) {
        let keyword = DataDictionary.entry(for: e.tag)?.keyword ?? (e.tag.isPrivate ? "PrivateTag" : "Unknown Tag & Data")
        switch e.value {
        case .bytes(let b):
            let (text, vm) = valueText(e, b, ds)
            line(depth, e.tag, e.vr.description, text, length: String(b.count), vm: String(vm), keyword, &out)
        case .sequence(let seq):
            let kind = seq.hasUndefinedLength ? "undefined length" : "explicit length"
            line(depth, e.tag, e.vr == .UN ? "UN" : "SQ", "(Sequence with \(kind) #=\(seq.items.count))",
                 length: seq.hasUndefinedLength ? "u/l" : "", vm: "1", keyword, &out)
            for item in seq.items {
                let ik = item.hasUndefinedLength ? "undefined length" : "explicit length"
                line(depth + 1, .item, "na", "(Item with \(ik) #=\(item.dataSet.count))",
                     length: item.hasUndefinedLength ? "u/l" : "", vm: "1", "Item", &out)
                format(item.dataSet, depth: depth + 2, into: &out)
                line(depth + 1, .itemDelimitation, "na", item.hasUndefinedLength ? "(ItemDelimitationItem)" : "(ItemDelimitationItem for re-encoding)",
                     length: "0", vm: "0", "ItemDelimitationItem", &out)
            }
            line(depth, .sequenceDelimitation, "na", seq.hasUndefinedLength ? "(SequenceDelimitationItem)" : "(SequenceDelimitationItem for re-encod.)",
                 length: "0", vm: "0", "SequenceDelimitationItem", &out)
        case .fragments(let px):
            line(depth, e.tag, e.vr.description, "(PixelSequence #=\(px.fragments.count + 1))", length: "u/l", vm: "1", keyword, &out)
            for f in [px.offsetTable] + px.fragments {
                line(depth + 1, .item, "pi", hexPreview(f, width: 1), length: String(f.count), vm: "1", "Item", &out)
            }
            line(depth, .sequenceDelimitation, "na", "(SequenceDelimitationItem)", length: "0", vm: "0", "SequenceDelimitationItem", &out)
        }
    }

    private func line(_ depth: Int, _ tag: Tag, _ vr: String, _ value: String, length: String, vm: String,
                      _ keyword: String, _ out: inout String) {
        var s = String(repeating: "  ", count: depth) + tag.description + " " + vr + " " + value
        let column = 2 * depth + 55
        if s.count < column { s += String(repeating: " ", count: column - s.count) }
        let padded = length.count < 3 ? String(repeating: " ", count: 3 - length.count) + length : length
        out += s + " # " + padded + ", " + vm + " " + keyword + "\n"
    }

    /// The value as dcmdump shows it, and its value multiplicity.
    func valueText(_ e: Element, _ b: [UInt8], _ ds: DataSet) -> (String, Int) {
        if b.isEmpty { return ("(no value available)", 0) }
        let vr = e.vr
        if vr.isString {
            let text = ds.characterSet.decode(b, vr: vr)
            var trimmed = Substring(text)
            while let l = trimmed.last, l == "\0" || (l == " " && vr != .UT) { trimmed.removeLast() }
            let vm = vr.allowsBackslashMultiplicity ? trimmed.split(separator: "\\", omittingEmptySubsequences: false).count : 1
            if vr == .UI, let name = UIDRegistry.entry(for: String(trimmed))?.keyword, !name.isEmpty {
                return ("=" + name, vm)
            }
            return (cut("[" + trimmed.replacingControlCharacters() + "]"), vm)
        }
        switch vr {
        case .US, .SS, .UL, .SL, .SV, .UV:
            let values = ds.ints(e.tag).map(String.init)
            return (cut(values.joined(separator: "\\")), values.count)
        case .FL, .FD:
            let values = ds.doubles(e.tag).map { String($0) }
            return (cut(values.joined(separator: "\\")), values.count)
        case .AT:
            let v = LittleEndian.values(b, width: 2)
            let tags = stride(from: 0, to: v.count - 1, by: 2).map { Tag(UInt16(v[$0]), UInt16(v[$0 + 1])).description }
            return (cut(tags.joined(separator: "\\")), tags.count)
        case .OW, .OF, .OD, .OL, .OV:
            return (hexPreview(b, width: vr.swapWidth), 1)
        default:
            return (hexPreview(b, width: 1), 1)
        }
    }

    private func hexPreview(_ b: [UInt8], width: Int) -> String {
        if b.isEmpty { return "(no value available)" }
        let values = LittleEndian.values(Array(b.prefix(64)), width: width)
        let digits = width * 2
        let parts = values.prefix(24).map { v -> String in
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        return cut(parts.joined(separator: "\\") + (b.count > 64 ? "..." : ""))
    }

    private func cut(_ s: String) -> String {
        s.count > maxValueWidth ? String(s.prefix(maxValueWidth - 3)) + "..." : s
    }
}

extension Substring {
    /// Control characters (CR, LF, ESC…) shown as dcmdump does not break lines: replaced by '.'.
    func replacingControlCharacters() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 0x20 && $0 != "\u{1B}" ? "." : $0 }))
    }
}
