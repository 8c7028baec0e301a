import DICOM

/// One statement per query: every indexed key becomes a condition before the LIMIT, keys of lower levels
/// (relational queries) become EXISTS subqueries, and what the index cannot express is listed for a check on
/// the stored instance.
struct CompiledQuery: Sendable {
    /// What each selected column holds.
    enum Column: Sendable, Equatable {
        /// The value of an indexed attribute.
        case attribute(Tag)
        /// The archive-relative location of one instance of the entity (the stored instance answered from).
        case representative
        /// The primary key of the entity at the query level.
        case key
    }

    var sql: String
    var arguments: [IndexValue]
    var columns: [Column]
    /// Keys checked on the representative instance: not indexed, or sequences.
    var instanceKeys: [QueryKey]
    /// Keys on nullable columns: checked on the instance for rows whose column is NULL.
    var nullableKeys: [QueryKey]
    /// Whether the statement already stops at the limit (no instance checks remain to thin it out).
    var limitInSQL: Bool

    func columnIndex(_ column: Column) -> Int? { columns.firstIndex(of: column) }
}

enum QueryCompiler {
    /// The FROM clause of a level: its table and those above it (`patients` below the patient level only when
    /// `patients`: a study row has copies of the patient attributes most searches name).
    static func from(_ level: QueryLevel, patients: Bool = true) -> String {
        let patientsJoin = patients ? " JOIN patients p ON p.pk = st.patient_pk" : ""
        switch level {
        case .patient: return "patients p"
        case .study: return "studies st" + patientsJoin
        case .series: return "series se JOIN studies st ON st.pk = se.study_pk" + patientsJoin
        case .image: return "instances i JOIN series se ON se.pk = i.series_pk JOIN studies st ON st.pk = se.study_pk" + patientsJoin
        }
    }

    static func primaryKey(_ level: QueryLevel) -> String {
        switch level {
        case .patient: return "p.pk"
        case .study: return "st.pk"
        case .series: return "se.pk"
        case .image: return "i.pk"
        }
    }

    /// One instance of the entity: its own file at IMAGE level, any one of its instances above. Its location and
    /// hash in one value (`RepresentativeInstance`): a hash still a placeholder says the file may not be in place.
    static func representative(_ level: QueryLevel) -> String {
        func located(_ table: String) -> String { "\(table).file_path || '|' || \(table).file_hash" }
        let value = located("xr")
        switch level {
        case .image: return located("i")
        case .series: return "(SELECT \(value) FROM instances xr WHERE xr.series_pk = se.pk LIMIT 1)"
        case .study:
            return "(SELECT \(value) FROM series yr JOIN instances xr ON xr.series_pk = yr.pk WHERE yr.study_pk = st.pk LIMIT 1)"
        case .patient:
            return """
                (SELECT \(value) FROM studies zr JOIN series yr ON yr.study_pk = zr.pk JOIN instances xr ON xr.series_pk = yr.pk \
                WHERE zr.patient_pk = p.pk LIMIT 1)
                """
        }
    }

