import DICOM

/// Who an instance is, known once the encoder has read past (0020,0013): what names its spool folder and
/// its provisional prefixes.
public struct InstanceIdentity: Sendable, Equatable {
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var sopInstanceUID: String
    public var studyDate: String
    /// Stored (offset) series and instance numbers; `Prefix.firstArtificial` when missing.
    public var series: UInt16
    public var instance: UInt16

    func prefix(_ c: Category, frame: UInt16 = 0) -> Prefix {
        Prefix(category: c, series: series, instance: instance, frame: frame)
    }
}

/// Where `StreamingEncoder` puts an instance's entries: per category, keys ascending, a value announced by
/// its length and then given in pieces.
public protocol EntryOutput {
    /// Before any entry, once the identity is known.
    mutating func open(_ identity: InstanceIdentity) throws
    mutating func begin(_ c: Category, key: [UInt8], length: Int) throws
    mutating func append(_ c: Category, _ bytes: UnsafeRawBufferPointer) throws
}

/// Entries kept in memory (tests, tools, small instances).
public struct MemoryEntryOutput: EntryOutput {
    public private(set) var identity: InstanceIdentity?
    public private(set) var entries: [Category: [Entry]] = [:]

    public init() {}

    public mutating func open(_ identity: InstanceIdentity) throws { self.identity = identity }

    public mutating func begin(_ c: Category, key: [UInt8], length: Int) throws {
        if let last = entries[c]?.last, !last.key.lexicographicallyPrecedes(key) {
            throw EDCKVError("category \(c): keys not ascending at \(EntryCodec.hex(key)) (elements out of order?)")
        }
        var value: [UInt8] = []
        value.reserveCapacity(min(length, 1 << 20))
        entries[c, default: []].append(Entry(key: key, value: value))
    }

    public mutating func append(_ c: Category, _ bytes: UnsafeRawBufferPointer) throws {
        guard var list = entries[c], !list.isEmpty else { throw EDCKVError("value bytes before an entry") }
        entries[c] = nil  // own the list, so appending does not copy it
        list[list.count - 1].value.append(copying: bytes)
        entries[c] = list
    }
}
