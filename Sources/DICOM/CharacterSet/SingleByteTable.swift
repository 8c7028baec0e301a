/// The upper half (bytes 80-FF) of an 8-bit character set as Unicode scalar values, and its inverse.
/// Tables are built once, lazily, from glibc iconv (or computed for Latin-1 and JIS X 0201 Katakana);
/// bytes the set does not define map to U+FFFD.
struct SingleByteTable: Sendable {
    /// 128 scalar values for bytes 80-FF.
    let upper: [UInt32]
    /// Scalar value -> byte, for the defined upper-half characters.
    let inverse: [UInt32: UInt8]

    init(upper: [UInt32]) {
        self.upper = upper
        var inverse: [UInt32: UInt8] = [:]
        for (i, v) in upper.enumerated() where v != 0xFFFD {
            inverse[v] = UInt8(truncatingIfNeeded: 0x80 + i)
        }
        self.inverse = inverse
    }

    /// Builds the table by converting each byte 80-FF with iconv.
    init(iconvName: String) {
        let session = IconvSession()
        var upper = [UInt32](repeating: 0xFFFD, count: 128)
        for i in 0..<128 {
            let byte = UInt8(truncatingIfNeeded: 0x80 + i)
            if let utf8 = session.convertStrict([byte], from: iconvName, to: "UTF-8") {
                let scalars = Array(String(decoding: utf8, as: UTF8.self).unicodeScalars)
                if scalars.count == 1 { upper[i] = scalars[0].value }
            }
        }
        self.init(upper: upper)
    }

    @inline(__always) func scalar(_ byte: UInt8) -> UInt32 {
        byte < 0x80 ? UInt32(byte) : upper[Int(byte &- 0x80)]
    }

    static let latin1 = SingleByteTable(upper: (0x80...0xFF).map { UInt32($0) })
    /// JIS X 0201 Katakana: A1-DF -> U+FF61-U+FF9F (half-width katakana); the rest undefined.
    static let katakana = SingleByteTable(upper: (0x80...0xFF).map { b in
        (0xA1...0xDF).contains(b) ? UInt32(0xFF61 + b - 0xA1) : 0xFFFD
    })
    static let latin2 = SingleByteTable(iconvName: "ISO-8859-2")
    static let latin3 = SingleByteTable(iconvName: "ISO-8859-3")
    static let latin4 = SingleByteTable(iconvName: "ISO-8859-4")
    static let greek = SingleByteTable(iconvName: "ISO-8859-7")
    static let arabic = SingleByteTable(iconvName: "ISO-8859-6")
    static let hebrew = SingleByteTable(iconvName: "ISO-8859-8")
    static let cyrillic = SingleByteTable(iconvName: "ISO-8859-5")
    static let latin5 = SingleByteTable(iconvName: "ISO-8859-9")
    static let thai = SingleByteTable(iconvName: "TIS-620")
}
