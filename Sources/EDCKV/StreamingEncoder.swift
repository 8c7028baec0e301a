import DICOM

/// What the encoder may hold in memory for one instance: the values before (0020,0013), whose keys wait for the
/// identity, and a subtree kept whole (a UN sequence of undefined length, pixel data inside a sequence). The
/// receiver checks an instance against it before acknowledging it (`AscendingTags` in the server).
public enum EncodingBudget {
    public static let bytes = 64 << 20
}

/// DICOM → eDCKV as the parser reads (§1–§3): a `ParseEventHandler` that routes every element of one
/// instance to its category and hands its entries to an `EntryOutput` in key order, long values in pieces,
/// so an instance of any size is encoded with bounded memory. Everything a lossless reconstruction needs is
/// kept: empty sequences and items, file meta elements, the fragmentation of compressed pixel data. Group
/// lengths and trailing padding are not stored.
///
/// The prefixes need SeriesNumber and InstanceNumber, which come after the patient and study attributes:
/// entries wait in memory until the parser is past (0020,0013), then everything streams.
public struct StreamingEncoder<Output: EntryOutput>: ParseEventHandler {
    public private(set) var output: Output
    private var syntax: TransferSyntax
    private var identity: InstanceIdentity?
    /// Entries before the identity is known: category, frame, key without prefix, value.
    private var pending: [(category: Category, frame: UInt16, suffix: [UInt8], value: [UInt8])] = []
    /// Bytes held while waiting for the identity, or in a subtree kept whole: never more than `memoryBudget`,
    /// whatever the lengths in the input say.
    private var heldBytes = 0
    static var memoryBudget: Int { EncodingBudget.bytes }

    // What the identity is made of, as root elements go by.
    private var study = "", series = "", sop = "", studyDate = ""
    private var seriesNumber: Int?, instanceNumber: Int?, numberOfFrames = 1

    private enum Level {
        case sequence(tag: Tag, items: UInt32)
        /// `path`: the SQITs down to this item.
        case item(path: [UInt8], charset: SpecificCharacterSet, hasChildren: Bool)
    }
    private var levels: [Level] = []
    private var rootCharset = SpecificCharacterSet.default
    /// The root element the current events belong to, and its category.
    private var rootCategory = Category.instance
    /// A long value in progress: its category and frame (nil: skipped).
    private var longValue: (category: Category, frame: UInt16)??
    /// A subtree kept whole (a UN of undefined length, fragments inside a sequence): its builder and depth.
    private var capture: (builder: DataSetBuilder, depth: Int, path: [UInt8], vr: VR, heldBefore: Int)?
    private var frames: FrameGrouper?

    public init(output: Output, syntax: TransferSyntax = .explicitVRLittleEndian) {
        self.output = output
        self.syntax = syntax
    }

    public mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws {
        syntax = transferSyntax
        for e in meta.elements where !e.tag.isGroupLength {
            if e.tag == .mediaStorageSOPInstanceUID, sop.isEmpty { sop = UIDString.trim(String(decoding: e.bytes, as: UTF8.self)) }
            let c = Category.route(e.tag, vr: e.vr, encapsulated: syntax.isEncapsulated)
            try emit(c, suffix: atrc(e.tag, e.vr, path: []), value: e.bytes)
        }
    }

    /// After the last event: the identity, if nothing past (0020,0013) came.
    public mutating func finish() throws -> InstanceIdentity {
        if levels.count > 0 || capture != nil || frames != nil { throw EDCKVError("dataset ended inside a sequence or pixel data") }
        try resolve()
        guard let identity else { throw EDCKVError("no identity") }
        return identity
    }

    /// Counts bytes that stay in memory; past the budget the instance is refused rather than held.
    private mutating func hold(_ count: Int, _ what: String) throws {
        heldBytes += count
        guard heldBytes <= Self.memoryBudget else {
            throw EDCKVError("more than \(Self.memoryBudget >> 20) MB \(what): refused rather than held in memory")
        }
    }

