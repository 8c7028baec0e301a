/// The value of Specific Character Set (0008,0005) and the decoding of text values it governs
/// (PS3.5 6.1, PS3.3 C.12.1.1.2).
///
/// Supported: the default repertoire, ISO_IR 100/101/109/110/126/127/138/144/148/13/166, ISO_IR 192 (UTF-8),
/// GB18030, GBK, and ISO 2022 code extension with IR 6/100/101/109/110/126/127/138/144/148/13/166 and the
/// multi-byte IR 87 (JIS X 0208), IR 159 (JIS X 0212), IR 149 (KS X 1001) and IR 58 (GB 2312).
/// Decoding never fails: bytes that do not decode become U+FFFD.
public struct SpecificCharacterSet: Sendable, Hashable, CustomStringConvertible {
    /// The terms as given (trimmed of spaces and NULs). Empty for the default repertoire.
    public let terms: [String]
    /// Terms that are not defined terms (even allowing common misspellings); decoding treats them as Latin-1.
    public let unknownTerms: [String]
    private let mode: Mode

    private enum Mode: Sendable {
        /// One 8-bit set: ASCII (or JIS X 0201 Romaji) in G0 and an upper-half table.
        case singleByte(SingleByteTable, strictASCII: Bool)
        case standalone(DefinedTerm.Standalone)
        case iso2022(initialG0: GraphicCharacterSet, initialG1: GraphicCharacterSet?, candidates: [GraphicCharacterSet])
    }

    public static let `default` = SpecificCharacterSet(terms: [])

    /// UTF-8 (ISO_IR 192) and Latin-1 (ISO_IR 100), made once: the values nearly every dataset that names a
    /// character set names (parsing one per C-FIND answer showed in a client's profile).
    public static let utf8 = SpecificCharacterSet(terms: ["ISO_IR 192"])
    public static let latin1 = SpecificCharacterSet(terms: ["ISO_IR 100"])

