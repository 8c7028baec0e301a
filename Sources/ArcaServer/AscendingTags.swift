import DICOM

/// Passes a parse's events on, refusing (with `checks`) a dataset whose elements do not ascend at every level:
/// the eDCKV spool's keys must, so such an instance was acknowledged and then refused by the spool in the
/// materializer on every retry, holding every instance behind it in the journal. A sender's dataset that repeats
/// the file meta's group 0002 after the meta is one (its elements come after those the meta gave).
struct AscendingTags<Inner: ParseEventHandler>: ParseEventHandler {
    var inner: Inner
    let checks: Bool
    /// The last tag of each open level: the root, then each item entered.
    private var last: [UInt32?] = [nil]
    /// Inside encapsulated pixel data, whose items all share one tag.
    private var inFragments = false

    init(_ inner: Inner, checks: Bool) {
        self.inner = inner
        self.checks = checks
    }

    mutating func handle(_ event: ParseEvent) throws {
        if checks {
            switch event {
            case .element(let h, _), .valueStart(let h), .valueSkipped(let h), .sequenceStart(let h):
                if !inFragments { try note(h.tag) }
            case .fragmentsStart(let h):
                try note(h.tag)
                inFragments = true
            case .fragmentsEnd:
                inFragments = false
            case .itemStart:
                if !inFragments { last.append(nil) }
            case .itemEnd:
                if !inFragments, last.count > 1 { last.removeLast() }
            default:
                break
            }
        }
        try inner.handle(event)
    }

    mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws {
        if checks { last[0] = meta.map(\.tag.rawValue).max() }
        try inner.didReadFileMeta(meta, transferSyntax: transferSyntax)
    }

    private mutating func note(_ tag: Tag) throws {
        let level = last.count - 1
        if let previous = last[level], tag.rawValue <= previous { throw OutOfOrder(tag: tag, after: Tag(rawValue: previous)) }
        last[level] = tag.rawValue
    }
}

/// An element at or below the one before it (its words first: an Error Comment keeps 64 characters).
struct OutOfOrder: Error, CustomStringConvertible {
    let tag: Tag
    let after: Tag
    var description: String { "elements out of order: \(tag) after \(after)" }
}