    public mutating func handle(_ event: ParseEvent) throws {
        if var cap = capture {
            capture = nil
            switch event {
            case .element(_, let bytes): try hold(bytes.count, "in one UN sequence or nested pixel data")
            case .valueChunk(let chunk): try hold(chunk.count, "in one UN sequence or nested pixel data")
            default: break
            }
            try cap.builder.handle(event)
            switch event {
            case .sequenceStart, .fragmentsStart: cap.depth += 1
            case .sequenceEnd, .fragmentsEnd: cap.depth -= 1
            default: break
            }
            if cap.depth > 0 { capture = cap; return }
            // Counted once: as the entry it becomes, which waits in memory too before (0020,0013).
            heldBytes = identity != nil ? 0 : cap.heldBefore
            guard let e = cap.builder.dataSet.elements.first else { return }
            let value: [UInt8]
            switch e.value {
            case .fragments(let px): value = InstanceEncoder.items([px.offsetTable] + px.fragments)
            default: value = Array(try DataSetWriter.encode(DataSet(elements: [e]), syntax: .implicitVRLittleEndian).dropFirst(8))
            }
            var suffix = cap.path
            Entry.appendBE32(e.tag.rawValue, to: &suffix)
            suffix += [cap.vr.byte0, cap.vr.byte1, 0, 0]
            try emit(rootCategory, suffix: suffix, value: value)
            return
        }
        switch event {
        case .element(let h, let bytes):
            if var f = frames { frames = nil; try f.fragment(h.length, bytes, into: &self); frames = f; return }
            try element(h, bytes)
        case .valueStart(let h):
            if var f = frames { frames = nil; try f.startLong(h.length, into: &self); frames = f; return }
            try startLong(h)
        case .valueChunk(let chunk):
            if var f = frames { frames = nil; try f.chunk(chunk, into: &self); frames = f; return }
            guard case .some(.some(let target)) = longValue else { return }
            if identity == nil {
                try hold(chunk.count, "before (0020,0013)")
                pending[pending.count - 1].value.append(copying: chunk)
            } else {
                try output.append(target.category, chunk)
            }
        case .valueEnd:
            if var f = frames { frames = nil; try f.endLong(into: &self); frames = f; return }
            longValue = nil
        case .valueSkipped:
            throw EDCKVError("a value was skipped: the eDCKV encoder needs every value")
        case .sequenceStart(let h):
            try rootStart(h.tag, h.vr)
            if h.vr == .UN {
                try startCapture(event, h.tag)
                return
            }
            try markChild()
            levels.append(.sequence(tag: h.tag, items: 0))
        case .itemStart:
            guard case .sequence(let tag, let n)? = levels.last else { throw EDCKVError("item outside a sequence") }
            levels[levels.count - 1] = .sequence(tag: tag, items: n + 1)
            guard currentPath.count / 8 < Entry.maxDepth else { throw EDCKVError("\(tag): sequences nested deeper than \(Entry.maxDepth) levels") }
            var path = currentPath
            Entry.appendBE32(tag.rawValue, to: &path)
            Entry.appendBE32(n + 1, to: &path)
            levels.append(.item(path: path, charset: currentCharset, hasChildren: false))
        case .itemEnd:
            guard case .item(let path, _, let hasChildren)? = levels.popLast() else { throw EDCKVError("item end outside an item") }
            if !hasChildren { try emit(rootCategory, suffix: path + Entry.emptyItemATRC, value: []) }
        case .sequenceEnd:
            guard case .sequence(let tag, let n)? = levels.popLast() else { throw EDCKVError("sequence end outside a sequence") }
            if n == 0 { try emit(rootCategory, suffix: atrc(tag, .SQ, path: currentPath), value: []) }
        case .fragmentsStart(let h):
            try rootStart(h.tag, h.vr)
            if !levels.isEmpty {
                try startCapture(event, h.tag)
                return
            }
            let c: Category = .compressedPixels
            rootCategory = c
            frames = FrameGrouper(frames: numberOfFrames, suffix: atrc(h.tag, h.vr == .OW ? .OW : .OB, path: []))
        case .fragmentsEnd:
            guard var f = frames else { throw EDCKVError("fragments end outside pixel data") }
            frames = nil
            try f.finish(into: &self)
        case .stopped:
            break
        }
    }

    // MARK: - Elements

    private var currentPath: [UInt8] {
        for level in levels.reversed() { if case .item(let path, _, _) = level { return path } }
        return []
    }

    private var currentCharset: SpecificCharacterSet {
        for level in levels.reversed() { if case .item(_, let cs, _) = level { return cs } }
        return rootCharset
    }

