/// A push parser for whole DICOM files as archives hold them: with the 128-byte preamble and `DICM`, with a
/// meta header but no preamble, or a bare dataset with neither (old ACR-NEMA style files), in any transfer
/// syntax, deflated included. The meta header goes to `didReadFileMeta`; the dataset's events to the handler.
public struct Part10Parser {
    enum Phase {
        case detect
        case meta(DataSetParser, end: UInt64?)
        /// After the meta header: collecting (in `head`) the dataset's first bytes, which the syntax is guessed
        /// from (no Transfer Syntax UID) or checked against (`EncodingMismatch`).
        case guessSyntax(at: UInt64)
        case dataSet(DataSetParser, Inflater?)
    }

    static let detectionLength = 144

    /// File meta header larger than this is not a meta header.
    static let maxMetaLength: UInt32 = 1 << 20

    public let options: ParseOptions
    /// Syntax of a file without meta header when it cannot be guessed; nil guesses from the first bytes.
    public let fallbackSyntax: TransferSyntax?
    public private(set) var preamble: [UInt8]?
    public private(set) var meta = DataSet()
    /// The syntax the dataset is read in: the meta header's, unless its bytes are in another (`encodingMismatch`).
    public private(set) var transferSyntax: TransferSyntax?
    /// Set when the meta header names one uncompressed little-endian syntax and the dataset is in the other.
    public private(set) var encodingMismatch: EncodingMismatch?
    /// File offset where the dataset (after preamble and meta header) begins, once known.
    public private(set) var dataSetOffset: UInt64?
    private var phase: Phase = .detect
    private var head: [UInt8] = []
    private var metaBuilder = DataSetBuilder()
    private var consumed: UInt64 = 0

    public init(options: ParseOptions = .default, fallbackSyntax: TransferSyntax? = nil) {
        self.options = options
        self.fallbackSyntax = fallbackSyntax
    }

    /// The meta header's elements, also those read before a failure inside it.
    public var metaReadSoFar: DataSet {
        if case .meta = phase { return metaBuilder.dataSetSoFar }
        return meta
    }

    public var isStopped: Bool {
        if case .dataSet(let p, _) = phase { return p.isStopped }
        return false
    }

    public mutating func feed<H: ParseEventHandler>(_ input: UnsafeRawBufferPointer, to handler: inout H) throws {
        switch phase {
        case .detect:
            // Deciding needs the preamble, `DICM` and the first meta element (group length): 144 bytes. Decide
            // from the input itself when it holds them: no copy of a whole file.
            if head.isEmpty && input.count >= Self.detectionLength { return try detect(input, handler: &handler) }
            head.append(copying: input)
            guard head.count >= Self.detectionLength else { return }
            let bytes = head
            head = []
            try bytes.withUnsafeBytes { try detect($0, handler: &handler) }
        case .meta(var parser, let end):
            try feedMeta(&parser, end: end, input, handler: &handler)
        case .guessSyntax(let offset):
            head.append(copying: input)
            guard head.count >= Self.guessLength else { return }
            let bytes = head
            head = []
            try bytes.withUnsafeBytes { try endMeta(at: offset, rest: $0, handler: &handler) }
        case .dataSet(var parser, let inflater):
            phase = .detect  // parser is held by value while it runs
            defer { phase = .dataSet(parser, inflater) }
            if let inflater {
                try inflater.inflate(input, offset: consumed) { try parser.feed($0, to: &handler) }
            } else {
                try parser.feed(input, to: &handler)
            }
            consumed += UInt64(input.count)
        }
    }

    public mutating func feed<H: ParseEventHandler>(_ bytes: [UInt8], to handler: inout H) throws {
        try bytes.withUnsafeBytes { try feed($0, to: &handler) }
    }

    public mutating func finish<H: ParseEventHandler>(_ handler: inout H) throws {
        if case .detect = phase {
            let bytes = head
            head = []
            guard !bytes.isEmpty else { throw DICOMParseError(.notDICOM, offset: 0, "empty input") }
            try bytes.withUnsafeBytes { try detect($0, handler: &handler) }
        }
        if case .guessSyntax(let offset) = phase {
            let bytes = head
            head = []
            try bytes.withUnsafeBytes { try endMeta(at: offset, rest: $0, final: true, handler: &handler) }
        }
        switch phase {
        case .detect, .guessSyntax:
            throw DICOMParseError(.truncated, offset: consumed, "file ends before its dataset")
        case .meta(var parser, let end):
            try parser.finish(&metaBuilder)
            // Cut on an element boundary inside the meta header: its group length says more was to come.
            if let end, parser.offset < end {
                throw DICOMParseError(.truncated, offset: parser.offset, tag: .fileMetaInformationGroupLength,
                                      "file ends \(end - parser.offset) bytes before the end of its meta header")
            }
            try parser.unconsumedBytes.withUnsafeBytes { try endMeta(at: parser.offset, rest: $0, final: true, handler: &handler) }
            if case .dataSet(var p, _) = phase { try p.finish(&handler) }
        case .dataSet(var parser, _):
            try parser.finish(&handler)
        }
    }

    // MARK: - Phases

