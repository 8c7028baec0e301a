/// The 8 bytes every key starts with (§3): category, series number, instance number, frame number.
/// Numbers are stored offset by 0x8000, big-endian, so signed numbers sort as unsigned bytes.
public struct Prefix: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let size = 8
    public var category: Category
    /// Stored (offset) values, 0...0xFFFF.
    public var series: UInt16
    public var instance: UInt16
    public var frame: UInt16

    public init(category: Category, series: UInt16 = 0, instance: UInt16 = 0, frame: UInt16 = 0) {
        self.category = category
        // Fields a category does not have are zero (§3), whatever the caller passed.
        self.series = category == .study ? 0 : series
        self.instance = category == .study || category == .series ? 0 : instance
        self.frame = category == .compressedPixels ? frame : 0
    }

    /// SeriesNumber / InstanceNumber as a stored field, when it fits.
    public static func stored(_ number: Int) -> UInt16? {
        guard number >= -0x8000, number <= 0x7FFF else { return nil }
        return UInt16(truncatingIfNeeded: number + 0x8000)
    }

    /// Artificial numbers for missing or taken ones start here, below every real non-negative number.
    public static let firstArtificial: UInt16 = 0x0010

    public var bytes: [UInt8] {
        [category.prefixByte, UInt8(series >> 8), UInt8(series & 0xFF), 0,
         UInt8(instance >> 8), UInt8(instance & 0xFF), UInt8(frame >> 8), UInt8(frame & 0xFF)]
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let b = Array(bytes.prefix(Self.size))
        guard let category = Category(prefixByte: b[0]) else { return nil }
        let series = UInt16(b[1]) << 8 | UInt16(b[2])
        let instance = UInt16(b[4]) << 8 | UInt16(b[5])
        let frame = UInt16(b[6]) << 8 | UInt16(b[7])
        self.init(category: category, series: series, instance: instance, frame: frame)
        // Reserved bytes and fields the category does not have must be zero.
        guard b[3] == 0, self.bytes == b else { return nil }
    }

    /// The same instance's prefix in another category (frame 0).
    public func with(category: Category, frame: UInt16 = 0) -> Prefix {
        Prefix(category: category, series: series, instance: instance, frame: frame)
    }

    public var hex: String { bytes.map { String($0, radix: 16).leftPadded(2) }.joined() }

    public init?(hex: Substring) {
        guard hex.count == 16 else { return nil }
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
            out.append(b)
            i = j
        }
        self.init(bytes: out)
    }

    public static func < (a: Prefix, b: Prefix) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    public var description: String { hex }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