    private func atrc(_ tag: Tag, _ vr: VR, path: [UInt8], charset: SpecificCharacterSet? = nil) -> [UInt8] {
        var k = path
        Entry.appendBE32(tag.rawValue, to: &k)
        k.append(vr.byte0); k.append(vr.byte1)
        let r = Repertoire.index(for: vr, in: charset ?? currentCharset)
        k.append(UInt8(r & 0xFF)); k.append(UInt8(r >> 8))
        return k
    }

    /// A root-level event: its category, and the identity once past (0020,0013).
    private mutating func rootStart(_ tag: Tag, _ vr: VR) throws {
        guard levels.isEmpty else { return }
        if tag.rawValue > 0x0020_0013 { try resolve() }
        rootCategory = Category.route(tag, vr: vr, encapsulated: syntax.isEncapsulated)
    }

    private mutating func markChild() throws {
        if case .item(let path, let cs, false)? = levels.last { levels[levels.count - 1] = .item(path: path, charset: cs, hasChildren: true) }
    }

    private mutating func element(_ h: ElementHeader, _ bytes: [UInt8]) throws {
        try rootStart(h.tag, h.vr)
        if h.tag.isGroupLength || h.tag == .dataSetTrailingPadding { return }
        try markChild()
        if levels.isEmpty { note(h.tag, bytes) }
        if h.tag == .specificCharacterSet {
            let cs = SpecificCharacterSet(bytes: bytes)
            if case .item(let path, _, let has)? = levels.last { levels[levels.count - 1] = .item(path: path, charset: cs, hasChildren: has) } else { rootCharset = cs }
        }
        try emit(rootCategory, suffix: atrc(h.tag, h.vr, path: currentPath), value: bytes)
    }

    private mutating func startLong(_ h: ElementHeader) throws {
        try rootStart(h.tag, h.vr)
        if h.tag.isGroupLength || h.tag == .dataSetTrailingPadding { longValue = .some(nil); return }
        try markChild()
        longValue = .some((rootCategory, 0))
        try begin(rootCategory, frame: 0, suffix: atrc(h.tag, h.vr, path: currentPath), length: Int(h.length))
    }

    /// A UN sequence or nested fragments: kept whole (bounded by its own size) and stored as one value.
    private mutating func startCapture(_ event: ParseEvent, _ tag: Tag) throws {
        try markChild()
        var builder = DataSetBuilder()
        try builder.handle(event)
        var vr = VR.UN
        if case .fragmentsStart(let h) = event { vr = h.vr == .OW ? .OW : .OB }
        capture = (builder, 1, currentPath, vr, heldBytes)
    }

    /// Root values the identity and the frame count come from.
    private mutating func note(_ tag: Tag, _ bytes: [UInt8]) {
        func text() -> String {
            let trimmed = bytes.drop { $0 == 0x20 || $0 == 0 }.reversed().drop { $0 == 0x20 || $0 == 0 }.reversed()
            return String(decoding: Array(trimmed), as: UTF8.self)
        }
        switch tag {
        case .studyInstanceUID: study = UIDString.trim(text())
        case .seriesInstanceUID: series = UIDString.trim(text())
        case .sopInstanceUID: sop = UIDString.trim(text())
        case .studyDate: studyDate = text()
        case .seriesNumber: seriesNumber = Self.firstInteger(text())
        case .instanceNumber: instanceNumber = Self.firstInteger(text())
        case Tag(0x0028, 0x0008): numberOfFrames = max(1, Self.firstInteger(text()) ?? 1)
        default: break
        }
    }

    /// The first value of an IS, spaces around it allowed.
    static func firstInteger(_ text: String) -> Int? {
        Int(String((text.split(separator: "\\", omittingEmptySubsequences: false).first ?? "").filter { $0 != " " }))
    }

    // MARK: - Output

    /// The identity is known: open the output and let the waiting entries through.
    private mutating func resolve() throws {
        guard identity == nil else { return }
        guard !study.isEmpty else { throw EDCKVError("no Study Instance UID") }
        guard !sop.isEmpty else { throw EDCKVError("no SOP Instance UID") }
        let id = InstanceIdentity(studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop, studyDate: studyDate,
                                  series: seriesNumber.flatMap(Prefix.stored) ?? Prefix.firstArtificial,
                                  instance: instanceNumber.flatMap(Prefix.stored) ?? Prefix.firstArtificial)
        try output.open(id)
        identity = id
        // Meta elements and the study's first attributes came in stream order, category by category.
        let waiting = pending
        pending = []
        heldBytes = 0
        for p in waiting {
            try output.begin(p.category, key: id.prefix(p.category, frame: p.frame).bytes + p.suffix, length: p.value.count)
            try p.value.withUnsafeBytes { try output.append(p.category, $0) }
        }
    }

