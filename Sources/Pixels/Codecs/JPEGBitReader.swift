/// Huffman-coded JPEG scan data (ITU-T T.81 F.2.2.5): bytes are read MSB first, 0xFF00 is a stuffed 0xFF,
/// and any other 0xFF xx is a marker that ends the data (the reader then feeds zeros, so a truncated or corrupt
/// scan yields wrong samples and a reported error, never a read past the buffer).
struct JPEGBitReader {
    let data: UnsafeBufferPointer<UInt8>
    var position: Int
    var bits: UInt64 = 0
    var count: Int = 0
    /// A marker was reached (its offset), or the data ran out.
    var markerAt: Int?
    /// Zero bytes fed after the data ended: more of them consumed than bits left means the scan was cut.
    var fakeBytes = 0

    /// Whether decoding read past the scan's data (a truncated or corrupt scan).
    var overran: Bool { fakeBytes * 8 > count }

    init(_ data: UnsafeBufferPointer<UInt8>, at position: Int) {
        self.data = data
        self.position = position
    }

    @inline(__always)
    mutating func fill() {
        // Fast path: plain bytes (no 0xFF) while the data lasts.
        while count <= 56 && markerAt == nil && position < data.count && data[position] != 0xFF {
            bits |= UInt64(data[position]) << UInt64(56 - count)
            position += 1
            count += 8
        }
        if count <= 56 { fillSlow() }
    }

    mutating func fillSlow() {
        while count <= 56 {
            var byte: UInt64 = 0
            if markerAt != nil { fakeBytes += 1 }
            if markerAt == nil {
                if position < data.count {
                    let b = data[position]
                    if b == 0xFF {
                        let next = position + 1 < data.count ? data[position + 1] : 0xD9
                        if next == 0x00 {
                            position += 2
                            byte = 0xFF
                        } else if next == 0xFF {
                            position += 1  // fill bytes before a marker
                            continue
                        } else {
                            markerAt = position
                            fakeBytes += 1
                        }
                    } else {
                        position += 1
                        byte = UInt64(b)
                    }
                } else {
                    markerAt = data.count
                    fakeBytes += 1
                }
            }
            bits |= byte << UInt64(56 - count)
            count += 8
        }
    }

    @inline(__always)
    mutating func peek(_ n: Int) -> UInt32 {
        if count < n { fill() }
        return UInt32(truncatingIfNeeded: bits >> UInt64(64 - n))
    }

    @inline(__always)
    mutating func skip(_ n: Int) {
        bits <<= UInt64(n)
        count -= n
    }

    @inline(__always)
    mutating func read(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        let v = Int(peek(n))
        skip(n)
        return v
    }

    /// T.81 F.2.2.1 EXTEND: `n` received bits as a signed difference.
    @inline(__always)
    mutating func receiveExtend(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        let v = read(n)
        return v < (1 << (n - 1)) ? v - (1 << n) + 1 : v
    }

    @inline(__always)
    mutating func decode(_ table: HuffmanTable) throws -> Int {
        let look = Int(peek(16))
        let entry = table.fast[look >> (16 - HuffmanTable.fastBits)]
        if entry != 0 {
            skip(Int(entry >> 8))
            return Int(entry & 0xFF)
        }
        var length = HuffmanTable.fastBits + 1
        while length <= 16 {
            let code = look >> (16 - length)
            if code <= table.maxCode[length] {
                skip(length)
                let index = table.valueOffset[length] + code
                guard index >= 0, index < table.values.count else { break }
                return Int(table.values[index])
            }
            length += 1
        }
        throw PixelError(.corrupt, "JPEG: invalid Huffman code")
    }

