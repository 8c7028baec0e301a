/// One coded character set that ISO 2022 code extension can designate to G0 or G1
/// (PS3.3 Tables C.12-3 and C.12-4), or that a single-byte defined term implies.
enum GraphicCharacterSet: UInt8, Sendable, Hashable, CaseIterable {
    /// ISO-IR 6, ASCII (G0).
    case ascii
    /// ISO-IR 14, JIS X 0201 Romaji (G0). Decoded as ASCII: DICOM keeps 05/12 as the backslash delimiter.
    case jisRoman
    /// ISO-IR 100 ... 166: the right-hand parts of ISO 8859 and TIS 620 (G1, 96 characters).
    case latin1, latin2, latin3, latin4, greek, arabic, hebrew, cyrillic, latin5, thai
    /// ISO-IR 13, JIS X 0201 Katakana (G1).
    case jisKatakana
    /// ISO-IR 87, JIS X 0208 (G0, two bytes).
    case jisX0208
    /// ISO-IR 159, JIS X 0212 (G0, two bytes).
    case jisX0212
    /// ISO-IR 149, KS X 1001 (G1, two bytes).
    case ksX1001
    /// ISO-IR 58, GB 2312 (G1, two bytes).
    case gb2312

    /// Whether the set is designated to G1 (right half, bytes A0-FF) rather than G0.
    var isG1: Bool {
        switch self {
        case .ascii, .jisRoman, .jisX0208, .jisX0212: return false
        default: return true
        }
    }

    var isMultiByte: Bool {
        switch self {
        case .jisX0208, .jisX0212, .ksX1001, .gb2312: return true
        default: return false
        }
    }

    /// The escape sequence that designates this set (without the leading ESC).
    var designation: [UInt8] {
        switch self {
        case .ascii: return [0x28, 0x42]                // ( B
        case .jisRoman: return [0x28, 0x4A]             // ( J
        case .latin1: return [0x2D, 0x41]               // - A
        case .latin2: return [0x2D, 0x42]               // - B
        case .latin3: return [0x2D, 0x43]               // - C
        case .latin4: return [0x2D, 0x44]               // - D
        case .greek: return [0x2D, 0x46]                // - F
        case .arabic: return [0x2D, 0x47]               // - G
        case .hebrew: return [0x2D, 0x48]               // - H
        case .cyrillic: return [0x2D, 0x4C]             // - L
        case .latin5: return [0x2D, 0x4D]               // - M
        case .thai: return [0x2D, 0x54]                 // - T
        case .jisKatakana: return [0x29, 0x49]          // ) I
        case .jisX0208: return [0x24, 0x42]             // $ B
        case .jisX0212: return [0x24, 0x28, 0x44]       // $ ( D
        case .ksX1001: return [0x24, 0x29, 0x43]        // $ ) C
        case .gb2312: return [0x24, 0x29, 0x41]         // $ ) A
        }
    }

    /// The set designated by an escape sequence: ESC, one or two intermediate bytes, a final byte.
    /// `intermediate2` is 0 when there is one intermediate. `ESC $ @` (JIS C 6226-1978) is accepted as JIS X 0208.
    static func designated(intermediate1 i1: UInt8, intermediate2 i2: UInt8, final f: UInt8) -> GraphicCharacterSet? {
        switch (i1, i2, f) {
        case (0x28, 0, 0x42): return .ascii
        case (0x28, 0, 0x4A): return .jisRoman
        case (0x29, 0, 0x49): return .jisKatakana
        case (0x2D, 0, 0x41): return .latin1
        case (0x2D, 0, 0x42): return .latin2
        case (0x2D, 0, 0x43): return .latin3
        case (0x2D, 0, 0x44): return .latin4
        case (0x2D, 0, 0x46): return .greek
        case (0x2D, 0, 0x47): return .arabic
        case (0x2D, 0, 0x48): return .hebrew
        case (0x2D, 0, 0x4C): return .cyrillic
        case (0x2D, 0, 0x4D): return .latin5
        case (0x2D, 0, 0x54): return .thai
        case (0x24, 0, 0x42), (0x24, 0, 0x40): return .jisX0208
        case (0x24, 0x28, 0x44): return .jisX0212
        case (0x24, 0x29, 0x43): return .ksX1001
        case (0x24, 0x29, 0x41): return .gb2312
        default: return nil
        }
    }

    /// The glibc iconv name of the 8-bit code whose upper half this set is (single-byte sets).
    var iconvName: String? {
        switch self {
        case .latin1: return "ISO-8859-1"
        case .latin2: return "ISO-8859-2"
        case .latin3: return "ISO-8859-3"
        case .latin4: return "ISO-8859-4"
        case .greek: return "ISO-8859-7"
        case .arabic: return "ISO-8859-6"
        case .hebrew: return "ISO-8859-8"
        case .cyrillic: return "ISO-8859-5"
        case .latin5: return "ISO-8859-9"
        case .thai: return "TIS-620"
        default: return nil
        }
    }

    /// The table of a two-byte set (nil for the others).
    var doubleByteTable: DoubleByteTable? {
        switch self {
        case .jisX0208: return DoubleByteTable.jisX0208
        case .jisX0212: return DoubleByteTable.jisX0212
        case .ksX1001: return DoubleByteTable.ksX1001
        case .gb2312: return DoubleByteTable.gb2312
        default: return nil
        }
    }

    /// The upper-half table of a single-byte G1 set (nil for the others).
    var table: SingleByteTable? {
        switch self {
        case .latin1: return SingleByteTable.latin1
        case .latin2: return SingleByteTable.latin2
        case .latin3: return SingleByteTable.latin3
        case .latin4: return SingleByteTable.latin4
        case .greek: return SingleByteTable.greek
        case .arabic: return SingleByteTable.arabic
        case .hebrew: return SingleByteTable.hebrew
        case .cyrillic: return SingleByteTable.cyrillic
        case .latin5: return SingleByteTable.latin5
        case .thai: return SingleByteTable.thai
        case .jisKatakana: return SingleByteTable.katakana
        default: return nil
        }
    }
}
