import DICOM

/// Builds one answer dataset: every key of the query at or above its level (a key asked empty comes back
/// empty when the archive has no value, never omitted), values from the index where it has them and from the
/// stored instance otherwise; Query/Retrieve Level, Retrieve AE Title and the unique keys always; text in a
/// character set that can represent it, named in Specific Character Set whenever it is not plain ASCII.
struct AnswerBuilder {
    let query: Query
    let compiled: CompiledQuery
    let retrieveAETitle: String?
    /// What each answer holds, in order, and where each value comes from: decided once per query, not per row
    /// (a large answer set is thousands of rows).
    private let plan: [Step]
    /// `plan` when every value comes from an index column or is a text constant (a search on indexed keys:
    /// nearly every C-FIND), for `direct`; nil when a value may come from a stored instance.
    private let columnPlan: [ColumnStep]?
    /// Whether an answer that is not ASCII goes in UTF-8: the query names no other character set.
    private let takesUTF8: Bool
    private let hasRepresentative: Bool

    /// An answer value before encoding: text is kept as Unicode until the character set is chosen. Not
    /// `indirect` (its one recursive case is behind an array already): a boxed case was an allocation per value.
    enum Value {
        case text(String, VR)
        case element(Element)
        case items([[(Tag, Value)]])
        case empty(VR)
    }

    /// One attribute of an answer written straight from its row: an index column (`vr` the attribute's), or a
    /// text constant.
    private enum ColumnStep {
        case column(Tag, VR, Int)
        case text(Tag, VR, String)

        var tag: Tag {
            switch self {
            case .column(let tag, _, _), .text(let tag, _, _): return tag
            }
        }
    }

    /// One attribute of the answer: a key (its index column when the index has one), or a constant.
    private enum Step {
        case key(QueryKey, column: Int?, attribute: IndexedAttribute?)
        case constant(Tag, Value)

        var tag: Tag {
            switch self {
            case .key(let key, _, _): return key.tag
            case .constant(let tag, _): return tag
            }
        }
    }

    init(query: Query, compiled: CompiledQuery, retrieveAETitle: String?) {
        self.query = query
        self.compiled = compiled
        self.retrieveAETitle = retrieveAETitle
        var plan: [Step] = []
        var seen = Set<Tag>()
        func step(_ key: QueryKey) -> Step {
            let attribute = IndexedAttribute.lookup(key.tag)
            return .key(key, column: attribute == nil ? nil : compiled.columnIndex(.attribute(key.tag)), attribute: attribute)
        }
        for key in query.keys where seen.insert(key.tag).inserted {
            if let attribute = IndexedAttribute.lookup(key.tag), query.model.level(of: attribute.level) > query.level { continue }
            plan.append(step(key))
        }
        for level in query.model.levels where level <= query.level && !seen.contains(level.uniqueKey) {
            plan.append(step(QueryKey(tag: level.uniqueKey, vr: DataDictionary.vr(for: level.uniqueKey), match: .universal)))
        }
        plan.append(.constant(.queryRetrieveLevel, .text(query.level.description, .CS)))
        // Ours on every answer, asked for or not (a key of it is replaced below).
        if let retrieveAETitle { plan.append(.constant(.retrieveAETitle, .text(retrieveAETitle, .AE))) }
        // In tag order (stable, so a constant still follows a key of its tag): each answer's elements are then
        // appended, never inserted.
        let sorted = plan.enumerated().sorted { ($0.element.tag, $0.offset) < ($1.element.tag, $1.offset) }.map(\.element)
        // One step per tag, the last (a constant replaces a key of its tag): every answer, whichever path
        // encodes it, then has each tag once.
        self.plan = sorted.enumerated().filter { $0.offset + 1 == sorted.count || sorted[$0.offset + 1].tag != $0.element.tag }.map(\.element)
        hasRepresentative = compiled.columnIndex(.representative) != nil
        var columnPlan: [ColumnStep]? = []
        for step in self.plan {
            switch step {
            case .key(let key, let column?, let attribute?): columnPlan?.append(.column(key.tag, attribute.vr, column))
            case .constant(let tag, .text(let text, let vr)): columnPlan?.append(.text(tag, vr, text))
            default: columnPlan = nil
            }
        }
        self.columnPlan = columnPlan
        takesUTF8 = query.characterSet.terms.isEmpty || query.characterSet == .utf8
    }

    func answer(_ row: [IndexValue], header loadHeader: () throws -> DataSet?) throws -> DataSet {
        Self.encode(try values(row, loadHeader), preferring: query.characterSet)
    }