    mutating func emit(_ c: Category, frame: UInt16 = 0, suffix: [UInt8], value: [UInt8]) throws {
        try begin(c, frame: frame, suffix: suffix, length: value.count)
        if identity != nil {
            try value.withUnsafeBytes { try output.append(c, $0) }
        } else {
            try hold(value.count, "before (0020,0013)")
            pending[pending.count - 1].value = value
        }
    }

    /// An entry whose value follows in pieces (`appendEntry`), once the identity is known (the pixel data's
    /// fragments come after (0020,0013)).
    mutating func beginEntry(_ c: Category, frame: UInt16, suffix: [UInt8], length: Int) throws {
        guard identity != nil else { throw EDCKVError("pixel data before (0020,0013)") }
        try begin(c, frame: frame, suffix: suffix, length: length)
    }

    mutating func appendEntry(_ c: Category, _ bytes: UnsafeRawBufferPointer) throws {
        try output.append(c, bytes)
    }

    private mutating func begin(_ c: Category, frame: UInt16, suffix: [UInt8], length: Int) throws {
        guard length <= Int(UInt32.max) else { throw EDCKVError("value too long for an entry") }
        if let id = identity {
            try output.begin(c, key: id.prefix(c, frame: frame).bytes + suffix, length: length)
        } else {
            pending.append((c, frame, suffix, []))
        }
    }

}

/// Fragments of root pixel data to `c` entries (§2, §8): the offset table under number 0; then the fragments in
/// order, whole items, an entry closing at each frame's end (by the offset table when it has one offset per
/// frame, else one fragment a frame with the last frame taking any extra) and before it would pass `entryLimit`.
/// So an entry is a frame unless the frame is larger than that, and nothing held is larger: a fragment over the
/// limit is an entry of its own, streamed to the output as it arrives (a crafted frame of many large fragments
/// was held whole, without bound). Either way the original fragmentation is rebuilt.
struct FrameGrouper {
    /// Most value bytes one entry holds in memory while it is filled.
    static let entryLimit = 16 << 20
    /// Entry numbers are 16 bits: past this many entries, frames share them (cut by size only), so that any count
    /// of frames fits; after the last number, the instance is refused.
    static let frameCutLimit = 0xFF00
    let frames: Int
    let suffix: [UInt8]
    private var offsets: [UInt64]? = nil
    private var sawTable = false
    private var index = 0
    private var position: UInt64 = 0
    private var currentFrame = 0
    /// The number of the last entry begun (0: only the offset table so far).
    private var entry = 0
    private var buffer: [UInt8] = []
    /// The offset table when it arrives in pieces (at most `entryLimit`), or bytes still due to a streamed entry.
    private var long: LongValue?

    private enum LongValue {
        case table([UInt8])
        /// A fragment of at most `entryLimit` going into `buffer`, bytes still due.
        case collected(remaining: Int)
        case streamed(remaining: Int)
    }

    /// The offset whose frame the next fragment is in (offsets only grow: a scan from the start for each
    /// fragment was quadratic in a table of millions).
    private var offsetCursor = 0

    init(frames: Int, suffix: [UInt8]) {
        // Beyond what a table of `entryLimit` bytes can give an offset for, the count is not read from the table.
        self.frames = min(max(1, frames), Self.entryLimit / 4)
        self.suffix = suffix
    }

    mutating func fragment<O>(_ length: UInt32, _ bytes: [UInt8], into encoder: inout StreamingEncoder<O>) throws {
        if !sawTable {
            sawTable = true
            if frames > 1, bytes.count % 4 == 0, bytes.count / 4 == frames {
                let o = stride(from: 0, to: bytes.count, by: 4).map { i in
                    UInt64(bytes[i]) | UInt64(bytes[i + 1]) << 8 | UInt64(bytes[i + 2]) << 16 | UInt64(bytes[i + 3]) << 24
                }
                if o.first == 0, zip(o, o.dropFirst()).allSatisfy({ $0 < $1 }) { offsets = o }
            }
            try encoder.emit(.compressedPixels, frame: 0, suffix: suffix, value: InstanceEncoder.items([bytes]))
            return
        }
        try enterFrame(of: bytes.count, into: &encoder)
        if !buffer.isEmpty && buffer.count + 8 + bytes.count > Self.entryLimit { try flush(into: &encoder) }
        Self.appendItemHeader(bytes.count, to: &buffer)
        buffer += bytes
    }

