/// The meaning of one defined term of Specific Character Set (0008,0005) (PS3.3 C.12.1.1.2).
struct DefinedTerm: Sendable, Hashable {
    /// Encodings that replace the whole repertoire and cannot be combined with code extensions.
    enum Standalone: Sendable, Hashable {
        case utf8, gb18030, gbk

        var iconvName: String {
            switch self {
            case .utf8: return "UTF-8"
            case .gb18030: return "GB18030"
            case .gbk: return "GBK"
            }
        }
    }

    /// The set the term designates to G0 (nil when it only designates G1).
    var g0: GraphicCharacterSet?
    /// The set the term designates to G1.
    var g1: GraphicCharacterSet?
    var standalone: Standalone?
    /// "ISO 2022 ..." terms, which allow code extension.
    var isISO2022: Bool

    private init(g0: GraphicCharacterSet?, g1: GraphicCharacterSet?, standalone: Standalone? = nil, iso2022: Bool) {
        self.g0 = g0
        self.g1 = g1
        self.standalone = standalone
        self.isISO2022 = iso2022
    }

    /// The term for a (trimmed) value of (0008,0005); nil when unknown.
    /// Spelling variants seen in the wild ("ISO-IR 100", "ISO_IR100", "iso_ir 100") are tolerated.
    static func lookup(_ term: String) -> DefinedTerm? {
        if term.isEmpty { return DefinedTerm(g0: .ascii, g1: nil, iso2022: false) }
        var key: [UInt8] = []
        for b in term.utf8 {
            switch b {
            case 0x20, 0x2D, 0x5F: continue            // space, '-', '_'
            case 0x61...0x7A: key.append(b - 0x20)       // upper-case
            default: key.append(b)
            }
        }
        return table[String(decoding: key, as: UTF8.self)]
    }

    private static let table: [String: DefinedTerm] = {
        var t: [String: DefinedTerm] = [:]
        let singles: [(String, GraphicCharacterSet)] = [
            ("100", .latin1), ("101", .latin2), ("109", .latin3), ("110", .latin4), ("126", .greek),
            ("127", .arabic), ("138", .hebrew), ("144", .cyrillic), ("148", .latin5), ("166", .thai),
        ]
        t["ISOIR6"] = DefinedTerm(g0: .ascii, g1: nil, iso2022: false)
        t["ISO2022IR6"] = DefinedTerm(g0: .ascii, g1: nil, iso2022: true)
        for (number, set) in singles {
            t["ISOIR" + number] = DefinedTerm(g0: .ascii, g1: set, iso2022: false)
            t["ISO2022IR" + number] = DefinedTerm(g0: .ascii, g1: set, iso2022: true)
        }
        t["ISOIR13"] = DefinedTerm(g0: .jisRoman, g1: .jisKatakana, iso2022: false)
        t["ISO2022IR13"] = DefinedTerm(g0: .jisRoman, g1: .jisKatakana, iso2022: true)
        t["ISO2022IR87"] = DefinedTerm(g0: .jisX0208, g1: nil, iso2022: true)
        t["ISO2022IR159"] = DefinedTerm(g0: .jisX0212, g1: nil, iso2022: true)
        t["ISO2022IR149"] = DefinedTerm(g0: nil, g1: .ksX1001, iso2022: true)
        t["ISO2022IR58"] = DefinedTerm(g0: nil, g1: .gb2312, iso2022: true)
        t["ISO202258"] = t["ISO2022IR58"]                // misspelling from CP 1234
        t["ISOIR192"] = DefinedTerm(g0: nil, g1: nil, standalone: .utf8, iso2022: false)
        t["GB18030"] = DefinedTerm(g0: nil, g1: nil, standalone: .gb18030, iso2022: false)
        t["GBK"] = DefinedTerm(g0: nil, g1: nil, standalone: .gbk, iso2022: false)
        t["ISO2022GBK"] = t["GBK"]                       // misspelling from CP 1234
        return t
    }()
}
