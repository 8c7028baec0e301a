import DICOM

/// The six categories of an eDCKV study: one composite file each. The raw value is the file's letter.
public enum Category: Character, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Patient and study attributes, one copy per study.
    case study = "e"
    /// Series attributes, one copy per series.
    case series = "s"
    /// Private data: odd groups (private creators included) and UN elements.
    case privateData = "p"
    /// Every other attribute of the instance, file meta elements but (0002,0010) included.
    case instance = "i"
    /// Native pixel data and the attributes needed to decode it.
    case nativePixels = "n"
    /// Encapsulated pixel data, one entry per frame, and the attributes needed to decode it.
    case compressedPixels = "c"

    public var letter: String { String(rawValue) }
    public var description: String { letter }

    /// The first byte of the category's prefixes (§3); categories sort in this order.
    public var prefixByte: UInt8 {
        switch self {
        case .study: 0
        case .series: 1
        case .privateData: 2
        case .instance: 3
        case .nativePixels: 4
        case .compressedPixels: 5
        }
    }

    public init?(prefixByte: UInt8) {
        guard let c = Category.allCases.first(where: { $0.prefixByte == prefixByte }) else { return nil }
        self = c
    }

    public init?(letter: Substring) {
        guard letter.count == 1, let ch = letter.first, let c = Category(rawValue: ch) else { return nil }
        self = c
    }

    public static func < (a: Category, b: Category) -> Bool { a.prefixByte < b.prefixByte }

    /// Attributes a pixel file carries so it decodes on its own (§2), besides the pixel data elements.
    static let pixelDescription: Set<UInt32> = [
        0x0002_0010, 0x0028_0002, 0x0028_0004, 0x0028_0006, 0x0028_0008, 0x0028_0010, 0x0028_0011,
        0x0028_0100, 0x0028_0101, 0x0028_0102, 0x0028_0103,
        0x7FE0_0008, 0x7FE0_0009, 0x7FE0_0010,
    ]

    private static let rootTable: [UInt32: Category] = Dictionary(uniqueKeysWithValues: rootTags.map { ($0.tag, $0.category) })

    /// Where a root-level element goes. `encapsulated`: the instance's transfer syntax is an encapsulated one, so
    /// its pixel description, (0002,0010) included, goes to `c`, with or without pixel data (EDCKV-FORMAT §8).
    public static func route(_ tag: Tag, vr: VR, encapsulated: Bool) -> Category {
        if pixelDescription.contains(tag.rawValue) { return encapsulated ? .compressedPixels : .nativePixels }
        if tag.group & 1 == 1 || vr == .UN { return .privateData }
        return rootTable[tag.rawValue] ?? .instance
    }
}
