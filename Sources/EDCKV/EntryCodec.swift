import DICOM

/// Reading and writing entry files: the spool's per-instance files (entries only) and the study's composite
/// files (entries then the footer: a zero byte and the last entry's prefix, §4).
public enum EntryCodec {
    public static let footerSize = 1 + Prefix.size

    /// Serialises entries, checking that keys ascend strictly; `footer` appends the composite footer.
    public static func encode(_ entries: [Entry], footer: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(footerSize) { $0 + $1.encodedSize })
        var previous: [UInt8]? = nil
        for e in entries {
            try check(e)
            if let previous, !previous.lexicographicallyPrecedes(e.key) {
                throw EDCKVError("keys not ascending at \(hex(e.key))")
            }
            previous = e.key
            e.encode(into: &out)
        }
        if footer, let last = entries.last { out.append(0); out.append(contentsOf: last.key[0..<Prefix.size]) }
        return out
    }

    static func check(_ e: Entry) throws {
        guard e.key.count >= Entry.minKeyLength, e.key.count <= Entry.minKeyLength + 8 * Entry.maxDepth,
              (e.key.count - Entry.minKeyLength) % 8 == 0 else { throw EDCKVError("key length \(e.key.count) is not 16 + 8n (n ≤ 29)") }
        guard e.prefix != nil else { throw EDCKVError("bad prefix in key \(hex(e.key))") }
        guard e.value.count <= Int(UInt32.max) else { throw EDCKVError("value too long") }
    }

    /// Parses a whole file's bytes. `footer`: nil accepts either form; the result says whether one was there.
    public static func decode(_ bytes: [UInt8]) throws -> (entries: [Entry], footer: Prefix?) {
        var entries: [Entry] = []
        let reader = EntryScanner()
        var footer: Prefix?
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                switch try reader.next(raw, at: offset) {
                case .entry(let e, let size):
                    entries.append(e); offset += size
                case .footer(let p):
                    footer = p; offset += footerSize
                    guard offset == raw.count else { throw EDCKVError("\(raw.count - offset) bytes after the footer") }
                case .needMore:
                    throw EDCKVError("truncated entry at offset \(offset)")
                }
            }
        }
        return (entries, footer)
    }

    static func hex(_ b: some Sequence<UInt8>) -> String { b.map { String($0, radix: 16).leftPadded(2) }.joined() }
}

/// Decodes one entry or the footer from a buffer; never reads past it nor trusts a length.
struct EntryScanner {
    enum Step { case entry(Entry, size: Int), footer(Prefix), needMore }

    /// A key's length as §1 allows it: a prefix, an ATRC and 8 bytes per level, at most `Entry.maxDepth` levels.
    static func isValidKeyLength(_ kl: Int) -> Bool {
        kl >= Entry.minKeyLength && (kl - Entry.minKeyLength) % 8 == 0 && kl <= Entry.minKeyLength + 8 * Entry.maxDepth
    }

    func next(_ raw: UnsafeRawBufferPointer, at offset: Int) throws -> Step {
        let available = raw.count - offset
        guard available >= 1 else { return .needMore }
        let kl = Int(raw[offset])
        if kl == 0 {
            guard available >= EntryCodec.footerSize else { return .needMore }
            guard let p = Prefix(bytes: UnsafeRawBufferPointer(rebasing: raw[(offset + 1)..<(offset + EntryCodec.footerSize)])) else {
                throw EDCKVError("bad footer prefix at offset \(offset)")
            }
            return .footer(p)
        }
        guard Self.isValidKeyLength(kl) else {
            throw EDCKVError("bad key length \(kl) at offset \(offset)")
        }
        guard available >= 1 + kl + 4 else { return .needMore }
        let lo = offset + 1 + kl
        let vl = Int(raw[lo]) | Int(raw[lo + 1]) << 8 | Int(raw[lo + 2]) << 16 | Int(raw[lo + 3]) << 24
        guard available - (1 + kl + 4) >= vl else { return .needMore }
        let key = [UInt8](copying: UnsafeRawBufferPointer(rebasing: raw[(offset + 1)..<lo]))
        let value = [UInt8](copying: UnsafeRawBufferPointer(rebasing: raw[(lo + 4)..<(lo + 4 + vl)]))
        let e = Entry(key: key, value: value)
        guard e.prefix != nil else { throw EDCKVError("bad prefix at offset \(offset)") }
        return .entry(e, size: 1 + kl + 4 + vl)
    }

    /// Bytes needed to decode the entry at `offset` when `next` said `.needMore` (at least one more).
    func needed(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int {
        let available = raw.count - offset
        guard available >= 1 else { return 1 }
        let kl = Int(raw[offset])
        if kl == 0 { return EntryCodec.footerSize }
        guard available >= 1 + kl + 4 else { return 1 + kl + 4 }
        let lo = offset + 1 + kl
        let vl = Int(raw[lo]) | Int(raw[lo + 1]) << 8 | Int(raw[lo + 2]) << 16 | Int(raw[lo + 3]) << 24
        return 1 + kl + 4 + vl
    }
}