    func answerValues(_ row: [IndexValue], header loadHeader: () throws -> DataSet?) throws -> AnswerValues {
        AnswerValues(values: try values(row, loadHeader), preferred: query.characterSet)
    }

    /// The answer encoded in `syntax`: written straight from its row when every value is an index column's
    /// (nearly every answer), else from its values when they are flat (no sequence; ASCII, or UTF-8 the query
    /// allows), through a `DataSet` otherwise. The same bytes every way (`QueryEngineTests` compare them).
    func encodedAnswer(_ row: [IndexValue], header loadHeader: () throws -> DataSet?, syntax: TransferSyntax) throws -> [UInt8] {
        if let columnPlan, let bytes = try Self.direct(columnPlan, row, syntax, utf8: takesUTF8) { return bytes }
        let values = try values(row, loadHeader)
        // A text that is not ASCII goes in UTF-8 unless the query names another character set (which `encode`
        // then tries first): written flat as well. Through a `DataSet`, the 3% of answers with a name such as
        // MÜLLER took 6% of the server's CPU in a search of 8,523 answers.
        if let bytes = try Self.flat(values, syntax, utf8: takesUTF8) { return bytes }
        return try DataSetWriter.encode(Self.encode(values, preferring: query.characterSet), syntax: syntax)
    }

    static let utf8Term = "ISO_IR 192"

    private func values(_ row: [IndexValue], _ loadHeader: () throws -> DataSet?) throws -> [(Tag, Value)] {
        var values: [(Tag, Value)] = []
        values.reserveCapacity(plan.count)
        for step in plan {
            switch step {
            case .key(let key, let column, let attribute):
                values.append((key.tag, try value(for: key, column: column, attribute: attribute, row, loadHeader)))
            case .constant(let tag, let value):
                values.append((tag, value))
            }
        }
        return values
    }

    private func value(for key: QueryKey, column: Int?, attribute: IndexedAttribute?, _ row: [IndexValue],
                       _ loadHeader: () throws -> DataSet?) throws -> Value {
        if let attribute, let i = column, i < row.count, !row[i].isNull {
            return Self.indexed(row[i], attribute)
        }
        if !hasRepresentative && query.optionalReturnKeys.contains(key.tag) { return .empty(key.vr) }
        guard let header = try loadHeader(), let element = header[key.tag] else { return .empty(key.vr) }
        if case .sequence(let itemKeys) = key.match {
            // Only the matching items, each with only the item attributes asked for.
            let items = InstanceMatcher.matchingItems(itemKeys, of: header.items(key.tag), options: query.options)
            let wanted = Set(itemKeys.map(\.tag))
            return .items(items.map { item in Self.values(of: item).filter { wanted.contains($0.0) } })
        }
        return Self.value(of: element, in: header)
    }

    /// An index column as an answer value.
    static func indexed(_ v: IndexValue, _ attribute: IndexedAttribute) -> Value {
        indexed(v, attribute.tag, attribute.vr)
    }

    static func indexed(_ v: IndexValue, _ tag: Tag, _ vr: VR) -> Value {
        switch vr {
        case .US:
            guard let n = v.integer, let u = UInt16(exactly: n) else { return .empty(.US) }
            return .element(Element(tag: tag, vr: .US, bytes: [UInt8(truncatingIfNeeded: u), UInt8(truncatingIfNeeded: u >> 8)]))
        default:
            return .text(v.text ?? "", vr)
        }
    }

    /// A stored element as an answer value (text decoded from the instance's character set).
    static func value(of e: Element, in ds: DataSet) -> Value {
        switch e.value {
        case .sequence(let seq): return .items(seq.items.map { values(of: $0.dataSet) })
        case .fragments: return .empty(e.vr)
        case .bytes(let b):
            guard e.vr.isString else { return .element(e) }
            return .text(TextValue.trim(ds.characterSet.decode(b, vr: e.vr), vr: e.vr), e.vr)
        }
    }

    static func values(of item: DataSet) -> [(Tag, Value)] {
        item.compactMap { e in e.tag == .specificCharacterSet || e.tag.isGroupLength ? nil : (e.tag, value(of: e, in: item)) }
    }

    // MARK: Encoding

