import DICOM

/// One key-value entry (§1): `KL:u8 KEY[KL] VL:u32le VALUE[VL]`, the key being
/// `PREFIX[8] (sequence tag u32be, item number u32be)* (tag u32be, VR, repertoire u16le)`.
public struct Entry: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]

    public static let maxDepth = 29
    public static let minKeyLength = 16
    /// The ATRC of an empty item's marker entry: item tag, VR "IT", repertoire 0.
    static let emptyItemATRC: [UInt8] = [0xFF, 0xFE, 0xE0, 0x00, 0x49, 0x54, 0, 0]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }

    public var prefix: Prefix? { Prefix(bytes: key) }
    public var depth: Int { (key.count - Self.minKeyLength) / 8 }

    /// (sequence tag, item number) from the root down.
    public var path: [(tag: Tag, item: UInt32)] {
        (0..<depth).map { level in
            let o = Prefix.size + level * 8
            return (Tag(rawValue: Self.be32(key, o)), Self.be32(key, o + 4))
        }
    }

    private var atrcOffset: Int { key.count - 8 }
    public var tag: Tag { Tag(rawValue: Self.be32(key, atrcOffset)) }
    public var vrBytes: (UInt8, UInt8) { (key[atrcOffset + 4], key[atrcOffset + 5]) }
    public var vr: VR? { VR(byte0: key[atrcOffset + 4], byte1: key[atrcOffset + 5]) }
    public var repertoire: UInt16 { UInt16(key[atrcOffset + 6]) | UInt16(key[atrcOffset + 7]) << 8 }
    public var isEmptyItemMarker: Bool { Array(key[atrcOffset...]) == Self.emptyItemATRC }
    /// The root element this entry belongs to (its own tag at depth 0, else the outermost sequence).
    public var rootTag: Tag { depth == 0 ? tag : Tag(rawValue: Self.be32(key, Prefix.size)) }

    /// The key without its prefix: equal for the same element of two instances.
    public var path8: ArraySlice<UInt8> { key[Prefix.size...] }

    mutating func setPrefix(_ p: Prefix) { key.replaceSubrange(0..<Prefix.size, with: p.bytes) }

    static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    static func appendBE32(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF))
    }

    /// Bytes of the entry as a file holds it.
    public var encodedSize: Int { 1 + key.count + 4 + value.count }

    public func encode(into out: inout [UInt8]) {
        encodeHeader(into: &out)
        out.append(contentsOf: value)
    }

    /// KL, key and VL: everything but the value.
    func encodeHeader(into out: inout [UInt8]) { Self.encodeHeader(key: key, valueLength: value.count, into: &out) }

    static func encodeHeader(key: [UInt8], valueLength: Int, into out: inout [UInt8]) {
        out.append(UInt8(key.count))
        out.append(contentsOf: key)
        let n = UInt32(truncatingIfNeeded: valueLength)
        out.append(UInt8(n & 0xFF)); out.append(UInt8((n >> 8) & 0xFF)); out.append(UInt8((n >> 16) & 0xFF)); out.append(UInt8(n >> 24))
    }
}

/// What can be wrong with eDCKV bytes.
public struct EDCKVError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Builds keys while walking a dataset.
struct KeyBuilder {
    var prefix: Prefix
    /// Encoded SQITs from the root down.
    var path: [UInt8] = []

    func key(_ tag: Tag, _ vr: VR, repertoire: UInt16) -> [UInt8] {
        var k = prefix.bytes
        k.reserveCapacity(16 + path.count)
        k.append(contentsOf: path)
        Entry.appendBE32(tag.rawValue, to: &k)
        k.append(vr.byte0); k.append(vr.byte1)
        k.append(UInt8(repertoire & 0xFF)); k.append(UInt8(repertoire >> 8))
        return k
    }

    func emptyItemKey() -> [UInt8] { prefix.bytes + path + Entry.emptyItemATRC }

    func entering(_ sequence: Tag, item: UInt32) throws -> KeyBuilder {
        guard path.count / 8 < Entry.maxDepth else { throw EDCKVError("\(sequence): sequences nested deeper than \(Entry.maxDepth) levels") }
        var b = self
        Entry.appendBE32(sequence.rawValue, to: &b.path)
        Entry.appendBE32(item, to: &b.path)
        return b
    }
}