    private mutating func detect<H: ParseEventHandler>(_ bytes: UnsafeRawBufferPointer, handler: inout H) throws {
        var start = 0
        if bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D {
            preamble = [UInt8](copying: UnsafeRawBufferPointer(rebasing: bytes[0..<128]))
            start = 132
        } else if bytes.count >= 4, bytes[0] == 0x44, bytes[1] == 0x49, bytes[2] == 0x43, bytes[3] == 0x4D {
            start = 4
        }
        consumed = UInt64(start)
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        if rest.count >= 2, rest[0] == 0x02, rest[1] == 0x00 {
            // Group 0002 little endian: a meta header, explicit VR LE by definition.
            var metaEnd: UInt64?
            if rest.count >= 12, rest[2] == 0, rest[3] == 0, rest[4] == 0x55, rest[5] == 0x4C {
                let length = UInt32(rest[8]) | UInt32(rest[9]) << 8 | UInt32(rest[10]) << 16 | UInt32(rest[11]) << 24
                guard length <= Self.maxMetaLength else {
                    throw DICOMParseError(.invalidLength, offset: consumed, tag: .fileMetaInformationGroupLength,
                                          "file meta group length \(length) is implausible")
                }
                metaEnd = consumed + 12 + UInt64(length)
            }
            var metaOptions = ParseOptions(stopBefore: Tag(0x0003, 0x0000))
            metaOptions.retainsRestAfterStop = true
            var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian, options: metaOptions, startOffset: consumed)
            try feedMeta(&parser, end: metaEnd, rest, handler: &handler)
        } else {
            let syntax = fallbackSyntax ?? Self.guessSyntax(rest)
            transferSyntax = syntax
            try startDataSet(syntax: syntax, at: consumed, handler: &handler)
            try feed(rest, to: &handler)
        }
    }

    /// Feeds the meta parser up to the meta header's end (its group length), or until the first tag past
    /// group 0002 when there is no group length; what follows starts the dataset.
    private mutating func feedMeta<H: ParseEventHandler>(
        _ parser: inout DataSetParser, end: UInt64?, _ data: UnsafeRawBufferPointer, handler: inout H
    ) throws {
        var split = data.count
        if let end { split = Int(min(UInt64(data.count), end > parser.fedOffset ? end - parser.fedOffset : 0)) }
        try parser.feed(UnsafeRawBufferPointer(rebasing: data[0..<split]), to: &metaBuilder)
        let after = UnsafeRawBufferPointer(rebasing: data[split...])
        if parser.isStopped {
            // No group length: the bytes the meta parser stopped before are the dataset's first.
            var rest = parser.unconsumedBytes
            rest.append(copying: after)
            try rest.withUnsafeBytes { try endMeta(at: parser.offset, rest: $0, handler: &handler) }
        } else if let end, parser.fedOffset >= end {
            try parser.finish(&metaBuilder)
            try endMeta(at: end, rest: after, handler: &handler)
        } else {
            phase = .meta(parser, end: end)
        }
    }

    /// `final`: the stream ends with `rest`.
    private mutating func endMeta<H: ParseEventHandler>(
        at offset: UInt64, rest: UnsafeRawBufferPointer, final: Bool = false, handler: inout H
    ) throws {
        meta = metaBuilder.dataSet
        let uid = meta.uid(.transferSyntaxUID)
        var declared: TransferSyntax?
        if let uid {
            guard let ts = TransferSyntax(uid: uid) else {
                throw DICOMParseError(.invalidTransferSyntax, offset: offset, tag: .transferSyntaxUID, "unknown transfer syntax \(uid)")
            }
            declared = ts
        } else if let fallbackSyntax {
            declared = fallbackSyntax
        }
        // The guess, and the check of a declared syntax, read the dataset's first bytes: wait for them, whatever
        // the pieces the stream comes in.
        let readsFirstBytes = declared.map { uid != nil && EncodingMismatch.isChecked($0) } ?? true
        if readsFirstBytes && rest.count < Self.guessLength && !final {
            consumed = offset
            head = [UInt8](copying: rest)
            phase = .guessSyntax(at: offset)
            return
        }
        var syntax = declared ?? Self.guessSyntax(rest)
        if uid != nil, let detected = EncodingMismatch.detect(declared: syntax, rest) {
            encodingMismatch = EncodingMismatch(declared: syntax, detected: detected, offset: offset)
            syntax = detected
        }
        transferSyntax = syntax
        consumed = offset
        try handler.didReadFileMeta(meta, transferSyntax: syntax)
        try startDataSet(syntax: syntax, at: offset, handler: &handler)
        if !rest.isEmpty { try feed(rest, to: &handler) }
    }

    private mutating func startDataSet<H: ParseEventHandler>(syntax: TransferSyntax, at offset: UInt64, handler: inout H) throws {
        dataSetOffset = offset
        let inflater = syntax.isDeflated ? try Inflater() : nil
        phase = .dataSet(DataSetParser(transferSyntax: syntax, options: options, startOffset: inflater == nil ? offset : 0), inflater)
        _ = handler
    }

    /// How many of a dataset's first bytes `guessSyntax` and `EncodingMismatch.detect` read.
    static let guessLength = EncodingMismatch.bytesNeeded

    /// A dataset with no meta header: explicit VR if bytes 4–5 spell a VR, big endian if the group reads
    /// small only that way; otherwise implicit VR little endian, the ACR-NEMA default.
    static func guessSyntax(_ b: UnsafeRawBufferPointer) -> TransferSyntax {
        guard b.count >= guessLength else { return .implicitVRLittleEndian }
        let explicit = VR(byte0: b[4], byte1: b[5]) != nil
        let groupLE = UInt16(b[0]) | UInt16(b[1]) << 8
        let groupBE = UInt16(b[0]) << 8 | UInt16(b[1])
        if explicit && groupBE < groupLE && groupBE <= 0x0010 { return .explicitVRBigEndian }
        return explicit ? .explicitVRLittleEndian : .implicitVRLittleEndian
    }
}

extension ParseEventHandler {
    public mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws {}
}