    /// The character set of the answer: none when every text is ASCII; the query's when it can represent
    /// everything (the client wrote in it); UTF-8 (ISO_IR 192) otherwise.
    static func encode(_ values: [(Tag, Value)], preferring preferred: SpecificCharacterSet) -> DataSet {
        var charset = SpecificCharacterSet.default
        let ascii = allASCII(values)
        if !ascii {
            var texts: [String] = []
            collectTexts(values, &texts)
            charset = .utf8
            if !preferred.terms.isEmpty, texts.allSatisfy({ preferred.encode($0) != nil }) { charset = preferred }
        }
        var ds = DataSet(characterSet: charset)
        if !charset.terms.isEmpty {
            ds.set(Element(tag: .specificCharacterSet, vr: .CS, bytes: padded(Array(charset.terms.joined(separator: "\\").utf8), .CS)))
        }
        fill(&ds, values, ascii: ascii)
        return ds
    }

    /// The answer written straight from `row` as `flat` writes its values (the same bytes), without building
    /// them first: their array, and an enum copied per value, were a tenth of the server's CPU in a search of
    /// 8,523 answers. Nil when a column is NULL or missing (the value may then come from a stored instance), or
    /// as `flat` says: the caller then takes the values path.
    private static func direct(_ steps: [ColumnStep], _ row: [IndexValue], _ syntax: TransferSyntax, utf8: Bool) throws -> [UInt8]? {
        guard var answer = FlatAnswer(syntax, utf8: utf8) else { return nil }
        for step in steps {
            switch step {
            case .column(_, let vr, let i):
                guard i < row.count else { return nil }
                switch row[i] {
                case .null: return nil
                case .text(let s): guard vr != .US, answer.count(s, vr) else { return nil }
                default: answer.count(bytes: 20)  // a number, written as `indexed` writes it (digits, or two bytes)
                }
            case .text(_, let vr, let s): guard answer.count(s, vr) else { return nil }
            }
        }
        guard try answer.start(firstTag: steps.first?.tag) else { return nil }
        for step in steps {
            switch step {
            case .column(let tag, let vr, let i):
                if case .text(let s) = row[i] { try answer.encoder.append(tag, vr, text: s) } else { try answer.append(tag, indexed(row[i], tag, vr)) }
            case .text(let tag, let vr, let s): try answer.encoder.append(tag, vr, text: s)
            }
        }
        return answer.encoder.bytes
    }

    /// `values` encoded one after another, or nil when one of them needs the dataset path: a sequence, a syntax
    /// written whole (deflated), or a text that is not ASCII unless `utf8` allows UTF-8. Then Specific Character
    /// Set ISO_IR 192 comes first and the texts are their UTF-8 bytes: what `encode` gives an answer that is not
    /// ASCII when the query names no other character set. One pass decides (it once took two: ASCII, then UTF-8).
    private static func flat(_ values: [(Tag, Value)], _ syntax: TransferSyntax, utf8: Bool) throws -> [UInt8]? {
        guard var answer = FlatAnswer(syntax, utf8: utf8) else { return nil }
        for (_, v) in values {
            switch v {
            case .text(let s, let vr): guard answer.count(s, vr) else { return nil }
            case .element(let e): answer.count(bytes: e.bytes.count)
            case .empty(let vr): if vr == .SQ { return nil } else { answer.count(bytes: 0) }
            case .items: return nil
            }
        }
        guard try answer.start(firstTag: values.first?.0) else { return nil }
        for (tag, v) in values { try answer.append(tag, v) }
        return answer.encoder.bytes
    }

    /// An answer written flat in two passes, for `direct` and `flat`: each value counted (its size, and whether
    /// every text is ASCII or else UTF-8 is allowed), then `start` and the values appended in tag order.
    private struct FlatAnswer {
        var encoder: ElementEncoder
        private let utf8: Bool
        private var size = 0
        private var ascii = true

        init?(_ syntax: TransferSyntax, utf8: Bool) {
            guard let encoder = ElementEncoder(syntax: syntax) else { return nil }
            self.encoder = encoder
            self.utf8 = utf8
        }

        /// False when `s` is not ASCII and UTF-8 is not allowed.
        mutating func count(_ s: String, _ vr: VR) -> Bool {
            if ascii && !AnswerBuilder.isASCII(s) {
                guard utf8 else { return false }
                ascii = false
            }
            size += encoder.size(ofText: s.utf8.count, vr)
            return true
        }

        /// A value of `n` bytes (at most 12 of header).
        mutating func count(bytes n: Int) { size += 12 + n }

