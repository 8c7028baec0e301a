/// Builds a `DataSet` tree from parse events: the handler behind every whole-dataset read.
public struct DataSetBuilder: ParseEventHandler {
    enum Level {
        case item(DataSet, undefinedLength: Bool)
        case sequence(ElementHeader, SequenceValue)
        case fragments(ElementHeader, EncapsulatedPixelData, sawOffsetTable: Bool)
    }

    public private(set) var dataSet: DataSet
    public private(set) var meta = DataSet()
    public private(set) var transferSyntax: TransferSyntax?
    /// Elements whose values were skipped by the parse options.
    public private(set) var skipped: [ElementHeader] = []
    private var levels: [Level] = []
    private var longValue: (header: ElementHeader, bytes: [UInt8])?
    /// The most the built dataset may hold, in value bytes plus `elementCost` per element: past it the parse
    /// fails rather than growing (the elements before the pixel data of a received instance come from the
    /// sender, and a million small ones are as much memory as one large one).
    public var byteBudget: Int
    /// Bytes counted against the budget so far.
    public private(set) var heldBytes = 0
    /// What one element costs beyond its value's bytes, as the budget counts it (its header, the dataset's entry).
    static let elementCost = 64

    public init(characterSet: SpecificCharacterSet = .default, byteBudget: Int = .max) {
        dataSet = DataSet(characterSet: characterSet)
        self.byteBudget = byteBudget
    }

    private mutating func count(_ bytes: Int, _ header: ElementHeader?) throws {
        guard bytes <= byteBudget - heldBytes else {
            throw DICOMParseError(.valueTooLarge, offset: header?.offset ?? 0, tag: header?.tag,
                                  "the dataset holds more than \(byteBudget) bytes of values before the point read to")
        }
        heldBytes += bytes
    }

    public mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws {
        self.meta = meta
        self.transferSyntax = transferSyntax
    }

    public mutating func handle(_ event: ParseEvent) throws {
        switch event {
        case .element(let h, let bytes):
            try count(bytes.count + Self.elementCost, h)
            add(h, bytes)
        case .valueStart(let h):
            try count(Self.elementCost, h)
            // The length is not trusted: reserve up to 1 MiB for it at first, and more only as bytes arrive.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(min(Int(h.length), 1 << 20))
            longValue = (h, bytes)
        case .valueChunk(let chunk):
            try count(chunk.count, longValue?.header)
            if let count = longValue?.bytes.count, let capacity = longValue?.bytes.capacity,
               let length = longValue?.header.length, count + chunk.count > capacity {
                // Past the first MiB: 16 MiB, then doubling; never more than the length announces.
                longValue?.bytes.reserveCapacity(min(Int(length), max(count + chunk.count, 2 * capacity, 16 << 20)))
            }
            longValue?.bytes.append(copying: chunk)
        case .valueEnd:
            if let v = longValue { add(v.header, v.bytes) }
            longValue = nil
        case .valueSkipped(let h):
            skipped.append(h)
        case .sequenceStart(let h):
            try count(Self.elementCost, h)
            levels.append(.sequence(h, SequenceValue(hasUndefinedLength: h.hasUndefinedLength)))
        case .itemStart(let h):
            try count(Self.elementCost, h)
            levels.append(.item(DataSet(characterSet: currentCharacterSet), undefinedLength: h.hasUndefinedLength))
        case .itemEnd:
            endItem()
        case .sequenceEnd:
            endSequence()
        case .fragmentsStart(let h):
            levels.append(.fragments(h, EncapsulatedPixelData(), sawOffsetTable: false))
        case .fragmentsEnd:
            endFragments()
        case .stopped:
            break
        }
    }

    /// The dataset as far as it was read, for a read that failed part-way (a truncated file): the sequences,
    /// items and pixel fragments still open are closed with what they hold; a value cut short is left out.
    public var dataSetSoFar: DataSet {
        var copy = self
        while let level = copy.levels.last {
            switch level {
            case .item: copy.endItem()
            case .sequence: copy.endSequence()
            case .fragments: copy.endFragments()
            }
        }
        return copy.dataSet
    }

    private mutating func endItem() {
        guard case .item(let ds, let undefined)? = levels.popLast(),
              case .sequence(let h, var seq)? = levels.popLast() else { return }
        seq.items.append(SequenceItem(dataSet: ds, hasUndefinedLength: undefined))
        levels.append(.sequence(h, seq))
    }

    private mutating func endSequence() {
        guard case .sequence(let h, let seq)? = levels.popLast() else { return }
        setInCurrent(Element(tag: h.tag, vr: h.vr == .UN ? .UN : .SQ, value: .sequence(seq)))
    }

    private mutating func endFragments() {
        guard case .fragments(let h, let px, _)? = levels.popLast() else { return }
        setInCurrent(Element(tag: h.tag, vr: h.vr, value: .fragments(px)))
    }

    private var currentCharacterSet: SpecificCharacterSet {
        for level in levels.reversed() {
            if case .item(let ds, _) = level { return ds.characterSet }
        }
        return dataSet.characterSet
    }

    private mutating func add(_ h: ElementHeader, _ bytes: [UInt8]) {
        if case .fragments(let fh, var px, let saw)? = levels.last {
            levels.removeLast()  // own the fragment list, so appending does not copy it (many frames)
            if saw { px.fragments.append(bytes) } else { px.offsetTable = bytes }
            levels.append(.fragments(fh, px, sawOffsetTable: true))
            return
        }
        setInCurrent(Element(tag: h.tag, vr: h.vr, bytes: bytes))
    }

    private mutating func setInCurrent(_ e: Element) {
        if case .item(var ds, let undefined)? = levels.last {
            levels[levels.count - 1] = .item(DataSet(), undefinedLength: undefined)  // release the copy before mutating
            ds.set(e)
            levels[levels.count - 1] = .item(ds, undefinedLength: undefined)
        } else {
            dataSet.set(e)
        }
    }
}
