import DICOM

/// A LUT from a Modality, VOI or palette LUT sequence item or descriptor (PS3.3 C.11.1.1): `count` entries
/// (0 in the descriptor means 65536), the first mapping the input value `firstMapped`, entries of `bits` bits.
struct LookupTable: Sendable {
    var firstMapped: Int
    var bits: Int
    var entries: [Int]

    /// From a LUT Descriptor (3 values) and LUT Data; nil when they are missing or disagree.
    init?(descriptor: [Int], data: Element?, signedInput: Bool) {
        guard descriptor.count == 3, let data else { return nil }
        let count = descriptor[0] == 0 ? 65536 : descriptor[0]
        guard (1...65536).contains(count) else { return nil }  // an SS descriptor can be negative
        var first = descriptor[1]
        // US or SS by the standard; a file naming another VR (SV, IS) could hold Int.min, and `map` subtracts it.
        guard (-32768...65535).contains(first) else { return nil }
        // The first-mapped value is US or SS by the pixel representation: read as unsigned, re-sign it.
        if signedInput && first > 32767 { first -= 65536 }
        let bits = descriptor[2]
        guard (1...16).contains(bits) else { return nil }
        let raw = data.bytes
        var entries: [Int]
        if raw.count == count * 2 {
            entries = (0..<count).map { Int(raw[2 * $0]) | Int(raw[2 * $0 + 1]) << 8 }
            // 8-bit entries are sometimes stored one per 16-bit word in its high byte.
            if bits == 8, entries.contains(where: { $0 > 255 }) { entries = entries.map { $0 >> 8 } }
        } else if bits == 8, raw.count >= count, raw.count <= count + 1 {
            entries = (0..<count).map { Int(raw[$0]) }
        } else {
            return nil
        }
        self.firstMapped = first
        self.bits = bits
        self.entries = entries
    }

    init?(item: DataSet, signedInput: Bool) {
        self.init(descriptor: item.ints(.lutDescriptor), data: item[.lutData], signedInput: signedInput)
    }

    @inline(__always)
    func map(_ x: Int) -> Int {
        let i = x - firstMapped
        if i <= 0 { return entries[0] }
        if i >= entries.count { return entries[entries.count - 1] }
        return entries[i]
    }

    var maxOutput: Int { (1 << bits) - 1 }
}
