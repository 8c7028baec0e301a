import DICOM
import EDCKV

/// Passes a parse's events on, refusing (with `checks`) what the eDCKV spool would refuse in the materializer
/// on every retry, holding every instance behind it in the journal, had it been acknowledged:
/// - a dataset whose elements do not ascend at every level (the spool's keys must). A sender's dataset that
///   repeats the file meta's group 0002 after the meta is one (its elements come after those the meta gave);
/// - one the encoder would have to hold more than `EncodingBudget.bytes` of: the values before (0020,0013),
///   which wait in memory for the instance's key, or a subtree it keeps whole (a UN sequence, pixel data inside a
///   sequence). Counted by their lengths here, where long values are skipped, not held: two 40 MB private
///   values before the Instance Number passed the header's budget and failed in the spool.
struct AscendingTags<Inner: ParseEventHandler>: ParseEventHandler {
    var inner: Inner
    let checks: Bool
    /// The last tag of each open level: the root, then each item entered.
    private var last: [UInt32?] = [nil]
    /// Inside encapsulated pixel data, whose items all share one tag.
    private var inFragments = false
    /// Past (0020,0013) at the root: the encoder streams from there on.
    private var identityKnown = false
    /// Levels open inside a subtree the encoder keeps whole; 0 outside one.
    private var captureDepth = 0
    /// Value bytes the encoder would hold now (as its own count: reset when the identity is known and after a
    /// subtree kept whole).
    private var held = 0

    init(_ inner: Inner, checks: Bool) {
        self.inner = inner
        self.checks = checks
    }

    mutating func handle(_ event: ParseEvent) throws {
        if checks {
            try count(event)
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
        if checks {
            last[0] = meta.map(\.tag.rawValue).max()
            try hold(meta.reduce(0) { $0 + $1.bytes.count })
        }
        try inner.didReadFileMeta(meta, transferSyntax: transferSyntax)
    }

    /// Follows what the encoder holds (`StreamingEncoder.hold`), by declared lengths.
    private mutating func count(_ event: ParseEvent) throws {
        let atRoot = last.count == 1 && !inFragments && captureDepth == 0
        switch event {
        case .element(let h, _), .valueStart(let h), .valueSkipped(let h), .sequenceStart(let h), .fragmentsStart(let h):
            if atRoot && !identityKnown && h.tag.rawValue > 0x0020_0013 {
                identityKnown = true
                held = 0
            }
        default:
            break
        }
        if captureDepth > 0 {
            switch event {
            case .sequenceStart, .fragmentsStart: captureDepth += 1
            case .sequenceEnd, .fragmentsEnd: captureDepth -= 1
            default: break
            }
        } else {
            switch event {
            case .sequenceStart(let h) where h.vr == .UN: captureDepth = 1
            case .fragmentsStart where last.count > 1: captureDepth = 1
            default: break
            }
        }
        if captureDepth > 0 || !identityKnown {
            // Values, and an element's or item's header as a subtree's entry encodes it: an upper bound of what the
            // encoder counts, so nothing it refuses passes here (a UN sequence of millions of empty elements).
            switch event {
            case .element(_, let bytes): try hold(bytes.count + Self.headerBytes)
            case .valueStart(let h), .valueSkipped(let h):
                if h.length != ElementHeader.undefinedLength { try hold(Int(h.length) + Self.headerBytes) }
            case .sequenceStart, .itemStart, .fragmentsStart, .sequenceEnd, .itemEnd, .fragmentsEnd: try hold(Self.headerBytes)
            default: break
            }
        }
        if captureDepth == 0 && identityKnown { held = 0 }
    }

    /// The most an element's or delimiter's header takes in an encoded subtree (explicit VR with a 4-byte length).
    static var headerBytes: Int { 12 }

    private mutating func hold(_ bytes: Int) throws {
        held += bytes
        if held > EncodingBudget.bytes { throw HeldTooMuch(identityKnown: identityKnown) }
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

/// An instance the eDCKV encoder would have to hold more than its budget of (out of resources, 0xA700).
struct HeldTooMuch: Error, CustomStringConvertible {
    let identityKnown: Bool
    var description: String {
        "more than \(EncodingBudget.bytes >> 20) MB " + (identityKnown ? "in one UN sequence or nested pixel data" : "before (0020,0013)")
            + " for the eDCKV store"
    }
}
