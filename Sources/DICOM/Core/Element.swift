/// One data element: tag, VR and value. Binary values are held little-endian whatever the transfer syntax
/// they came in, so one model serves every syntax and a big-endian file is written back byte for byte.
public struct Element: Sendable, Equatable {
    public var tag: Tag
    public var vr: VR
    public var value: ElementValue

    public init(tag: Tag, vr: VR, value: ElementValue) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    public init(tag: Tag, vr: VR, bytes: [UInt8]) {
        self.init(tag: tag, vr: vr, value: .bytes(bytes))
    }

    /// The value bytes of a non-sequence element (empty for sequences and fragments).
    public var bytes: [UInt8] {
        if case .bytes(let b) = value { return b }
        return []
    }
}

public enum ElementValue: Sendable, Equatable {
    case bytes([UInt8])
    case sequence(SequenceValue)
    /// Encapsulated pixel data: the Basic Offset Table item and the fragments, as they were framed.
    case fragments(EncapsulatedPixelData)
}

/// A sequence's items, and how its length was encoded so it can be written back unchanged.
public struct SequenceValue: Sendable, Equatable {
    public var items: [SequenceItem]
    public var hasUndefinedLength: Bool

    public init(items: [SequenceItem] = [], hasUndefinedLength: Bool = true) {
        self.items = items
        self.hasUndefinedLength = hasUndefinedLength
    }
}

public struct SequenceItem: Sendable, Equatable {
    public var dataSet: DataSet
    public var hasUndefinedLength: Bool

    public init(dataSet: DataSet, hasUndefinedLength: Bool = true) {
        self.dataSet = dataSet
        self.hasUndefinedLength = hasUndefinedLength
    }
}

public struct EncapsulatedPixelData: Sendable, Equatable {
    /// The first item's value: the Basic Offset Table (often empty).
    public var offsetTable: [UInt8]
    public var fragments: [[UInt8]]

    public init(offsetTable: [UInt8] = [], fragments: [[UInt8]] = []) {
        self.offsetTable = offsetTable
        self.fragments = fragments
    }
}
