/// Encodes a string with ISO 2022 code extension: each character goes to the first listed set that
/// holds it (preferring the current designations), escape sequences designate sets as needed, and the
/// initial designations are restored before every delimiter (CR LF FF TAB ^ = \) and at the end of the value.
struct ISO2022Encoder: Sendable {
    let initialG0: GraphicCharacterSet
    let initialG1: GraphicCharacterSet?
    /// Sets the value of (0008,0005) allows, in term order.
    let candidates: [GraphicCharacterSet]

    func encode(_ string: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        var g0 = initialG0
        var g1 = initialG1
        let asciiG0: GraphicCharacterSet = initialG0.isMultiByte ? .ascii : initialG0
        func designate(_ set: GraphicCharacterSet) {
            out.append(0x1B)
            out.append(contentsOf: set.designation)
        }
        func resetG0() {
            if g0 != initialG0 { designate(initialG0); g0 = initialG0 }
        }
        for scalar in string.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                switch v {
                case 0x09, 0x0A, 0x0C, 0x0D, 0x5C, 0x5E, 0x3D:
                    resetG0()
                    g1 = initialG1
                default:
                    break
                }
                if v > 0x20, v != 0x7F, g0.isMultiByte { designate(asciiG0); g0 = asciiG0 }
                out.append(UInt8(truncatingIfNeeded: v))
                continue
            }
            var order: [GraphicCharacterSet] = []
            if let g1 { order.append(g1) }
            if g0.isMultiByte { order.append(g0) }
            order.append(contentsOf: candidates)
            var found = false
            for set in order {
                guard let bytes = encode(scalar, in: set) else { continue }
                if set.isG1 {
                    if g1 != set { designate(set); g1 = set }
                } else if g0 != set {
                    designate(set); g0 = set
                }
                out.append(contentsOf: bytes)
                found = true
                break
            }
            if !found { return nil }
        }
        resetG0()
        return out
    }

    /// The bytes of one character in `set` as they appear in G0 (7-bit) or G1 (8-bit), nil if absent.
    func encode(_ scalar: Unicode.Scalar, in set: GraphicCharacterSet) -> [UInt8]? {
        if let table = set.table {
            guard let b = table.inverse[scalar.value], b >= 0xA0 else { return nil }
            return [b]
        }
        guard let pair = set.doubleByteTable?.inverse[scalar.value] else { return nil }
        let b1 = UInt8(truncatingIfNeeded: pair >> 8), b2 = UInt8(truncatingIfNeeded: pair)
        return set.isG1 ? [b1 | 0x80, b2 | 0x80] : [b1, b2]
    }
}
