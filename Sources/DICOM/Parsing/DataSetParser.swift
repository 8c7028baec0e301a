/// A push parser for a bare dataset in one transfer syntax: feed it bytes as they arrive (a file read in
/// pieces, PDVs off the network) and it reports elements, sequences, items and fragments as events.
///
/// Memory is bounded by what is fed, never by a length field: a value is copied only once its bytes are
/// present, and a value longer than `streamThreshold` is handed on in chunks as it arrives. Every length is
/// checked against the enclosing item or sequence before it is trusted.
public struct DataSetParser {
    /// The encoding of the current nesting level: items of a UN sequence of undefined length are
    /// implicit VR little endian whatever the transfer syntax (PS3.5 6.2.2).
    struct Encoding: Equatable {
        var explicitVR: Bool
        var bigEndian: Bool
    }

    enum ContextKind { case root, sequence, item, fragments }

    struct Context {
        var kind: ContextKind
        /// Absolute end offset for defined lengths.
        var end: UInt64?
        var encoding: Encoding
        var tag: Tag
    }

    enum State {
        case header
        /// Copying (`skip == false`) or dropping the rest of a long value.
        case value(remaining: UInt64, swapWidth: Int, skip: Bool)
        case done
    }

    public let options: ParseOptions
    private var stack: [Context]
    private var state: State = .header
    /// Bytes not yet consumed (an incomplete header or value), carried to the next `feed`.
    private var pending: [UInt8] = []
    /// Stream offset of the next byte to consume.
    public private(set) var offset: UInt64
    /// Pixel Representation seen at the root, to resolve "US or SS" in implicit VR.
    private var signedPixels = false
    /// Header of the long value being streamed or skipped (state `.value`), for errors that name its tag.
    private var valueHeader: ElementHeader?

    public init(transferSyntax: TransferSyntax, options: ParseOptions = .default, startOffset: UInt64 = 0) {
        self.options = options
        self.offset = startOffset
        let enc = Encoding(explicitVR: transferSyntax.isExplicitVR, bigEndian: transferSyntax.isBigEndian)
        self.stack = [Context(kind: .root, end: nil, encoding: enc, tag: Tag(rawValue: 0))]
    }

    /// Stream offset just past the last byte fed.
    public var fedOffset: UInt64 { offset + UInt64(pending.count) }

    /// Bytes fed but not consumed: after a stop, where the rest of the stream begins.
    public var unconsumedBytes: [UInt8] { pending }

    /// True once a `stopBefore` tag was reached; later input is ignored.
    public var isStopped: Bool {
        if case .done = state { return true }
        return false
    }

    /// Parses as much of `input` (appended to what is pending) as forms whole tokens.
    public mutating func feed<H: ParseEventHandler>(_ input: UnsafeRawBufferPointer, to handler: inout H) throws {
        if isStopped { return }
        if pending.isEmpty {
            let used = try parse(input, handler: &handler)
            if used < input.count && (!isStopped || options.retainsRestAfterStop) {
                pending.append(copying: UnsafeRawBufferPointer(rebasing: input[used...]))
            }
        } else {
            pending.append(copying: input)
            let buffer = pending
            let used = try buffer.withUnsafeBytes { try parse($0, handler: &handler) }
            pending.removeFirst(min(used, pending.count))
            if isStopped && !options.retainsRestAfterStop { pending = [] }
        }
    }

    public mutating func feed<H: ParseEventHandler>(_ bytes: [UInt8], to handler: inout H) throws {
        try bytes.withUnsafeBytes { try feed($0, to: &handler) }
    }

    /// Declares the end of the stream: closes what may end there and fails on anything left open.
    public mutating func finish<H: ParseEventHandler>(_ handler: inout H) throws {
        if isStopped { return }
        if case .value(let remaining, _, _) = state {
            let valueStart = valueHeader.map { " starting at offset \($0.offset)" } ?? ""
            throw DICOMParseError(.truncated, offset: offset, tag: valueHeader?.tag ?? stack.last?.tag,
                                  "stream ends \(remaining) bytes before the end of the value\(valueStart)")
        }
        if !pending.isEmpty {
            // The pending bytes start with the header of the element that is cut: name its tag when it is there,
            // else the sequence or pixel data it is in.
            var tag = stack.count > 1 ? stack.last?.tag : nil
            if pending.count >= 4, let enc = stack.last?.encoding {
                tag = pending.withUnsafeBytes { Tag(read16($0, 0, enc.bigEndian), read16($0, 2, enc.bigEndian)) }
            }
            throw DICOMParseError(.truncated, offset: offset, tag: tag,
                                  "stream ends at offset \(fedOffset), \(pending.count) bytes into the element starting here")
        }
        // Defined-length levels ending exactly here were closed already; anything still open is truncated.
        if let open = stack.last, open.kind != .root {
            throw DICOMParseError(.truncated, offset: offset, tag: open.tag, "stream ends inside an unterminated \(open.kind)")
        }
        _ = handler
    }