    /// `retrieveAETitle`: the title the answers carry in Retrieve AE Title (0008,0054), which a key of that
    /// attribute is matched against (it is ours, not the stored instances').
    /// `maxExamined`: how many rows the engine reads from their stored instances before it gives up (`MatchRun`).
    static func compile(_ query: Query, dialect: any SQLDialect, limit: Int, retrieveAETitle: String? = nil,
                        maxExamined: Int = .max) -> CompiledQuery {
        var sql = SQLBuilder(dialect: dialect)
        let level = query.level
        var select: [String] = [primaryKey(level)]
        var columns: [CompiledQuery.Column] = [.key]
        var conditions: [String] = []
        var below: [QueryLevel: [String]] = [:]
        var instanceKeys: [QueryKey] = []
        var nullableKeys: [QueryKey] = []
        var needsInstance = false
        // Below the patient level, patient attributes are read from the study row's copies; `patients` is joined
        // only for one without a copy (the patient's counts).
        var joinsPatients = false
        func resolved(_ attribute: IndexedAttribute) -> IndexedAttribute {
            guard level > .patient, attribute.level == .patient else { return attribute }
            if let copy = attribute.onStudyRow { return copy }
            joinsPatients = true
            return attribute
        }

        let combined = query.options.combinedDateTime ? combinedStudyDateTime(query, &sql) : nil
        if let combined {
            // On the study rows: at the PATIENT level (a relational query) they are below, in its EXISTS; at the
            // top, the condition named `st` where only `patients p` was selected from, and the query failed.
            if level >= .study { conditions.append(combined) } else { below[.study, default: []].append(combined) }
        }

        for key in query.keys {
            if key.tag == .retrieveAETitle {
                // Answered with our title (`AnswerBuilder`): a value that does not match it matches nothing. Read from
                // the stored instances, which do not hold it, the key came back empty and a value matched nothing.
                let ours = retrieveAETitle.map { InstanceMatcher.value(key.match, $0, vr: .AE, options: query.options) } ?? false
                if !key.match.selectsAll && !ours { conditions.append("1 = 0") }
                continue
            }
            guard let attribute = IndexedAttribute.lookup(key.tag).map(resolved) else {
                // Not in the index: answered from, and matched on, the stored instance.
                if key.match.selectsAll && query.optionalReturnKeys.contains(key.tag) { continue }
                needsInstance = true
                if !key.match.selectsAll { instanceKeys.append(key) }
                continue
            }
            let keyLevel = query.model.level(of: attribute.level)
            if keyLevel <= level {
                select.append(attribute.column)
                columns.append(.attribute(key.tag))
                if attribute.nullable { needsInstance = true }
            }
            if combined != nil && (key.tag == .studyDate || key.tag == .studyTime) { continue }
            guard let condition = condition(attribute, key.match, query.options, &sql) else { continue }
            let guarded = attribute.nullable ? "(\(attribute.column) IS NULL OR \(condition))" : condition
            if attribute.nullable { nullableKeys.append(key) }
            if keyLevel <= level { conditions.append(guarded) } else { below[keyLevel, default: []].append(guarded) }
        }
        if let exists = lowerLevels(from: level, below) { conditions.append(exists) }
        // The unique keys of the level and those above are in every answer (PS3.4 C.4.1.1.3.2).
        for l in query.model.levels where l <= level && !columns.contains(.attribute(l.uniqueKey)) {
            guard let attribute = IndexedAttribute.lookup(l.uniqueKey).map(resolved) else { continue }
            select.append(attribute.column)
            columns.append(.attribute(l.uniqueKey))
        }
        if needsInstance {
            select.append(representative(level))
            columns.append(.representative)
        }
        var text = "SELECT " + select.joined(separator: ", ") + " FROM " + from(level, patients: joinsPatients)
        if !conditions.isEmpty { text += " WHERE " + conditions.joined(separator: " AND ") }
        if query.order == .stable { text += " ORDER BY " + orderBy(level) }
        let limitInSQL = instanceKeys.isEmpty && nullableKeys.isEmpty
        if limitInSQL {
            text += " LIMIT \(sql.bind(.integer(Int64(limit)))) OFFSET \(sql.bind(.integer(Int64(max(0, query.offset)))))"
        } else {
            // The engine decides on the rows: it reads at most `maxExamined` from their instances before giving up,
            // and the others it takes are the offset and the answers, so no row past their sum is ever needed.
            // Unbounded, PostgreSQL sent the whole table ahead of the checks (its rows are pushed, not pulled).
            let (answers, o1) = max(0, query.offset).addingReportingOverflow(limit)
            let (bound, o2) = maxExamined.addingReportingOverflow(answers)
            if !o1, !o2, bound < Int.max { text += " LIMIT \(sql.bind(.integer(Int64(bound + 1))))" }
        }
        return CompiledQuery(sql: text, arguments: sql.arguments, columns: columns, instanceKeys: instanceKeys,
                             nullableKeys: nullableKeys, limitInSQL: limitInSQL)
    }

    /// A total order per level: newest studies first (what a study list shows), series and instances by number.
    static func orderBy(_ level: QueryLevel) -> String {
        switch level {
        case .patient: return "p.pk"
        case .study: return "st.study_date DESC, st.study_time DESC, st.pk DESC"
        case .series: return "se.series_number, se.pk"
        case .image: return "i.instance_number, i.pk"
        }
    }

    /// Relational keys of the levels below, nested: `EXISTS (series … AND EXISTS (instances …))`.
    private static func lowerLevels(from level: QueryLevel, _ below: [QueryLevel: [String]]) -> String? {
        guard !below.isEmpty else { return nil }
        var inner: String?
        for l in QueryLevel.allCases.reversed() where l > level {
            var parts = below[l] ?? []
            if let inner { parts.append(inner) }
            guard !parts.isEmpty else { continue }
            let (table, link): (String, String)
            switch l {
            case .study: (table, link) = ("studies st", "st.patient_pk = p.pk")
            case .series: (table, link) = ("series se", "se.study_pk = st.pk")
            case .image: (table, link) = ("instances i", "i.series_pk = se.pk")
            case .patient: continue
            }
            inner = "EXISTS (SELECT 1 FROM \(table) WHERE \(link) AND " + parts.joined(separator: " AND ") + ")"
        }
        return inner
    }

