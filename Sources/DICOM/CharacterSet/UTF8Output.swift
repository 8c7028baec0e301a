/// Helpers to build the UTF-8 bytes of a decoded string.
enum UTF8Output {
    /// U+FFFD REPLACEMENT CHARACTER.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    @inline(__always)
    static func append(_ value: UInt32, to out: inout [UInt8]) {
        switch value {
        case 0..<0x80:
            out.append(UInt8(truncatingIfNeeded: value))
        case 0x80..<0x800:
            out.append(UInt8(truncatingIfNeeded: 0xC0 | value >> 6))
            out.append(UInt8(truncatingIfNeeded: 0x80 | value & 0x3F))
        case 0x800..<0x10000:
            if (0xD800..<0xE000).contains(value) {
                out.append(contentsOf: replacement)
                return
            }
            out.append(UInt8(truncatingIfNeeded: 0xE0 | value >> 12))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | value & 0x3F))
        case 0x10000..<0x110000:
            out.append(UInt8(truncatingIfNeeded: 0xF0 | value >> 18))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (value >> 12) & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | value & 0x3F))
        default:
            out.append(contentsOf: replacement)
        }
    }

    /// Decodes bytes of an 8-bit set given by its upper-half table.
    static func decode<C: Collection<UInt8>>(_ bytes: C, table: SingleByteTable) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            if b < 0x80 { out.append(b) } else { append(table.upper[Int(b &- 0x80)], to: &out) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when every byte is below 0x80 and none is ESC: the common case, decoded as ASCII directly.
    @inline(__always)
    static func isPlainASCII<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        if let r = bytes.withContiguousStorageIfAvailable({ isPlainASCII(buffer: $0) }) { return r }
        for b in bytes where b >= 0x80 || b == 0x1B { return false }
        return true
    }

    private static func isPlainASCII(buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = buffer.count
        guard let base = buffer.baseAddress else { return true }
        // 8 bytes at a time: no high bit set and no ESC byte.
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { return false }
            // Detect a 0x1B byte: x ^ 0x1B.. is zero in that byte.
            let x = w ^ 0x1B1B_1B1B_1B1B_1B1B
            if (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            let b = base[i]
            if b >= 0x80 || b == 0x1B { return false }
            i += 1
        }
        return true
    }
}
