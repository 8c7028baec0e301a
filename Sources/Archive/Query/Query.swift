import DICOM

/// What a query may do beyond the hierarchical baseline: negotiated per association for C-FIND (the SOP class
/// extended negotiation), fixed for QIDO-RS.
public struct QueryOptions: Sendable, Equatable {
    /// Relational queries: keys below the level, no unique keys required above it (PS3.4 C.4.1.2.2.2).
    public var relational: Bool
    /// Study Date and Study Time matched together as one date-time range (PS3.4 C.2.2.2.5.2).
    public var combinedDateTime: Bool
    /// Person names matched insensitive to case and accents (the default; PS3.4 C.2.2.2.1 allows it for PN).
    public var foldPersonNames: Bool

    public init(relational: Bool = false, combinedDateTime: Bool = false, foldPersonNames: Bool = true) {
        self.relational = relational
        self.combinedDateTime = combinedDateTime
        self.foldPersonNames = foldPersonNames
    }
}

/// The order of a query's answers.
public enum ResultOrder: Sendable {
    /// Whatever order the index walks (the fastest: a LIMIT stops the walk early).
    case unordered
    /// Studies newest first; series and instances by number: the same on every request, so pages follow.
    case stable
}

/// A parsed query: the level, every key with its matching type, and the identifier's character set (for the
/// answers' encoding). C-FIND builds one from its identifier, QIDO-RS from its URL: both then run the same
/// `QueryEngine`.
public struct Query: Sendable {
    public var model: QueryModel
    public var level: QueryLevel
    public var keys: [QueryKey]
    public var options: QueryOptions
    /// The character set the request was written in.
    public var characterSet: SpecificCharacterSet
    /// At most this many matches are returned (nil: the engine's limit); `offset` matches are skipped first.
    public var limit: Int?
    public var offset: Int
    /// Paged answers (QIDO-RS `offset`) need one order on every request; C-FIND needs none.
    public var order: ResultOrder = .unordered
    /// Return keys answered only when the index holds them or the stored instance is read anyway (QIDO-RS's
    /// default attributes: reading a file per answer for a Timezone Offset nobody asked for would cost more
    /// than the query).
    public var optionalReturnKeys: Set<Tag> = []

    public init(model: QueryModel, level: QueryLevel, keys: [QueryKey], options: QueryOptions = QueryOptions(),
                characterSet: SpecificCharacterSet = .default, limit: Int? = nil, offset: Int = 0) {
        self.model = model
        self.level = level
        self.keys = keys
        self.options = options
        self.characterSet = characterSet
        self.limit = limit
        self.offset = offset
    }

    public func key(_ tag: Tag) -> QueryKey? { keys.first { $0.tag == tag } }

    /// Parses a C-FIND / C-MOVE / C-GET identifier (PS3.4 C.4.1.1.3, C.4.2.1.4). Keys below the level are
    /// refused unless relational queries were negotiated (universal ones are dropped: they ask for nothing);
    /// without relational queries the unique key of every level above must be given with a single value.
    public init(identifier ds: DataSet, model: QueryModel, options: QueryOptions = QueryOptions()) throws {
        guard let levelText = ds.string(.queryRetrieveLevel), !levelText.isEmpty else {
            throw QueryError.identifierDoesNotMatch("no Query/Retrieve Level (0008,0052)")
        }
        guard let level = QueryLevel(levelText), model.levels.contains(level) else {
            throw QueryError.identifierDoesNotMatch("Query/Retrieve Level \(levelText.prefix(16)) is not one of the \(model == .patientRoot ? "Patient" : "Study") Root levels")
        }
        var keys: [QueryKey] = []
        for element in ds {
            let tag = element.tag
            if tag.isGroupLength || tag.group < 0x0008 || tag == .specificCharacterSet || tag == .queryRetrieveLevel { continue }
            if tag.isDelimiter { continue }
            let key = try Self.key(element, in: ds)
            if let attribute = IndexedAttribute.lookup(tag) {
                let keyLevel = model.level(of: attribute.level)
                if keyLevel > level {
                    if key.match.isUniversal { continue }
                    guard options.relational else {
                        throw QueryError.identifierDoesNotMatch("\(DataDictionary.entry(for: tag)?.keyword ?? "\(tag)") is below the \(level) level (relational queries were not negotiated)")
                    }
                }
            }
            keys.append(key)
        }
        self.init(model: model, level: level, keys: keys, options: options, characterSet: ds.characterSet)
        if !options.relational { try checkUniqueKeysAbove() }
    }

