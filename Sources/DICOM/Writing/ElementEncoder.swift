/// Writes elements one after another in a transfer syntax, for a caller that has the values at hand and no
/// `DataSet`: the query engine encodes each C-FIND answer straight from its index row, where building a
/// dataset first cost an allocation per element. The bytes are those `DataSetWriter` writes for a dataset of
/// the same elements in the same (ascending) order.
public struct ElementEncoder {
    public private(set) var bytes: [UInt8] = []
    let encoding: DataSetWriter.Encoding

    /// Nil for a deflated syntax: its stream is compressed as a whole, so it is written by `DataSetWriter`.
    public init?(syntax: TransferSyntax) {
        guard !syntax.isDeflated else { return nil }
        encoding = DataSetWriter.Encoding(syntax)
    }

    public mutating func reserveCapacity(_ n: Int) { bytes.reserveCapacity(n) }

    /// The size of a text element of `utf8Count` bytes, header and padding included.
    public func size(ofText utf8Count: Int, _ vr: VR) -> Int {
        Int(DataSetWriter.headerSize(vr, encoding)) + utf8Count + utf8Count % 2
    }

    /// A text element: `text`'s UTF-8 bytes, padded to even length as its VR is. The caller has checked that the
    /// text is in the dataset's character set (ASCII is in all of them).
    public mutating func append(_ tag: Tag, _ vr: VR, text: String) throws {
        let utf8 = text.utf8
        let length = utf8.count + utf8.count % 2
        // A short-length VR cannot carry more than 64 KiB in explicit VR: such a value goes as UN (as DataSetWriter).
        let written = encoding.explicitVR && !vr.hasLongLength && length > 0xFFFF ? VR.UN : vr
        try DataSetWriter.header(tag, written, length: length, encoding, into: &bytes)
        // One copy of the string's storage (the UTF-8 view appended element by element was 3% of a large search).
        if utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil { bytes.append(contentsOf: utf8) }
        if length > utf8.count { bytes.append(vr.paddingByte) }
    }

    /// Any element, as `DataSetWriter` writes it.
    public mutating func append(_ element: Element) throws {
        try DataSetWriter.write(element, encoding, into: &bytes)
    }
}