    // MARK: - Core

    /// Consumes whole tokens from `data`; returns how many bytes were used.
    private mutating func parse<H: ParseEventHandler>(_ data: UnsafeRawBufferPointer, handler: inout H) throws -> Int {
        var pos = 0
        while true {
            switch state {
            case .done:
                return pos
            case .value(let remaining, let width, let skip):
                let available = data.count - pos
                if available == 0 { return pos }
                var take = Int(min(UInt64(available), remaining))
                if !skip && width > 1 && UInt64(take) < remaining {
                    take -= take % width  // swap whole values only; the rest waits for more bytes
                    if take == 0 { return pos }
                }
                let chunk = UnsafeRawBufferPointer(rebasing: data[pos..<(pos + take)])
                if !skip {
                    if width > 1 {
                        var swapped = [UInt8](copying: chunk)
                        ByteSwap.inPlace(&swapped, width: width)
                        try swapped.withUnsafeBytes { try handler.handle(.valueChunk($0)) }
                    } else {
                        try handler.handle(.valueChunk(chunk))
                    }
                }
                pos += take
                offset += UInt64(take)
                let left = remaining - UInt64(take)
                if left == 0 {
                    state = .header
                    if !skip { try handler.handle(.valueEnd) }
                    try closeEndedContexts(&handler)
                } else {
                    state = .value(remaining: left, swapWidth: width, skip: skip)
                }
            case .header:
                guard let used = try readToken(data, at: pos, handler: &handler) else { return pos }
                pos += used
            }
        }
    }

    /// Reads one header (and its value when whole); nil when more bytes are needed.
    private mutating func readToken<H: ParseEventHandler>(_ data: UnsafeRawBufferPointer, at pos: Int, handler: inout H) throws -> Int? {
        guard let context = stack.last else { return nil }
        let enc = context.encoding
        let available = data.count - pos
        guard available >= 8 else { return nil }
        let group = read16(data, pos, enc.bigEndian)
        let element = read16(data, pos + 2, enc.bigEndian)
        let tag = Tag(group, element)
        let start = offset

        // Delimiters and items: tag and 4-byte length, no VR, in every syntax.
        if group == 0xFFFE {
            let length = read32(data, pos + 4, enc.bigEndian)
            if tag == .item && context.kind == .fragments {
                let header = ElementHeader(tag: tag, vr: .OB, length: length, offset: start)
                guard !header.hasUndefinedLength else {
                    throw DICOMParseError(.invalidLength, offset: start, tag: tag, "fragment of undefined length")
                }
                // The fragments of an element whose values are skipped are skipped too, whatever their size.
                if options.skipValuesFrom.map({ context.tag >= $0 }) == true || options.skipValuesLongerThan.map({ length > $0 }) == true {
                    return try skipValue(header, headerLength: 8, handler: &handler)
                }
                return try deliverValue(header, headerLength: 8, width: 1, data: data, pos: pos, handler: &handler)
            }
            try handleDelimiter(ElementHeader(tag: tag, vr: .UN, length: length, offset: start), context: context, handler: &handler)
            return 8
        }
        if context.kind == .sequence || context.kind == .fragments {
            throw DICOMParseError(.unexpectedTag, offset: start, tag: tag,
                                  "expected an item or a sequence delimiter inside \(context.tag)")
        }
        if context.kind == .root, let stop = options.stopBefore, tag >= stop {
            state = .done
            try handler.handle(.stopped(ElementHeader(tag: tag, vr: .UN, length: 0, offset: start)))
            return 0
        }

        var vr: VR
        var length: UInt32
        var headerLength: Int
        if enc.explicitVR {
            let b0 = data[pos + 4], b1 = data[pos + 5]
            guard let v = VR(byte0: b0, byte1: b1) else {
                throw DICOMParseError(.unknownVR, offset: start, tag: tag,
                                      "unknown VR bytes 0x\(String(b0, radix: 16)) 0x\(String(b1, radix: 16))")
            }
            vr = v
            if v.hasLongLength {
                guard available >= 12 else { return nil }
                length = read32(data, pos + 8, enc.bigEndian)
                headerLength = 12
            } else {
                length = UInt32(read16(data, pos + 6, enc.bigEndian))
                headerLength = 8
            }
        } else {
            length = read32(data, pos + 4, enc.bigEndian)
            headerLength = 8
            vr = implicitVR(for: tag, length: length)
        }

        let header = ElementHeader(tag: tag, vr: vr, length: length, offset: start)
        let valueStart = start + UInt64(headerLength)

        if header.hasUndefinedLength {
            try checkDepth(tag: tag, at: start)
            if tag == .pixelData || ((vr == .OB || vr == .OW) && context.kind == .root && tag.group == 0x7FE0) {
                stack.append(Context(kind: .fragments, end: nil, encoding: enc, tag: tag))
                offset = valueStart
                try handler.handle(.fragmentsStart(ElementHeader(tag: tag, vr: vr == .OW ? .OW : .OB, length: length, offset: start)))
            } else {
                let inner = vr == .UN ? Encoding(explicitVR: false, bigEndian: false) : enc
                stack.append(Context(kind: .sequence, end: nil, encoding: inner, tag: tag))
                offset = valueStart
                try handler.handle(.sequenceStart(ElementHeader(tag: tag, vr: vr == .UN ? .UN : .SQ, length: length, offset: start)))
            }
            return headerLength
        }

        let end = valueStart + UInt64(length)
        try checkFits(end: end, tag: tag, at: start)

        if vr == .SQ {
            try checkDepth(tag: tag, at: start)
            stack.append(Context(kind: .sequence, end: end, encoding: enc, tag: tag))
            offset = valueStart
            try handler.handle(.sequenceStart(header))
            try closeEndedContexts(&handler)
            return headerLength
        }

        let width = enc.bigEndian ? vr.swapWidth : 1
        let skipsRoot = context.kind == .root && options.skipValuesFrom.map { tag >= $0 } == true
        let skipsLong = options.skipValuesLongerThan.map { length > $0 } == true
            && !(context.kind == .root && tag == options.keepsValueOf)
        if skipsRoot || skipsLong { return try skipValue(header, headerLength: headerLength, handler: &handler) }
        return try deliverValue(header, headerLength: headerLength, width: width, data: data, pos: pos, handler: &handler)
    }