    /// At a restart interval's end: drop the bits left in the byte and the RSTn marker.
    mutating func restart() throws {
        guard !overran else { throw PixelError(.truncated, "JPEG: scan data ends before a restart marker") }
        bits = 0
        count = 0
        markerAt = nil
        fakeBytes = 0
        // The bits left were padding; the marker follows (after fill bytes, or after a padding byte not yet read).
        var p = position
        while p + 1 < data.count && !(data[p] == 0xFF && (0xD0...0xD7).contains(data[p + 1])) {
            guard p - position < 8 else { break }
            p += 1
        }
        guard p + 1 < data.count, data[p] == 0xFF, (0xD0...0xD7).contains(data[p + 1]) else {
            throw PixelError(.corrupt, "JPEG: restart marker missing at offset \(position)")
        }
        position = p + 2
    }
}

/// A Huffman table from DHT's BITS and HUFFVAL (T.81 C), with a 9-bit lookup for the common short codes.
struct HuffmanTable {
    static let fastBits = 9
    /// (length << 8 | value) for codes of up to `fastBits` bits, indexed by the next `fastBits` bits; 0 = longer.
    var fast = [UInt16](repeating: 0, count: 1 << fastBits)
    var maxCode = [Int](repeating: -1, count: 18)
    /// Codes of each length (BITS), kept to rebuild derived tables.
    var counts = [Int](repeating: 0, count: 17)

    func countOf(_ length: Int) -> Int { counts[length] }
    var valueOffset = [Int](repeating: 0, count: 18)
    var values: [UInt8]

    init(counts: [Int], values: [UInt8]) throws {
        self.values = values
        var code = 0, k = 0
        for length in 1...16 {
            let n = counts[length - 1]
            self.counts[length] = n
            valueOffset[length] = k - code
            for _ in 0..<n {
                guard k < values.count else { throw PixelError(.corrupt, "JPEG: Huffman table has fewer values than codes") }
                // A code must fit its length: more codes than that (an over-subscribed table) is corrupt.
                guard code < (1 << length) else { throw PixelError(.corrupt, "JPEG: Huffman table is over-subscribed") }
                if length <= Self.fastBits {
                    let shift = Self.fastBits - length
                    for fill in 0..<(1 << shift) {
                        fast[(code << shift) | fill] = UInt16(length << 8) | UInt16(values[k])
                    }
                }
                code += 1
                k += 1
            }
            maxCode[length] = n > 0 ? code - 1 : -1
            guard code <= (1 << length) else { throw PixelError(.corrupt, "JPEG: Huffman table is over-subscribed") }
            code <<= 1
        }
    }
}

/// The Huffman tables of one scan copied into raw memory for the sample loop: reading a table out of an
/// array of structs per sample (a copy and its reference counting) halved lossless decoding speed.
struct ScanHuffman {
    /// Lossless scans: for the next `combinedBits` bits, the whole difference (code and extra bits) when both
    /// fit: (bits used << 24) | (difference + 65536); 0 when they do not. Most differences of a CT image
    /// resolve in one lookup this way.
    static let combinedBits = 14
    let combined: UnsafeMutablePointer<UInt32>
    let fast: UnsafeMutablePointer<UInt16>
    let maxCode: UnsafeMutablePointer<Int32>
    let valueOffset: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<UInt8>
    let count: Int

