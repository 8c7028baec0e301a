public struct DICOMWriteError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Encodes datasets in the uncompressed transfer syntaxes (and any encapsulated one, whose pixel data is
/// already fragments). Sequence and item lengths are written as they were read: undefined, or defined and
/// recomputed, so a dataset read in a syntax is written back byte for byte.
public enum DataSetWriter {
    struct Encoding {
        var explicitVR: Bool
        var bigEndian: Bool
        static let implicitLE = Encoding(explicitVR: false, bigEndian: false)
    }

    public static func encode(_ dataSet: DataSet, syntax: TransferSyntax) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Int(clamping: size(of: dataSet, Encoding(syntax))))
        try write(dataSet, Encoding(syntax), into: &out)
        guard syntax.isDeflated else { return out }
        var deflated = try Deflater.deflate(out)
        if deflated.count % 2 == 1 { deflated.append(0) }  // the encoded stream has even length (PS3.5 A.5)
        return deflated
    }

    static func write(_ ds: DataSet, _ enc: Encoding, into out: inout [UInt8]) throws {
        for e in ds.elements { try write(e, enc, into: &out) }
    }

    static func write(_ e: Element, _ enc: Encoding, into out: inout [UInt8]) throws {
        switch e.value {
        case .bytes(let b):
            var vr = e.vr
            // A short-length VR cannot carry more than 64 KiB in explicit VR: such a value goes as UN.
            if enc.explicitVR && !vr.hasLongLength && b.count > 0xFFFF { vr = .UN }
            try header(e.tag, vr, length: b.count, enc, into: &out)
            let width = enc.bigEndian ? vr.swapWidth : 1
            if width > 1 {
                var swapped = b
                ByteSwap.inPlace(&swapped, width: width)
                out.append(contentsOf: swapped)
            } else {
                out.append(contentsOf: b)
            }
        case .sequence(let seq):
            // Items of a UN sequence are implicit VR little endian (PS3.5 6.2.2).
            let inner = e.vr == .UN ? Encoding.implicitLE : enc
            let length = seq.hasUndefinedLength ? nil : try checked(sequenceContentSize(seq, inner), e.tag)
            try header(e.tag, e.vr == .UN ? .UN : .SQ, length: length, enc, into: &out)
            for item in seq.items {
                let itemLength = item.hasUndefinedLength ? nil : try checked(size(of: item.dataSet, inner), e.tag)
                delimiter(.item, length: itemLength.map(UInt32.init) ?? ElementHeader.undefinedLength, inner, into: &out)
                try write(item.dataSet, inner, into: &out)
                if item.hasUndefinedLength { delimiter(.itemDelimitation, length: 0, inner, into: &out) }
            }
            // The delimiter ends the value, which is in the items' encoding (little endian for UN in big endian).
            if seq.hasUndefinedLength { delimiter(.sequenceDelimitation, length: 0, inner, into: &out) }
        case .fragments(let px):
            try header(e.tag, e.vr == .OW ? .OW : .OB, length: nil, enc, into: &out)
            for fragment in [px.offsetTable] + px.fragments {
                delimiter(.item, length: UInt32(try checked(UInt64(fragment.count), e.tag)), enc, into: &out)
                out.append(contentsOf: fragment)
            }
            delimiter(.sequenceDelimitation, length: 0, enc, into: &out)
        }
    }

    private static func checked(_ n: UInt64, _ tag: Tag) throws -> Int {
        guard n < UInt64(ElementHeader.undefinedLength) else { throw DICOMWriteError("\(tag): value too long for a 32-bit length") }
        return Int(n)
    }

    /// Tag, VR (explicit) and length; nil length is undefined.
    static func header(_ tag: Tag, _ vr: VR, length: Int?, _ enc: Encoding, into out: inout [UInt8]) throws {
        append16(tag.group, enc.bigEndian, &out)
        append16(tag.element, enc.bigEndian, &out)
        let len = UInt32(try checked(UInt64(length ?? Int(ElementHeader.undefinedLength - 1)), tag))
        let value = length == nil ? ElementHeader.undefinedLength : len
        if enc.explicitVR {
            out.append(vr.byte0)
            out.append(vr.byte1)
            if vr.hasLongLength {
                out.append(0)
                out.append(0)
                append32(value, enc.bigEndian, &out)
            } else {
                append16(UInt16(truncatingIfNeeded: value), enc.bigEndian, &out)
            }
        } else {
            append32(value, enc.bigEndian, &out)
        }
    }

    static func delimiter(_ tag: Tag, length: UInt32, _ enc: Encoding, into out: inout [UInt8]) {
        append16(tag.group, enc.bigEndian, &out)
        append16(tag.element, enc.bigEndian, &out)
        append32(length, enc.bigEndian, &out)
    }

    // MARK: - Sizes, for defined lengths

    static func size(of ds: DataSet, _ enc: Encoding) -> UInt64 {
        ds.elements.reduce(0) { $0 + size(of: $1, enc) }
    }

    static func size(of e: Element, _ enc: Encoding) -> UInt64 {
        switch e.value {
        case .bytes(let b):
            var vr = e.vr
            if enc.explicitVR && !vr.hasLongLength && b.count > 0xFFFF { vr = .UN }
            return headerSize(vr, enc) + UInt64(b.count)
        case .sequence(let seq):
            let inner = e.vr == .UN ? Encoding.implicitLE : enc
            return headerSize(e.vr == .UN ? .UN : .SQ, enc) + sequenceContentSize(seq, inner) + (seq.hasUndefinedLength ? 8 : 0)
        case .fragments(let px):
            return headerSize(.OB, enc) + ([px.offsetTable] + px.fragments).reduce(0) { $0 + 8 + UInt64($1.count) } + 8
        }
    }

    static func sequenceContentSize(_ seq: SequenceValue, _ enc: Encoding) -> UInt64 {
        seq.items.reduce(0) { $0 + 8 + size(of: $1.dataSet, enc) + ($1.hasUndefinedLength ? 8 : 0) }
    }

    static func headerSize(_ vr: VR, _ enc: Encoding) -> UInt64 {
        enc.explicitVR && vr.hasLongLength ? 12 : 8
    }

    @inline(__always) static func append16(_ v: UInt16, _ be: Bool, _ out: inout [UInt8]) {
        if be { out.append(UInt8(truncatingIfNeeded: v >> 8)); out.append(UInt8(truncatingIfNeeded: v)) }
        else { out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8)) }
    }

    @inline(__always) static func append32(_ v: UInt32, _ be: Bool, _ out: inout [UInt8]) {
        if be {
            append16(UInt16(truncatingIfNeeded: v >> 16), true, &out)
            append16(UInt16(truncatingIfNeeded: v), true, &out)
        } else {
            append16(UInt16(truncatingIfNeeded: v), false, &out)
            append16(UInt16(truncatingIfNeeded: v >> 16), false, &out)
        }
    }
}

extension DataSetWriter.Encoding {
    init(_ ts: TransferSyntax) {
        self.init(explicitVR: ts.isExplicitVR, bigEndian: ts.isBigEndian)
    }
}
