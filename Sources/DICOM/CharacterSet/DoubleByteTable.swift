/// A 94 x 94 two-byte character set (JIS X 0208, JIS X 0212, KS X 1001, GB 2312) as Unicode scalar values,
/// indexed by the two 7-bit bytes 21-7E, and its inverse. Built once, lazily, from glibc iconv through the
/// equivalent EUC form; cells the set does not define hold U+FFFD.
struct DoubleByteTable: Sendable {
    /// 94 * 94 scalar values (all these sets are within the BMP).
    let cells: [UInt16]
    /// Scalar value -> the two 7-bit bytes (first << 8 | second). The first cell wins for duplicates.
    let inverse: [UInt32: UInt16]

    /// `prefix` precedes each EUC pair (SS3 8F for JIS X 0212 in EUC-JP).
    init(iconvName: String, prefix: [UInt8] = []) {
        let session = IconvSession()
        var cells = [UInt16](repeating: 0xFFFD, count: 94 * 94)
        var inverse: [UInt32: UInt16] = [:]
        for row in 0..<94 {
            for column in 0..<94 {
                let b1 = UInt8(truncatingIfNeeded: 0xA1 + row), b2 = UInt8(truncatingIfNeeded: 0xA1 + column)
                guard let utf8 = session.convertStrict(prefix + [b1, b2], from: iconvName, to: "UTF-8") else { continue }
                let scalars = String(decoding: utf8, as: UTF8.self).unicodeScalars
                guard scalars.count == 1, let v = scalars.first?.value, v < 0x10000, v != 0xFFFD else { continue }
                cells[row * 94 + column] = UInt16(truncatingIfNeeded: v)
                if inverse[v] == nil { inverse[v] = UInt16(b1 & 0x7F) << 8 | UInt16(b2 & 0x7F) }
            }
        }
        self.cells = cells
        self.inverse = inverse
    }

    /// The scalar value for two bytes (either 7-bit 21-7E or 8-bit A1-FE), U+FFFD when undefined.
    @inline(__always) func scalar(_ b1: UInt8, _ b2: UInt8) -> UInt32 {
        let r = Int(b1 & 0x7F) - 0x21, c = Int(b2 & 0x7F) - 0x21
        guard r >= 0, r < 94, c >= 0, c < 94 else { return 0xFFFD }
        return UInt32(cells[r * 94 + c])
    }

    static let jisX0208 = DoubleByteTable(iconvName: "EUC-JP")
    static let jisX0212 = DoubleByteTable(iconvName: "EUC-JP", prefix: [0x8F])
    static let ksX1001 = DoubleByteTable(iconvName: "EUC-KR")
    static let gb2312 = DoubleByteTable(iconvName: "GB2312")
}