    init(_ tables: [HuffmanTable]) {
        count = tables.count
        fast = .allocate(capacity: max(1, count) << HuffmanTable.fastBits)
        maxCode = .allocate(capacity: max(1, count) * 18)
        valueOffset = .allocate(capacity: max(1, count) * 18)
        values = .allocate(capacity: max(1, count) * 256)
        values.initialize(repeating: 0, count: max(1, count) * 256)
        let cb = Self.combinedBits
        combined = .allocate(capacity: max(1, count) << cb)
        combined.initialize(repeating: 0, count: max(1, count) << cb)
        for (k, t) in tables.enumerated() {
            // Walk the canonical codes (T.81 C) again, spreading each code with its extra bits.
            var code = 0, index = 0
            for length in 1...16 {
                let n = index < t.values.count ? t.countOf(length) : 0
                for _ in 0..<n {
                    guard index < t.values.count else { break }
                    let category = Int(t.values[index])
                    let extra = category == 16 ? 0 : category
                    if category <= 16, length + extra <= cb {
                        for v in 0..<(1 << extra) {
                            let diff: Int
                            if category == 0 { diff = 0 } else if category == 16 { diff = 32768 } else { diff = v < (1 << (extra - 1)) ? v - (1 << extra) + 1 : v }
                            let prefix = ((code << extra) | v) << (cb - length - extra)
                            let entry = UInt32(length + extra) << 24 | UInt32(diff + 65536)
                            for fill in 0..<(1 << (cb - length - extra)) { combined[(k << cb) + prefix + fill] = entry }
                        }
                    }
                    code += 1
                    index += 1
                }
                code <<= 1
            }
        }
        for (k, t) in tables.enumerated() {
            for i in 0..<(1 << HuffmanTable.fastBits) { fast[(k << HuffmanTable.fastBits) + i] = t.fast[i] }
            for l in 0..<18 {
                maxCode[k * 18 + l] = Int32(truncatingIfNeeded: t.maxCode[l])
                valueOffset[k * 18 + l] = Int32(truncatingIfNeeded: t.valueOffset[l])
            }
            for (i, v) in t.values.prefix(256).enumerated() { values[k * 256 + i] = v }
        }
    }

    func deallocate() {
        combined.deallocate()
        fast.deallocate()
        maxCode.deallocate()
        valueOffset.deallocate()
        values.deallocate()
    }
}

extension JPEGBitReader {
    @inline(__always)
    mutating func decode(_ h: ScanHuffman, _ k: Int) throws -> Int {
        let look = Int(peek(16))
        let entry = h.fast[(k << HuffmanTable.fastBits) + (look >> (16 - HuffmanTable.fastBits))]
        if entry != 0 {
            skip(Int(entry >> 8))
            return Int(entry & 0xFF)
        }
        var length = HuffmanTable.fastBits + 1
        while length <= 16 {
            let code = Int32(look >> (16 - length))
            if code <= h.maxCode[k * 18 + length] {
                skip(length)
                let index = Int(h.valueOffset[k * 18 + length] + code)
                guard index >= 0, index < 256 else { break }
                return Int(h.values[k * 256 + index])
            }
            length += 1
        }
        throw PixelError(.corrupt, "JPEG: invalid Huffman code")
    }
}

extension JPEGBitReader {
    /// One lossless difference (T.81 H.1.2.2): a category from the table, then that many bits, extended;
    /// category 16 is 32768 with no bits. One refill covers both (at most 16 + 16 bits).
    @inline(__always)
    mutating func decodeDifference(_ h: ScanHuffman, _ k: Int) throws -> Int {
        if count < 32 { fill() }
        let whole = h.combined[(k << ScanHuffman.combinedBits) + Int(truncatingIfNeeded: bits >> UInt64(64 - ScanHuffman.combinedBits))]
        if whole != 0 {
            let used = Int(whole >> 24)
            bits <<= UInt64(used)
            count -= used
            return Int(whole & 0xFF_FFFF) - 65536
        }
        let look = Int(truncatingIfNeeded: bits >> 48)
        let entry = h.fast[(k << HuffmanTable.fastBits) + (look >> (16 - HuffmanTable.fastBits))]
        var t: Int
        if entry != 0 {
            let length = Int(entry >> 8)
            bits <<= UInt64(length)
            count -= length
            t = Int(entry & 0xFF)
        } else {
            t = try decode(h, k)
        }
        if t == 0 { return 0 }
        if t >= 16 {
            guard t == 16 else { throw PixelError(.corrupt, "JPEG: lossless difference category \(t)") }
            return 32768
        }
        let v = Int(truncatingIfNeeded: bits >> UInt64(64 - t))
        bits <<= UInt64(t)
        count -= t
        return v < (1 << (t - 1)) ? v - (1 << t) + 1 : v
    }
}
