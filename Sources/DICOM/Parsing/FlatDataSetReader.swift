/// Reads a dataset that is one flat run of elements in one pass, without the parser's events and contexts.
/// C-FIND identifiers and answers are such datasets, a few dozen bytes each and thousands per query: through
/// `DataSetParser` and `DataSetBuilder` each element cost an event, a context check and a generic dispatch (a
/// fifth of a C-FIND client's time).
///
/// Anything else returns nil and is left to the parser, which reads it or says what is wrong: a sequence or an
/// undefined length, an item or delimiter tag, tags out of ascending order, an unknown VR, a value past the end,
/// a big-endian or deflated syntax. Where it answers, it answers what the parser would (`FlatDataSetReaderTests`
/// compare them, over every one-byte mutation of a dataset too).
public enum FlatDataSetReader {
    public static func read(_ raw: UnsafeRawBufferPointer, syntax: TransferSyntax) -> DataSet? {
        guard !syntax.isBigEndian, !syntax.isDeflated else { return nil }
        let explicit = syntax.isExplicitVR
        // In ascending order (checked below): appended, never inserted.
        var elements: [Element] = []
        elements.reserveCapacity(16)
        var pos = 0
        var previous: UInt32?
        var signedPixels = false
        while pos < raw.count {
            guard raw.count - pos >= 8 else { return nil }
            let tag = Tag(UInt16(raw[pos]) | UInt16(raw[pos + 1]) << 8, UInt16(raw[pos + 2]) | UInt16(raw[pos + 3]) << 8)
            guard !tag.isDelimiter, previous.map({ $0 < tag.rawValue }) ?? true else { return nil }
            let vr: VR
            let length: UInt32
            var start = pos + 8
            if explicit {
                guard let v = VR(byte0: raw[pos + 4], byte1: raw[pos + 5]) else { return nil }
                vr = v
                if v.hasLongLength {
                    guard raw.count - pos >= 12 else { return nil }
                    length = UInt32(raw[pos + 8]) | UInt32(raw[pos + 9]) << 8 | UInt32(raw[pos + 10]) << 16 | UInt32(raw[pos + 11]) << 24
                    start = pos + 12
                } else {
                    length = UInt32(raw[pos + 6]) | UInt32(raw[pos + 7]) << 8
                }
            } else {
                length = UInt32(raw[pos + 4]) | UInt32(raw[pos + 5]) << 8 | UInt32(raw[pos + 6]) << 16 | UInt32(raw[pos + 7]) << 24
                vr = DataSetParser.implicitVR(for: tag, signedPixels: signedPixels)
            }
            guard vr != .SQ, length != ElementHeader.undefinedLength, Int(length) <= raw.count - start else { return nil }
            let end = start + Int(length)
            let value = Array(raw[start..<end])
            if tag == .pixelRepresentation { signedPixels = value.first == 1 }
            elements.append(Element(tag: tag, vr: vr, bytes: value))
            previous = tag.rawValue
            pos = end
        }
        return DataSet(ascending: elements)
    }
}