        /// Reserves the answer's size and, when a text is not ASCII, writes ISO_IR 192 first; false when an
        /// attribute of the answer (the first, `firstTag`: they are in tag order) would come before it.
        mutating func start(firstTag: Tag?) throws -> Bool {
            if !ascii {
                if let firstTag, firstTag <= .specificCharacterSet { return false }
                size += encoder.size(ofText: utf8Term.utf8.count, .CS)
            }
            encoder.reserveCapacity(size)
            if !ascii { try encoder.append(.specificCharacterSet, .CS, text: utf8Term) }
            return true
        }

        /// A counted value (never `.items`: counting refused those).
        mutating func append(_ tag: Tag, _ value: Value) throws {
            switch value {
            case .text(let s, let vr): try encoder.append(tag, vr, text: s)
            case .element(var e):
                e.tag = tag
                try encoder.append(e)
            case .empty(let vr): try encoder.append(Element(tag: tag, vr: vr, bytes: []))
            case .items: break
            }
        }
    }

    /// Whether `s` is ASCII, read in its storage at once: its UTF-8 view's iterator (a byte at a time, each index
    /// checked) was half of the time `direct` took to write an answer.
    static func isASCII(_ s: String) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { $0.reduce(0, |) < 0x80 } ?? s.utf8.allSatisfy { $0 < 0x80 }
    }

    /// Whether every text of the answer is ASCII (nearly every answer: no character set to choose).
    private static func allASCII(_ values: [(Tag, Value)]) -> Bool {
        for (_, v) in values {
            switch v {
            case .text(let s, _): if !isASCII(s) { return false }
            case .items(let items): if !items.allSatisfy(allASCII) { return false }
            default: break
            }
        }
        return true
    }

    private static func collectTexts(_ values: [(Tag, Value)], _ out: inout [String]) {
        for (_, v) in values {
            switch v {
            case .text(let s, _): out.append(s)
            case .items(let items): for item in items { collectTexts(item, &out) }
            default: break
            }
        }
    }

    /// `ascii`: every text is ASCII, which is its own encoding in the default character set.
    private static func fill(_ ds: inout DataSet, _ values: [(Tag, Value)], ascii: Bool) {
        for (tag, v) in values {
            switch v {
            case .text(let s, let vr):
                let bytes = !ascii && vr.usesSpecificCharacterSet ? (ds.characterSet.encode(s) ?? Array(s.utf8)) : Array(s.utf8)
                ds.set(Element(tag: tag, vr: vr, bytes: padded(bytes, vr)))
            case .element(var e):
                e.tag = tag
                ds.set(e)
            case .empty(let vr):
                ds.set(vr == .SQ ? Element(tag: tag, vr: .SQ, value: .sequence(SequenceValue()))
                       : Element(tag: tag, vr: vr, bytes: []))
            case .items(let items):
                let encoded: [SequenceItem] = items.map { item in
                    var inner = DataSet(characterSet: ds.characterSet)
                    fill(&inner, item, ascii: ascii)
                    return SequenceItem(dataSet: inner)
                }
                ds.set(Element(tag: tag, vr: .SQ, value: .sequence(SequenceValue(items: encoded))))
            }
        }
    }

    private static func padded(_ bytes: [UInt8], _ vr: VR) -> [UInt8] {
        bytes.count % 2 == 1 ? bytes + [vr.paddingByte] : bytes
    }
}

/// One answer as the engine built it, before it becomes a dataset: each attribute once, in tag order, text still
/// Unicode (its character set not chosen yet).
public struct AnswerValues: Sendable {
    let values: [(Tag, AnswerBuilder.Value)]
    let preferred: SpecificCharacterSet

    /// The answer as `QueryEngine.find` gives it (character set chosen, sequences built).
    public var dataSet: DataSet { AnswerBuilder.encode(values, preferring: preferred) }

    /// Every attribute as one element, unpadded, in tag order, when every text is ASCII and none is a sequence
    /// (nearly every answer); nil otherwise (then read `dataSet`).
    public var flatASCIIElements: [Element]? {
        var elements: [Element] = []
        elements.reserveCapacity(values.count)
        for (tag, v) in values {
            switch v {
            case .text(let s, let vr):
                guard AnswerBuilder.isASCII(s) else { return nil }
                elements.append(Element(tag: tag, vr: vr, bytes: Array(s.utf8)))
            case .element(var e):
                e.tag = tag
                elements.append(e)
            case .empty(let vr):
                guard vr != .SQ else { return nil }
                elements.append(Element(tag: tag, vr: vr, bytes: []))
            case .items:
                return nil
            }
        }
        return elements
    }
}