    /// The SQL condition of one key on an indexed attribute; nil for universal matching (and for counts,
    /// which are return keys only).
    static func condition(_ attribute: IndexedAttribute, _ match: ValueMatch, _ options: QueryOptions, _ sql: inout SQLBuilder) -> String? {
        if match.isUniversal { return nil }
        switch attribute.kind {
        case .count:
            return nil
        case .list(let exists, let itemColumn):
            let item = IndexedAttribute(attribute.tag, attribute.vr, attribute.level, itemColumn, attribute.vr == .UI ? .uid : .text)
            guard let inner = condition(item, match, options, &sql) else { return nil }
            return "EXISTS (\(exists)\(inner))"
        default:
            return valueCondition(attribute, match, options, &sql)
        }
    }

    private static func valueCondition(_ a: IndexedAttribute, _ match: ValueMatch, _ options: QueryOptions, _ sql: inout SQLBuilder) -> String? {
        switch match {
        case .universal:
            return nil
        case .sequence:
            return "1 = 0"  // an indexed attribute is never a sequence
        case .anyOf(let matches):
            let singles = matches.compactMap { m -> String? in if case .single(let v) = m { return v } else { return nil } }
            if singles.count == matches.count, a.kind.comparesExactly {
                return "\(a.column) IN (" + singles.map { sql.bind(.text($0)) }.joined(separator: ", ") + ")"
            }
            let parts = matches.compactMap { valueCondition(a, $0, options, &sql) }
            return parts.isEmpty ? nil : "(" + parts.joined(separator: " OR ") + ")"
        default:
            break
        }
        switch a.kind {
        case .personName(let folded):
            return personName(options.foldPersonNames ? folded : a.column, match, fold: options.foldPersonNames, &sql)
        case .integer:
            guard case .single(let v) = match, let n = Int64(v.trimmingSpaces) else { return "1 = 0" }
            return "\(a.column) = \(sql.bind(.integer(n)))"
        case .time:
            return time(a.column, match, &sql)
        case .date, .uid, .text:
            switch match {
            case .single(let v): return "\(a.column) = \(sql.bind(.text(v)))"
            case .wildcard(let p): return wildcard(a.column, p, &sql)
            case .range(let lower, let upper):
                var parts = ["\(a.column) != ''"]
                if let lower { parts.append("\(a.column) >= \(sql.bind(.text(lower)))") }
                if let upper { parts.append("\(a.column) <= \(sql.bind(.text(upper)))") }
                return parts.joined(separator: " AND ")
            default: return "1 = 0"
            }
        case .count, .list:
            return nil
        }
    }