    /// Passes over a value: its header reported, its bytes dropped as they arrive.
    private mutating func skipValue<H: ParseEventHandler>(_ header: ElementHeader, headerLength: Int, handler: inout H) throws -> Int {
        offset = header.offset + UInt64(headerLength)
        try handler.handle(.valueSkipped(header))
        state = .value(remaining: UInt64(header.length), swapWidth: 1, skip: true)
        valueHeader = header
        if header.length == 0 { state = .header; try closeEndedContexts(&handler) }
        return headerLength
    }

    /// Emits a value whole when it is all here, waits for a short one, streams a long one.
    private mutating func deliverValue<H: ParseEventHandler>(
        _ header: ElementHeader, headerLength: Int, width: Int, data: UnsafeRawBufferPointer, pos: Int, handler: inout H
    ) throws -> Int? {
        let length = Int(header.length)
        let available = data.count - pos - headerLength
        if length <= available {
            let from = pos + headerLength
            var value = [UInt8](copying: UnsafeRawBufferPointer(rebasing: data[from..<(from + length)]))
            if width > 1 { ByteSwap.inPlace(&value, width: width) }
            offset = header.offset + UInt64(headerLength) + UInt64(length)
            if header.tag == .pixelRepresentation, stack.count == 1 { signedPixels = value.first == 1 }
            try handler.handle(.element(header, value))
            try closeEndedContexts(&handler)
            return headerLength + length
        }
        if length <= options.streamThreshold { return nil }
        offset = header.offset + UInt64(headerLength)
        try handler.handle(.valueStart(header))
        state = .value(remaining: UInt64(length), swapWidth: width, skip: false)
        valueHeader = header
        return headerLength
    }

