import Archive
import DICOM

/// The query of a QIDO-RS search (PS3.18 10.6) read from its query parameters. No HTTP types here: what a
/// client writes in a URL is hostile text, and this is where it becomes a query, so it is tested and fuzzed
/// alone (Fuzz/QIDOFuzzer.swift). A parameter that cannot be read throws `QueryError.badIdentifier` (400).
struct QIDOQuery {
    var query: Query
    /// `includefield` attributes and unknown parameters, for the response's `Warning` headers.
    var warnings: [String]

    /// - Parameters:
    ///   - parameters: name and value of each query parameter, percent-decoded, in order.
    ///   - study, series: the UIDs the path names (already checked).
    init(_ parameters: [(String, String)], level: QueryLevel, study: String? = nil, series: String? = nil,
         maxParameters: Int) throws {
        guard parameters.count <= maxParameters else {
            throw QueryError.badIdentifier("more than \(maxParameters) query parameters")
        }
        var keys: [QueryKey] = []
        var include: [Tag] = []
        var limit: Int?
        var offset = 0
        var warnings: [String] = []
        for (name, value) in parameters {
            switch name.lowercased() {
            case "limit":
                guard let n = Int(value), n >= 0 else { throw QueryError.badIdentifier("limit \(value.prefix(64)) is not a count") }
                limit = n
            case "offset":
                guard let n = Int(value), n >= 0 else { throw QueryError.badIdentifier("offset \(value.prefix(64)) is not a count") }
                offset = n
            case "includefield":
                for field in value.split(separator: ",") {
                    if field == "all" {
                        include += IncludeAll.tags(level)
                    } else if let tag = Self.tag(String(field)) {
                        include.append(tag)
                    } else if field.contains("."), let key = try Self.key(String(field), "") {
                        Self.add(key, to: &keys)
                    } else {
                        warnings.append("unknown includefield \(field.prefix(64))")
                    }
                }
            case "fuzzymatching":
                // Person names are always matched insensitive to case and accents; nothing else is fuzzy.
                continue
            default:
                guard let key = try Self.key(name, value) else {
                    warnings.append("unknown query parameter \(name.prefix(64))")
                    continue
                }
                Self.add(key, to: &keys)
            }
        }
        if let study { keys.append(QueryKey(tag: .studyInstanceUID, vr: .UI, match: .single(study))) }
        if let series { keys.append(QueryKey(tag: .seriesInstanceUID, vr: .UI, match: .single(series))) }
        let defaults = Self.defaultReturnKeys(level, study: study, series: series)
        for tag in defaults + include where !keys.contains(where: { $0.tag == tag }) {
            keys.append(QueryKey(tag: tag, vr: DataDictionary.vr(for: tag), match: .universal))
        }
        if level == .series { Self.add(Self.requestAttributes, to: &keys) }
        var query = Query(model: .studyRoot, level: level, keys: keys, options: QueryOptions(relational: true),
                          characterSet: .utf8, limit: limit, offset: offset)
        query.order = .stable
        // Defaults the index does not hold are answered when an instance is read for another key, else empty.
        query.optionalReturnKeys = Set(defaults + [Self.requestAttributes.tag]).subtracting(include)
        self.query = query
        self.warnings = warnings
    }

    /// Attributes returned by default per level (PS3.18 Tables 10.6.3-3 to -5), beside those asked for. A search
    /// whose path names no study (All Series, All Instances) also returns the study's attributes, one that names no
    /// series (All Instances, Study's Instances) the series' (PS3.18 10.6.3.3.2-3); otherwise the unique keys of
    /// the levels above (a relational answer names its study and series).
    static func defaultReturnKeys(_ level: QueryLevel, study: String? = nil, series: String? = nil) -> [Tag] {
        let own = defaultReturnKeys(of: level)
        switch level {
        case .patient, .study: return own
        case .series: return own + (study == nil ? defaultReturnKeys(of: .study) : [.studyInstanceUID])
        case .image:
            return own + (series == nil ? defaultReturnKeys(of: .series) : [.seriesInstanceUID])
                + (study == nil ? defaultReturnKeys(of: .study) : [.studyInstanceUID])
        }
    }