    /// A wild card over a whole value, with the literal prefix before the first `*`/`?` as an index range.
    static func wildcard(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String {
        let prefix = String(pattern.prefix { $0 != "*" && $0 != "?" })
        let range = prefix.isEmpty ? nil : sql.prefixRange(column, prefix)
        let match = sql.dialect.wildcard(column, pattern, &sql)
        return range.map { $0 + " AND " + match } ?? match
    }

    /// Person names. A value with `=` names component groups, matched group by group (`personNameByGroup`).
    /// A value without `=` names one component group: it matches the alphabetic group (the
    /// start of the stored value) or, when it holds non-ASCII characters (ideographic or phonetic writing),
    /// any group. With folding, `column` is the folded column and the value is folded too.
    /// A single value is matched as written and, when it ends with empty components, without them: `DOE^JOHN^^^`
    /// finds `DOE^JOHN` (it matched nothing), and a name stored with the carets is still found as written.
    static func personName(_ column: String, _ match: ValueMatch, fold: Bool, _ sql: inout SQLBuilder) -> String {
        switch match {
        case .single(let v), .wildcard(let v):
            if (fold ? TextFolding.fold(v) : v).contains("=") { return personNameByGroup(column, match, fold: fold, &sql) }
        default:
            break
        }
        if case .single(let v) = match {
            let short = MatchParser.personName(v)
            if short != v && !short.isEmpty {
                return "(" + personNameAsWritten(column, match, fold: fold, &sql) + " OR "
                    + personNameAsWritten(column, .single(short), fold: fold, &sql) + ")"
            }
        }
        return personNameAsWritten(column, match, fold: fold, &sql)
    }

    private static func personNameAsWritten(_ column: String, _ match: ValueMatch, fold: Bool, _ sql: inout SQLBuilder) -> String {
        guard let (raw, isPattern) = textAndPattern(match) else { return "1 = 0" }
        let value = fold ? TextFolding.fold(raw) : raw
        let literal = isPattern ? value : escapeWildcards(value)
        // Alphabetic group: the whole value, or the value followed by `=` and the other groups.
        let prefix = String(literal.prefix { $0 != "*" && $0 != "?" })
        var alphabetic: String
        if isPattern {
            let range = prefix.isEmpty ? nil : sql.prefixRange(column, prefix)
            let either = "(" + sql.dialect.wildcard(column, literal, &sql) + " OR " + sql.dialect.wildcard(column, literal + "=*", &sql) + ")"
            alphabetic = range.map { $0 + " AND " + either } ?? either
        } else {
            let equal = "\(column) = \(sql.bind(.text(value)))"
            alphabetic = "(" + equal + " OR " + sql.prefixRange(column, value + "=") + ")"
        }
        guard value.unicodeScalars.contains(where: { !$0.isASCII }) else { return alphabetic }
        let first = sql.dialect.wildcard(column, "*=" + literal, &sql)
        let second = sql.dialect.wildcard(column, "*=" + literal + "=*", &sql)
        return "((\(alphabetic)) OR \(first) OR \(second))"
    }

    /// A value with `=`, group by group (PS3.4 C.2.2.2.1; PS3.5 6.2): each group the key writes is matched against
    /// the same group of the stored name, and an empty group (or one of `*` only), like the groups a key leaves
    /// off at its end, matches any value of its group: `=山田*` finds `Yamada^Taro=山田^太郎=やまだ^たろう`. It
    /// was matched over the whole stored value, where `=山田*` found only names without an alphabetic group, and
    /// `Yamada^Taro=山田^太郎` no name with a phonetic one. A single value's group and the stored group are
    /// compared without the empty components (and padding) they end with: `DOE^JOHN^^` is `DOE^JOHN` (PS3.5 6.2);
    /// a group of empty components only (`^^`) is compared as written. The alphabetic group starts
    /// the stored value, so its literal start is also an index range. A key of empty groups only (`=`, `*=*`)
    /// matches any name the entity has (the stored instance, which `InstanceMatcher` reads, has no empty value).
    private static func personNameByGroup(_ column: String, _ match: ValueMatch, fold: Bool, _ sql: inout SQLBuilder) -> String {
        guard let (raw, isPattern) = textAndPattern(match) else { return "1 = 0" }
        let value = fold ? TextFolding.fold(raw) : raw
        var parts: [String] = []
        for (i, group) in MatchParser.personNameGroups(value).enumerated() where !group.isEmpty {
            if isPattern && group.allSatisfy({ $0 == "*" }) { continue }
            let stored = personNameGroup(column, i, sql.dialect)
            if isPattern {
                let prefix = String(group.prefix { $0 != "*" && $0 != "?" })
                if i == 0 && !prefix.isEmpty { parts.append(sql.prefixRange(column, prefix)) }
                parts.append(sql.dialect.wildcard(stored, group, &sql))
            } else {
                let short = MatchParser.trimmingEmptyComponents(group)
                if i == 0 { parts.append(sql.prefixRange(column, short.isEmpty ? group : short)) }
                parts.append(short.isEmpty ? "\(stored) = \(sql.bind(.text(group)))" : "rtrim(\(stored), '^ ') = \(sql.bind(.text(short)))")
            }
        }
        if parts.isEmpty { return "\(column) != ''" }
        return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
    }

    /// The text of a single value or a wild card pattern, and which it is; nil for other matches.
    private static func textAndPattern(_ match: ValueMatch) -> (String, Bool)? {
        switch match {
        case .single(let v): (v, false)
        case .wildcard(let p): (p, true)
        default: nil
        }
    }

    /// Component group `index` (0 alphabetic, 1 ideographic, 2 phonetic) of the name in `column`, split as
    /// `MatchParser.personNameGroups` splits it: '' when the name has no such group. The index holds whole names
    /// only; this reads the group out of one on each row the other conditions leave.
    static func personNameGroup(_ column: String, _ index: Int, _ dialect: any SQLDialect) -> String {
        func first(_ e: String) -> String {
            let at = dialect.position("'='", in: e)
            return "CASE WHEN \(at) = 0 THEN \(e) ELSE substr(\(e), 1, \(at) - 1) END"
        }
        func rest(_ e: String) -> String {
            let at = dialect.position("'='", in: e)
            return "CASE WHEN \(at) = 0 THEN '' ELSE substr(\(e), \(at) + 1) END"
        }
        switch index {
        case 0: return first(column)
        case 1: return first(rest(column))
        default: return rest(rest(column))
        }
    }

    /// A value made literal inside a DICOM wild card pattern. `*` and `?` cannot be literal in a pattern
    /// (PS3.4 has no escape), so a single value holding them cannot be matched as a pattern: they become `?`,
    /// which the exact comparison of the first branch backs up.
    private static func escapeWildcards(_ v: String) -> String {
        String(v.map { $0 == "*" || $0 == "?" ? "?" : $0 })
    }

    /// TM as HHMMSS (missing minutes and seconds read as 00; fractions ignored): ranges inclusive, an upper
    /// bound completed with 59s (`12` is up to 12:59:59), a range whose lower end is later than its upper
    /// end crossing midnight.
    static func time(_ column: String, _ match: ValueMatch, _ sql: inout SQLBuilder) -> String {
        let normalized = "substr(\(column) || '000000', 1, 6)"
        switch match {
        case .single(let v):
            return "\(column) = \(sql.bind(.text(v)))"
        case .range(let lower, let upper):
            let lo = lower.map { TimeBound.lower($0) }
            let hi = upper.map { TimeBound.upper($0) }
            if let lo, let hi, lo > hi {
                return "\(column) != '' AND (\(normalized) >= \(sql.bind(.text(lo))) OR \(normalized) <= \(sql.bind(.text(hi))))"
            }
            var parts = ["\(column) != ''"]
            if let lo { parts.append("\(normalized) >= \(sql.bind(.text(lo)))") }
            if let hi { parts.append("\(normalized) <= \(sql.bind(.text(hi)))") }
            return parts.joined(separator: " AND ")
        default:
            return "1 = 0"
        }
    }

    /// Study Date and Study Time as one range of date-times, when combined matching was negotiated and both
    /// keys select something.
    private static func combinedStudyDateTime(_ query: Query, _ sql: inout SQLBuilder) -> String? {
        guard let date = query.key(.studyDate)?.match, let time = query.key(.studyTime)?.match,
              !date.isUniversal, !time.isUniversal else { return nil }
        func ends(_ m: ValueMatch) -> (String?, String?)? {
            switch m {
            case .single(let v): return (v, v)
            case .range(let l, let u): return (l, u)
            default: return nil
            }
        }
        guard let (dLow, dHigh) = ends(date), let (tLow, tHigh) = ends(time) else { return nil }
        let t = "substr(st.study_time || '000000', 1, 6)"
        var parts = ["st.study_date != ''"]
        if let dLow {
            if let tLow {
                let d = sql.bind(.text(dLow))
                parts.append("(st.study_date > \(d) OR (st.study_date = \(sql.bind(.text(dLow))) AND \(t) >= \(sql.bind(.text(TimeBound.lower(tLow))))))")
            } else {
                parts.append("st.study_date >= \(sql.bind(.text(dLow)))")
            }
        }
        if let dHigh {
            if let tHigh {
                let d = sql.bind(.text(dHigh))
                parts.append("(st.study_date < \(d) OR (st.study_date = \(sql.bind(.text(dHigh))) AND \(t) <= \(sql.bind(.text(TimeBound.upper(tHigh))))))")
            } else {
                parts.append("st.study_date <= \(sql.bind(.text(dHigh)))")
            }
        }
        return parts.joined(separator: " AND ")
    }
}

/// TM range bounds as HHMMSS.
enum TimeBound {
    static func digits(_ t: String) -> String {
        let main = t.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return main.filter { $0 != ":" }
    }

    static func lower(_ t: String) -> String {
        String((digits(t) + "000000").prefix(6))
    }

    static func upper(_ t: String) -> String {
        let d = digits(t)
        switch d.count {
        case 0: return "235959"
        case 2: return d + "5959"
        case 4: return d + "59"
        default: return String(d.prefix(6))
        }
    }
}

extension IndexedAttribute.Kind {
    /// Single values of this kind compare as stored strings (so a list of them is an IN list).
    var comparesExactly: Bool {
        switch self {
        case .text, .uid, .date: return true
        default: return false
        }
    }
}

extension String {
    var trimmingSpaces: String { MatchParser.trim(self) }
}