    /// The raw value of (0008,0005) as an element holds it.
    public init(bytes: [UInt8]) {
        switch bytes {
        case [], [0x20]: self = .default
        case Self.utf8Bytes, Self.utf8Padded: self = .utf8
        case Self.latin1Bytes, Self.latin1Padded: self = .latin1
        default: self.init(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static let utf8Bytes = Array("ISO_IR 192".utf8)
    private static let latin1Bytes = Array("ISO_IR 100".utf8)
    private static let utf8Padded = utf8Bytes + [0x20]
    private static let latin1Padded = latin1Bytes + [0x20]

    /// Parses the raw value of (0008,0005): terms separated by '\', padding trimmed.
    public init(_ value: String) {
        let trimmed = Self.trim(value)
        self.init(terms: trimmed.isEmpty ? [] : trimmed.split(separator: "\\", omittingEmptySubsequences: false).map(String.init))
    }

    public init(terms: [String]) {
        let terms = terms.map(Self.trim)
        // A lone empty term is the default repertoire.
        self.terms = terms.count == 1 && terms[0].isEmpty ? [] : terms
        let parsed = self.terms.map { DefinedTerm.lookup($0) }
        self.unknownTerms = zip(self.terms, parsed).compactMap { $1 == nil ? $0 : nil }
        self.mode = Self.mode(for: parsed)
    }

    private static func mode(for parsed: [DefinedTerm?]) -> Mode {
        guard let firstTerm = parsed.first else { return .singleByte(.latin1, strictASCII: true) }
        if let first = firstTerm, let standalone = first.standalone { return .standalone(standalone) }
        let iso2022 = parsed.count > 1 || (firstTerm?.isISO2022 ?? false)
        if !iso2022 {
            guard let first = firstTerm else { return .singleByte(.latin1, strictASCII: false) }
            if let table = first.g1?.table { return .singleByte(table, strictASCII: false) }
            return .singleByte(.latin1, strictASCII: true)
        }
        // The first term gives the initial designations; a multi-byte G0 there is not allowed by the
        // standard, so G0 then starts as ASCII.
        var g0: GraphicCharacterSet = .ascii
        if let set = firstTerm?.g0, !set.isMultiByte { g0 = set }
        let g1 = firstTerm?.g1
        var candidates: [GraphicCharacterSet] = []
        for term in parsed {
            guard let term else { continue }
            for set in [term.g1, term.g0].compactMap({ $0 }) where set != .ascii && set != .jisRoman {
                if !candidates.contains(set) { candidates.append(set) }
            }
        }
        return .iso2022(initialG0: g0, initialG1: g1, candidates: candidates)
    }

    private static func trim(_ s: String) -> String {
        let u = Array(s.utf8)
        var lo = 0, hi = u.count
        while lo < hi, u[lo] == 0x20 || u[lo] == 0x00 { lo += 1 }
        while hi > lo, u[hi - 1] == 0x20 || u[hi - 1] == 0x00 { hi -= 1 }
        if lo == 0 && hi == u.count { return s }
        return String(decoding: u[lo..<hi], as: UTF8.self)
    }

    /// Whether the value uses ISO 2022 code extension (an "ISO 2022 ..." term).
    public var isISO2022: Bool {
        if case .iso2022 = mode { return true }
        return false
    }

    public var description: String { terms.joined(separator: "\\") }

    public static func == (lhs: SpecificCharacterSet, rhs: SpecificCharacterSet) -> Bool {
        lhs.terms == rhs.terms
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(terms)
    }

    // MARK: Decoding

    /// Decodes a text value (all values of a multi-valued element, backslashes kept) of VR `vr`.
    /// VRs that do not use the specific character set (AE AS CS DA DS DT IS TM UI ...) decode as
    /// ASCII/Latin-1, UR as UTF-8. Padding is not removed.
    public func decode(_ bytes: some Collection<UInt8>, vr: VR) -> String {
        if UTF8Output.isPlainASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        guard vr.usesSpecificCharacterSet else {
            if vr == .UR { return String(decoding: bytes, as: UTF8.self) }
            return UTF8Output.decode(bytes, table: .latin1)
        }
        switch mode {
        case .singleByte(let table, _):
            return UTF8Output.decode(bytes, table: table)
        case .standalone(.utf8):
            return String(decoding: bytes, as: UTF8.self)
        case .standalone(let encoding):
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            IconvSession().decode(Array(bytes), from: encoding.iconvName, into: &out)
            return String(decoding: out, as: UTF8.self)
        case .iso2022(let g0, let g1, _):
            let decoder = ISO2022Decoder(initialG0: g0, initialG1: g1)
            if let s = bytes.withContiguousStorageIfAvailable({ decoder.decode($0, vr: vr) }) { return s }
            return Array(bytes).withUnsafeBufferPointer { decoder.decode($0, vr: vr) }
        }
    }

    // MARK: Encoding

    /// Encodes a string for a value in this character set, or nil when it cannot be represented.
    /// No padding is added. ISO 2022 values get the escape sequences PS3.5 6.1.2.5.3 requires.
    public func encode(_ string: String) -> [UInt8]? {
        let utf8 = string.utf8
        if utf8.allSatisfy({ $0 < 0x80 && $0 != 0x1B }) { return Array(utf8) }
        switch mode {
        case .singleByte(let table, let strictASCII):
            if strictASCII { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(utf8.count)
            for scalar in string.unicodeScalars {
                if scalar.value < 0x80 {
                    out.append(UInt8(truncatingIfNeeded: scalar.value))
                } else if let b = table.inverse[scalar.value], b >= 0xA0 {
                    out.append(b)
                } else {
                    return nil
                }
            }
            return out
        case .standalone(.utf8):
            return Array(utf8)
        case .standalone(let encoding):
            return IconvSession().convertStrict(Array(utf8), from: "UTF-8", to: encoding.iconvName)
        case .iso2022(let g0, let g1, let candidates):
            return ISO2022Encoder(initialG0: g0, initialG1: g1, candidates: candidates).encode(string)
        }
    }
}