    /// The level's own attributes of PS3.18 Tables 10.6.3-3 to -5.
    private static func defaultReturnKeys(of level: QueryLevel) -> [Tag] {
        let study: [Tag] = [.studyDate, .studyTime, .accessionNumber, .instanceAvailability, .modalitiesInStudy, .referringPhysicianName,
                            .timezoneOffsetFromUTC, .patientName, .patientID, .patientBirthDate, .patientSex, .studyInstanceUID, .studyID,
                            .numberOfStudyRelatedSeries, .numberOfStudyRelatedInstances]
        let series: [Tag] = [.modality, .timezoneOffsetFromUTC, .seriesDescription, .seriesInstanceUID, .seriesNumber,
                             .numberOfSeriesRelatedInstances, Tag(0x0040, 0x0244), Tag(0x0040, 0x0245)]
        let instance: [Tag] = [.sopClassUID, .sopInstanceUID, .instanceAvailability, .timezoneOffsetFromUTC, .instanceNumber, .rows,
                               .columns, .bitsAllocated, .numberOfFrames]
        switch level {
        case .patient, .study: return study
        case .series: return series
        case .image: return instance
        }
    }

    /// Request Attributes Sequence with its two default item attributes (Table 10.6.3-4).
    static let requestAttributes = QueryKey(tag: Tag(0x0040, 0x0275), vr: .SQ, match: .sequence([
        QueryKey(tag: Tag(0x0040, 0x0009), vr: .SH, match: .universal), QueryKey(tag: Tag(0x0040, 0x1001), vr: .SH, match: .universal),
    ]))

    /// Adds a key; keys of one sequence (`Seq.A=x&Seq.B=y`, `includefield=Seq.C`) become one sequence key whose
    /// item keys must all match one item (PS3.4 C.2.2.2.6).
    static func add(_ key: QueryKey, to keys: inout [QueryKey]) {
        guard case .sequence(let items) = key.match, let i = keys.firstIndex(where: { $0.tag == key.tag }) else {
            if let i = keys.firstIndex(where: { $0.tag == key.tag }) { keys[i] = key } else { keys.append(key) }
            return
        }
        var merged: [QueryKey] = []
        if case .sequence(let existing) = keys[i].match { merged = existing }
        for item in items {
            if let j = merged.firstIndex(where: { $0.tag == item.tag }) {
                if !item.match.isUniversal { merged[j] = item }
            } else {
                merged.append(item)
            }
        }
        keys[i] = QueryKey(tag: key.tag, vr: .SQ, match: .sequence(merged))
    }

    /// A query key from a QIDO parameter: `PatientName`, `00100010`, or `Sequence.Attribute` (one level).
    static func key(_ name: String, _ value: String) throws -> QueryKey? {
        let path = name.split(separator: ".").map(String.init)
        guard let first = path.first, let tag = tag(first) else { return nil }
        do {
            if path.count == 1 { return try QueryKey(tag: tag, text: value) }
            guard path.count == 2, let inner = self.tag(path[1]) else { return nil }
            return QueryKey(sequence: tag, item: try QueryKey(tag: inner, text: value))
        } catch let error as QueryError {
            throw QueryError.badIdentifier("\(name.prefix(64)): \(error)")
        }
    }

    /// A keyword or eight hex digits.
    static func tag(_ text: String) -> Tag? {
        if text.count == 8, let raw = UInt32(text, radix: 16) { return Tag(rawValue: raw) }
        return DataDictionary.entry(forKeyword: text)?.tag
    }
}

/// `includefield=all`: every attribute the index holds at the level and above (Study Description, Body Part
/// Examined and Series Date were missing from a list kept by hand), the defaults of every level, and the usual
/// others of a stored instance (read from it).
enum IncludeAll {
    static func tags(_ level: QueryLevel) -> [Tag] {
        // The defaults of a search with no parent in its path are those of every level up to this one.
        var tags = QIDOQuery.defaultReturnKeys(level) + QueryModel.studyRoot.indexedTags(atOrAbove: level)
            + [Tag(0x0008, 0x0080), Tag(0x0010, 0x1010)]  // Institution Name, Patient's Age
        if level >= .series { tags += [Tag(0x0018, 0x0050), Tag(0x0008, 0x0070)] }  // Slice Thickness, Manufacturer
        if level == .image { tags += [.photometricInterpretation, .samplesPerPixel, Tag(0x0020, 0x0032), Tag(0x0020, 0x0037)] }
        var seen = Set<Tag>()
        return tags.filter { seen.insert($0).inserted }
    }
}