    /// Hierarchical queries: each level above the query level is named by its unique key, a single value.
    func checkUniqueKeysAbove() throws {
        for above in model.levels where above < level {
            let tag = above.uniqueKey
            let name = DataDictionary.entry(for: tag)?.keyword ?? "\(tag)"
            guard let key = key(tag) else {
                throw QueryError.identifierDoesNotMatch("\(level) level needs \(name) \(tag) of the \(above) level")
            }
            guard case .single = key.match else {
                throw QueryError.identifierDoesNotMatch("\(name) \(tag) must be a single value above the \(level) level")
            }
        }
    }

    /// One identifier element as a key.
    static func key(_ element: Element, in ds: DataSet) throws -> QueryKey {
        let vr = element.vr == .UN ? DataDictionary.vr(for: element.tag) : element.vr
        // Timezone Offset From UTC says which offset the query's dates and times are in (PS3.4 C.2.2.2.5), not a
        // value to match: matched as one, it dropped every study stored without it or with another offset.
        // Times are matched as stored (no adjustment); the attribute is returned as stored.
        if element.tag == .timezoneOffsetFromUTC { return QueryKey(tag: element.tag, vr: vr, match: .universal) }
        switch element.value {
        case .sequence(let seq):
            guard let item = seq.items.first?.dataSet, !item.isEmpty else {
                return QueryKey(tag: element.tag, vr: .SQ, match: .universal)
            }
            var itemKeys: [QueryKey] = []
            for e in item where !e.tag.isGroupLength && !e.tag.isDelimiter && e.tag != .specificCharacterSet {
                itemKeys.append(try key(e, in: item))
            }
            // Item keys name what to return of each item; those with values also select the items.
            return QueryKey(tag: element.tag, vr: .SQ, match: itemKeys.isEmpty ? .universal : .sequence(itemKeys))
        case .fragments:
            return QueryKey(tag: element.tag, vr: vr, match: .universal)
        case .bytes(let bytes):
            if vr.isNumeric, !vr.isString, !bytes.isEmpty {
                // A binary number (Rows US 512): single value matching on its value(s), as QIDO-RS matches the
                // same key given as text. Taken as universal, it returned every instance.
                var one = DataSet()
                one.set(Element(tag: element.tag, vr: vr, bytes: bytes))  // the dictionary's VR for an implicit UN
                let numbers = InstanceMatcher.values(element.tag, in: one)
                guard !numbers.isEmpty else { throw QueryError.badIdentifier("\(element.tag): \(bytes.count) bytes are no \(vr) value") }
                guard numbers.count <= MatchParser.maxValues else {
                    throw QueryError.badIdentifier("\(numbers.count) values in one key (at most \(MatchParser.maxValues))")
                }
                return QueryKey(tag: element.tag, vr: vr, match: numbers.count == 1 ? .single(numbers[0]) : .anyOf(numbers.map { .single($0) }))
            }
            guard vr.isString, !bytes.isEmpty else { return QueryKey(tag: element.tag, vr: vr, match: .universal) }
            let text = MatchParser.trim(ds.characterSet.decode(bytes, vr: vr))
            return QueryKey(tag: element.tag, vr: vr, match: try MatchParser.match(text, vr: vr))
        }
    }
}

extension QueryKey {
    /// A key from text, as QIDO-RS gives it (`PatientName=DOE*`): its matching type read from the value by the
    /// attribute's VR. An empty value asks for the attribute (universal matching).
    public init(tag: Tag, text: String) throws {
        let vr = DataDictionary.vr(for: tag)
        // As in a C-FIND identifier (`Query.key`): the offset the query is in, not a value to match.
        let asked = vr == .SQ || tag == .timezoneOffsetFromUTC
        self.init(tag: tag, vr: vr, match: asked ? .universal : try MatchParser.match(MatchParser.trim(text), vr: vr))
    }

    /// A sequence key matching one item attribute (`RequestAttributesSequence.ScheduledProcedureStepID=…`).
    public init(sequence tag: Tag, item: QueryKey) {
        self.init(tag: tag, vr: .SQ, match: .sequence([item]))
    }
}
