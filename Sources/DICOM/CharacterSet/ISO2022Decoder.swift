/// Decodes text that uses ISO 2022 code extension (PS3.5 6.1.2.5): escape sequences designate sets to
/// G0 (bytes 21-7E) and G1 (bytes A0-FF); delimiters reset both to the initial designations
/// (PS3.5 6.1.2.5.3: CR LF FF TAB always, '^' and '=' in PN, '\' in multi-valued VRs).
struct ISO2022Decoder: Sendable {
    /// Always a single-byte set (ASCII or JIS X 0201 Romaji), both decoded as ASCII.
    let initialG0: GraphicCharacterSet
    let initialG1: GraphicCharacterSet?

    func decode(_ p: UnsafeBufferPointer<UInt8>, vr: VR) -> String {
        let isPN = vr == .PN
        let isMulti = vr.allowsBackslashMultiplicity
        var g1 = initialG1
        var g0Table: DoubleByteTable?
        var out: [UInt8] = []
        out.reserveCapacity(p.count * 2)

        let n = p.count
        var i = 0
        while i < n {
            let b = p[i]
            if b == 0x1B {
                var j = i + 1
                while j < n, p[j] >= 0x20, p[j] <= 0x2F { j += 1 }
                if j < n, j > i + 1, j <= i + 3, p[j] >= 0x30, p[j] <= 0x7E {
                    let i2: UInt8 = j == i + 3 ? p[i + 2] : 0
                    if let set = GraphicCharacterSet.designated(intermediate1: p[i + 1], intermediate2: i2, final: p[j]) {
                        if set.isG1 {
                            g1 = set
                        } else {
                            g0Table = set.doubleByteTable
                        }
                    } else {
                        out.append(contentsOf: UTF8Output.replacement)
                    }
                    i = j + 1
                } else if j < n, j > i + 1, p[j] >= 0x30, p[j] <= 0x7E {
                    // A well-formed but unsupported escape sequence: skip it.
                    out.append(contentsOf: UTF8Output.replacement)
                    i = j + 1
                } else {
                    out.append(contentsOf: UTF8Output.replacement)
                    i += 1
                }
                continue
            }
            if b < 0x80 {
                if b <= 0x20 || b == 0x7F || g0Table == nil {
                    switch b {
                    case 0x09, 0x0A, 0x0C, 0x0D:
                        g1 = initialG1; g0Table = nil
                    case 0x5E where isPN, 0x3D where isPN:
                        g1 = initialG1; g0Table = nil
                    case 0x5C where isMulti:
                        g1 = initialG1; g0Table = nil
                    default:
                        break
                    }
                    out.append(b)
                    i += 1
                } else if let table = g0Table, i + 1 < n, p[i + 1] >= 0x21, p[i + 1] <= 0x7E {
                    UTF8Output.append(table.scalar(b, p[i + 1]), to: &out)
                    i += 2
                } else {
                    out.append(contentsOf: UTF8Output.replacement)
                    i += 1
                }
                continue
            }
            guard let set = g1 else {
                // No G1 designated: tolerate stray 8-bit bytes as Latin-1.
                UTF8Output.append(UInt32(b), to: &out)
                i += 1
                continue
            }
            if let table = set.doubleByteTable {
                if b >= 0xA1, b <= 0xFE, i + 1 < n, p[i + 1] >= 0xA1, p[i + 1] <= 0xFE {
                    UTF8Output.append(table.scalar(b, p[i + 1]), to: &out)
                    i += 2
                } else {
                    out.append(contentsOf: UTF8Output.replacement)
                    i += 1
                }
            } else {
                UTF8Output.append(set.table.map { $0.upper[Int(b &- 0x80)] } ?? 0xFFFD, to: &out)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
