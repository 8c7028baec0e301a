/// The header of an element, item or fragment as read from the stream.
public struct ElementHeader: Sendable, Equatable {
    public static let undefinedLength: UInt32 = 0xFFFF_FFFF

    public let tag: Tag
    public let vr: VR
    /// The length field; `undefinedLength` for undefined length.
    public let length: UInt32
    /// Stream offset of the header's first byte.
    public let offset: UInt64

    public var hasUndefinedLength: Bool { length == Self.undefinedLength }
}

/// What the streaming parser reports, in stream order. Fragments of encapsulated pixel data come as
/// `.element`/`.valueStart` events whose header tag is the Item tag, between `.fragmentsStart` and `.fragmentsEnd`;
/// the first is the Basic Offset Table.
public enum ParseEvent {
    /// A whole value (binary VRs little-endian).
    case element(ElementHeader, [UInt8])
    /// A long value that will arrive in `.valueChunk`s (each valid only during the call) and end with `.valueEnd`.
    case valueStart(ElementHeader)
    case valueChunk(UnsafeRawBufferPointer)
    case valueEnd
    /// A value the options asked to skip; its bytes are consumed without being kept.
    case valueSkipped(ElementHeader)
    case sequenceStart(ElementHeader)
    case itemStart(ElementHeader)
    case itemEnd
    case sequenceEnd
    case fragmentsStart(ElementHeader)
    case fragmentsEnd
    /// The root-level tag the options named was reached: nothing more follows.
    case stopped(ElementHeader)
}

public protocol ParseEventHandler {
    mutating func handle(_ event: ParseEvent) throws
    /// The meta header of a Part-10 file, before the dataset's events (default: ignored).
    mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws
}

public struct ParseOptions: Sendable {
    /// Stop before the first root-level element whose tag is at or above this one (e.g. Pixel Data for a
    /// header-only pass). Nil reads everything.
    public var stopBefore: Tag?
    /// Root-level elements at or above this tag have their values skipped (header seen, bytes dropped), the
    /// fragments of encapsulated pixel data included.
    public var skipValuesFrom: Tag?
    /// Values longer than this, at any level, are skipped too (sequences are not values: their items are
    /// read): a reader that wants the small attributes does not hold a private element of gigabytes, nor the
    /// output of a deflate stream that inflates to that.
    public var skipValuesLongerThan: UInt32?
    /// A root-level element whose value is kept whatever `skipValuesLongerThan` says (the one a caller asks for).
    public var keepsValueOf: Tag?
    /// A value longer than this that is not yet wholly buffered is delivered in chunks instead of waiting for it.
    public var streamThreshold: Int
    /// Maximum nesting of sequences (each level is a sequence and an item).
    public var maxDepth: Int
    /// Keep the bytes after a `stopBefore` stop (`DataSetParser.unconsumedBytes`), for a caller that parses
    /// them next; otherwise they are dropped without a copy.
    public var retainsRestAfterStop = false

    public init(stopBefore: Tag? = nil, skipValuesFrom: Tag? = nil, streamThreshold: Int = 256 * 1024, maxDepth: Int = 64) {
        self.stopBefore = stopBefore
        self.skipValuesFrom = skipValuesFrom
        self.streamThreshold = streamThreshold
        self.maxDepth = maxDepth
    }

    public static let `default` = ParseOptions()
    /// Everything before the pixel data: what routing and indexing need.
    public static let headerOnly = ParseOptions(stopBefore: .pixelData)
}