    /// A fragment (or the offset table) too long to arrive whole.
    mutating func startLong<O>(_ length: UInt32, into encoder: inout StreamingEncoder<O>) throws {
        if !sawTable && Int(length) <= Self.entryLimit {
            long = .table([])
            return
        }
        var item: [UInt8] = []
        Self.appendItemHeader(Int(length), to: &item)
        if !sawTable {
            // An offset table this long is kept as it came, not read: fragments go to frames one each.
            sawTable = true
            try encoder.beginEntry(.compressedPixels, frame: 0, suffix: suffix, length: 8 + Int(length))
        } else {
            try enterFrame(of: Int(length), into: &encoder)
            if 8 + Int(length) <= Self.entryLimit {
                // Arrived in pieces, yet short enough to share its frame's entry.
                if !buffer.isEmpty && buffer.count + 8 + Int(length) > Self.entryLimit { try flush(into: &encoder) }
                buffer += item
                long = .collected(remaining: Int(length))
                return
            }
            try flush(into: &encoder)
            try encoder.beginEntry(.compressedPixels, frame: try nextEntry(), suffix: suffix, length: 8 + Int(length))
        }
        try item.withUnsafeBytes { try encoder.appendEntry(.compressedPixels, $0) }
        long = .streamed(remaining: Int(length))
    }

    mutating func chunk<O>(_ chunk: UnsafeRawBufferPointer, into encoder: inout StreamingEncoder<O>) throws {
        switch long {
        case .table(var bytes)?:
            long = nil
            bytes.append(copying: chunk)
            long = .table(bytes)
        case .collected(let remaining)?:
            guard chunk.count <= remaining else { throw EDCKVError("a pixel data fragment ran past its length") }
            buffer.append(copying: chunk)
            long = .collected(remaining: remaining - chunk.count)
        case .streamed(let remaining)?:
            guard chunk.count <= remaining else { throw EDCKVError("a pixel data fragment ran past its length") }
            try encoder.appendEntry(.compressedPixels, chunk)
            long = .streamed(remaining: remaining - chunk.count)
        case nil:
            break
        }
    }

    mutating func endLong<O>(into encoder: inout StreamingEncoder<O>) throws {
        guard let l = long else { return }
        long = nil
        switch l {
        case .table(let bytes): try fragment(UInt32(truncatingIfNeeded: bytes.count), bytes, into: &encoder)
        case .collected(let remaining), .streamed(let remaining):
            if remaining != 0 { throw EDCKVError("a pixel data fragment ended \(remaining) bytes short") }
        }
    }

    mutating func finish<O>(into encoder: inout StreamingEncoder<O>) throws {
        if !sawTable { try encoder.emit(.compressedPixels, frame: 0, suffix: suffix, value: []) ; return }
        try flush(into: &encoder)
    }

    /// The frame of the next fragment (`size` bytes); the entry being filled closes when the frame changes, while
    /// entry numbers last.
    private mutating func enterFrame<O>(of size: Int, into encoder: inout StreamingEncoder<O>) throws {
        index += 1
        let frame: Int
        if let offsets {
            while offsetCursor + 1 < offsets.count && offsets[offsetCursor + 1] <= position { offsetCursor += 1 }
            frame = offsetCursor + 1
        } else {
            frame = min(index, frames)
        }
        if frame != currentFrame {
            if entry < Self.frameCutLimit { try flush(into: &encoder) }
            currentFrame = frame
        }
        position += 8 + UInt64(size)
    }

    private mutating func nextEntry() throws -> UInt16 {
        guard entry < Int(UInt16.max) else { throw EDCKVError("pixel data needs more than 65,535 entries") }
        entry += 1
        return UInt16(entry)
    }

    private mutating func flush<O>(into encoder: inout StreamingEncoder<O>) throws {
        guard !buffer.isEmpty else { return }
        try encoder.emit(.compressedPixels, frame: try nextEntry(), suffix: suffix, value: buffer)
        buffer = []
    }

    private static func appendItemHeader(_ length: Int, to out: inout [UInt8]) {
        let n = UInt32(truncatingIfNeeded: length)
        out += [0xFE, 0xFF, 0x00, 0xE0, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
    }
}