    /// Item starts and the delimiters; the length of a delimiter is meaningless and ignored (PS3.5 7.5).
    private mutating func handleDelimiter<H: ParseEventHandler>(_ header: ElementHeader, context: Context, handler: inout H) throws {
        let tag = header.tag
        switch (tag, context.kind) {
        case (.item, .sequence):
            offset = header.offset + 8
            if header.hasUndefinedLength {
                try checkDepth(tag: tag, at: header.offset)
                stack.append(Context(kind: .item, end: nil, encoding: context.encoding, tag: context.tag))
            } else {
                let end = offset + UInt64(header.length)
                try checkFits(end: end, tag: tag, at: header.offset)
                stack.append(Context(kind: .item, end: end, encoding: context.encoding, tag: context.tag))
            }
            try handler.handle(.itemStart(header))
            try closeEndedContexts(&handler)
        case (.itemDelimitation, .item):
            offset = header.offset + 8
            stack.removeLast()
            try handler.handle(.itemEnd)
            try closeEndedContexts(&handler)
        case (.sequenceDelimitation, .sequence):
            offset = header.offset + 8
            stack.removeLast()
            try handler.handle(.sequenceEnd)
            try closeEndedContexts(&handler)
        case (.sequenceDelimitation, .fragments):
            offset = header.offset + 8
            stack.removeLast()
            try handler.handle(.fragmentsEnd)
            try closeEndedContexts(&handler)
        default:
            throw DICOMParseError(.unexpectedTag, offset: header.offset, tag: tag,
                                  "delimiter not allowed inside \(context.kind == .root ? "the dataset" : "\(context.kind) \(context.tag)")")
        }
    }

    // MARK: - Checks

    /// A defined-length value or item must end within every enclosing defined-length level.
    private func checkFits(end: UInt64, tag: Tag, at start: UInt64) throws {
        for c in stack.reversed() {
            if let limit = c.end, end > limit {
                throw DICOMParseError(.invalidLength, offset: start, tag: tag,
                                      "length runs \(end - limit) bytes past the end of the enclosing \(c.kind) \(c.tag)")
            }
        }
        if end - start > UInt64(UInt32.max) + 12 {
            throw DICOMParseError(.invalidLength, offset: start, tag: tag, "length overflows")
        }
    }

    private func checkDepth(tag: Tag, at start: UInt64) throws {
        if stack.count >= options.maxDepth * 2 + 1 {
            throw DICOMParseError(.nestingTooDeep, offset: start, tag: tag, "sequences nested more than \(options.maxDepth) deep")
        }
    }

    /// Pops every defined-length level whose end has been reached.
    private mutating func closeEndedContexts<H: ParseEventHandler>(_ handler: inout H) throws {
        while let c = stack.last, let end = c.end, offset >= end {
            if offset > end {
                throw DICOMParseError(.invalidLength, offset: offset, tag: c.tag, "content runs past the end of its \(c.kind)")
            }
            stack.removeLast()
            try handler.handle(c.kind == .item ? .itemEnd : .sequenceEnd)
        }
    }

    // MARK: - Implicit VR

    private func implicitVR(for tag: Tag, length: UInt32) -> VR {
        Self.implicitVR(for: tag, signedPixels: signedPixels)
    }

    /// The VR of an implicit VR element: the dictionary's, "US or SS" by the Pixel Representation seen before.
    static func implicitVR(for tag: Tag, signedPixels: Bool) -> VR {
        if tag.isGroupLength { return .UL }
        if tag.isPrivate {
            return tag.isPrivateCreator ? .LO : .UN
        }
        if tag == .pixelData { return .OW }
        if let vr = DataDictionary.implicitVRTable[tag.rawValue] {
            return vr == .US && signedPixels && DataDictionary.usOrSS.contains(tag.rawValue) ? .SS : vr
        }
        // Repeating groups (curves, overlays…).
        guard let entry = DataDictionary.entry(for: tag) else { return .UN }
        let vrs = entry.vrs
        if vrs.count > 1 {
            if vrs.contains(.US) && vrs.contains(.SS) { return signedPixels ? .SS : .US }
            if vrs.contains(.OW) { return .OW }
        }
        return entry.vr
    }

    // MARK: - Byte access (callers have checked the bounds)

    @inline(__always)
    private func read16(_ d: UnsafeRawBufferPointer, _ i: Int, _ bigEndian: Bool) -> UInt16 {
        bigEndian ? UInt16(d[i]) << 8 | UInt16(d[i + 1]) : UInt16(d[i + 1]) << 8 | UInt16(d[i])
    }

    @inline(__always)
    private func read32(_ d: UnsafeRawBufferPointer, _ i: Int, _ bigEndian: Bool) -> UInt32 {
        if bigEndian {
            return UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
        }
        return UInt32(d[i + 3]) << 24 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 1]) << 8 | UInt32(d[i])
    }
}

enum ByteSwap {
    static func inPlace(_ bytes: inout [UInt8], width: Int) {
        guard width > 1 else { return }
        let n = bytes.count - bytes.count % width
        var i = 0
        while i < n {
            var lo = i, hi = i + width - 1
            while lo < hi { bytes.swapAt(lo, hi); lo += 1; hi -= 1 }
            i += width
        }
    }
}
