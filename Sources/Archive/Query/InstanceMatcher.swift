import DICOM
import Foundation

/// The matching rules of PS3.4 C.2.2.2 applied to a stored instance's dataset: for the keys the index does not
/// hold (any attribute, sequences) and rows indexed before a column existed. Same rules as `QueryCompiler`.
enum InstanceMatcher {
    static func matches(_ key: QueryKey, in ds: DataSet, options: QueryOptions) -> Bool {
        switch key.match {
        case .universal:
            return true
        case .sequence(let itemKeys):
            if key.match.selectsAll { return true }
            return !matchingItems(itemKeys, of: ds.items(key.tag), options: options).isEmpty
        default:
            return values(key.tag, in: ds).contains { value(key.match, $0, vr: key.vr, options: options) }
        }
    }

    /// The items of a sequence that match every item key (only these are returned, PS3.4 C.2.2.2.6).
    static func matchingItems(_ itemKeys: [QueryKey], of items: [DataSet], options: QueryOptions) -> [DataSet] {
        items.filter { item in itemKeys.allSatisfy { matches($0, in: item, options: options) } }
    }

    /// The values of an attribute as text: each value of a multi-valued string, numbers in decimal.
    static func values(_ tag: Tag, in ds: DataSet) -> [String] {
        guard let e = ds[tag] else { return [] }
        if e.vr.isString || e.vr == .UN {
            return e.vr == .UI ? ds.uid(tag).map { [$0] } ?? [] : ds.strings(tag).filter { !$0.isEmpty }
        }
        let ints = ds.ints(tag)
        if !ints.isEmpty { return ints.map(String.init) }
        return ds.doubles(tag).map { String($0) }
    }

    static func value(_ match: ValueMatch, _ stored: String, vr: VR, options: QueryOptions) -> Bool {
        switch match {
        case .universal: return true
        case .anyOf(let ms): return ms.contains { value($0, stored, vr: vr, options: options) }
        case .sequence: return false
        case .single(let v):
            if vr == .PN {
                // Group by group, each group without the empty components it ends with, as `QueryCompiler.personName`.
                if (options.foldPersonNames ? TextFolding.fold(v) : v).contains("=") {
                    return personName(v, stored, isPattern: false, fold: options.foldPersonNames)
                }
                // Both forms of a name with trailing empty components, as `QueryCompiler.personName`.
                let short = MatchParser.personName(v)
                return personName(v, stored, isPattern: false, fold: options.foldPersonNames)
                    || (!short.isEmpty && personName(short, MatchParser.personName(stored), isPattern: false, fold: options.foldPersonNames))
            }
            if vr.isNumeric, let a = Double(v.trimmingSpaces), let b = Double(stored.trimmingSpaces) { return a == b }
            return stored == v
        case .wildcard(let p):
            if vr == .PN { return personName(p, stored, isPattern: true, fold: options.foldPersonNames) }
            return Wildcard.matches(Array(stored), Array(p))
        case .range(let lower, let upper):
            switch vr {
            case .TM:
                let t = TimeBound.lower(stored)
                let lo = lower.map(TimeBound.lower), hi = upper.map(TimeBound.upper)
                if let lo, let hi, lo > hi { return t >= lo || t <= hi }
                return (lo.map { t >= $0 } ?? true) && (hi.map { t <= $0 } ?? true)
            case .DT:
                // Instants in UTC (a value without offset read as UTC); a bound covers its whole precision.
                guard let t = DateTimeValue.parse(stored, end: false) else { return false }
                if let lower, let lo = DateTimeValue.parse(lower, end: false), t < lo { return false }
                if let upper, let hi = DateTimeValue.parse(upper, end: true), t > hi { return false }
                return true
            default:
                let d = stored.filter { $0 != "." }
                return (lower.map { d >= $0 } ?? true) && (upper.map { d <= $0 } ?? true)
            }
        }
    }

    /// Person name matching as the compiler does it: a value without `=` names the alphabetic group (or any
    /// group when it holds non-ASCII characters); a value with `=` is matched group by group, an empty group
    /// of it matching any value of that group (`QueryCompiler.personNameByGroup`).
    static func personName(_ query: String, _ stored: String, isPattern: Bool, fold: Bool) -> Bool {
        let q = fold ? TextFolding.fold(query) : query
        let s = fold ? TextFolding.fold(stored) : stored
        func test(_ candidate: String) -> Bool {
            isPattern ? Wildcard.matches(Array(candidate), Array(q)) : candidate == q
        }
        if q.contains("=") {
            let storedGroups = MatchParser.personNameGroups(s)
            for (i, group) in MatchParser.personNameGroups(q).enumerated() where !group.isEmpty {
                let candidate = i < storedGroups.count ? storedGroups[i] : ""
                if isPattern {
                    if !Wildcard.matches(Array(candidate), Array(group)) { return false }
                } else {
                    // As written, and without the empty components either ends with (`DOE^JOHN^^` is `DOE^JOHN`).
                    let short = MatchParser.trimmingEmptyComponents(group)
                    if short.isEmpty ? candidate != group : MatchParser.trimmingEmptyComponents(candidate) != short { return false }
                }
            }
            return true
        }
        let groups = s.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
        if test(s) || test(groups.first ?? "") { return true }
        guard q.unicodeScalars.contains(where: { !$0.isASCII }) else { return false }
        return groups.dropFirst().contains { test($0) }
    }
}

/// A DT value as seconds since 1970 UTC: missing components are the start of their range, or its end for
/// the upper bound of a range; `&ZZXX` moves it to UTC.
enum DateTimeValue {

    static func parse(_ text: String, end: Bool) -> Double? {
        var body = Substring(text.trimmingSpaces)
        var offsetMinutes = 0
        if body.count >= 5, let signIndex = body.index(body.endIndex, offsetBy: -5, limitedBy: body.startIndex),
           body[signIndex] == "+" || body[signIndex] == "-" {
            let digits = body[body.index(after: signIndex)...]
            guard digits.count == 4, let hh = Int(digits.prefix(2)), let mm = Int(digits.suffix(2)) else { return nil }
            offsetMinutes = (hh * 60 + mm) * (body[signIndex] == "-" ? -1 : 1)
            body = body[..<signIndex]
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let main = Array(parts.first ?? "")
        guard [4, 6, 8, 10, 12, 14].contains(main.count), main.allSatisfy(\.isNumber) else { return nil }
        func field(_ at: Int, _ width: Int, _ low: Int, _ high: Int) -> Int {
            guard main.count >= at + width, let v = Int(String(main[at..<at + width])) else { return end ? high : low }
            return v
        }
        var fraction = end && main.count < 14 ? 0.999999 : 0
        if parts.count == 2, let f = Double("0." + parts[1]) { fraction = f }
        let year = field(0, 4, 1, 9999), month = field(4, 2, 1, 12)
        var day = field(6, 2, 1, 31)
        let hour = field(8, 2, 0, 23), minute = field(10, 2, 0, 59), second = field(12, 2, 0, 59)
        var utc = Calendar(identifier: .gregorian)
        guard let zone = TimeZone(identifier: "UTC") else { return nil }
        utc.timeZone = zone
        if end && main.count < 8, let days = utc.range(of: .day, in: .month, for: utc.date(from: DateComponents(year: year, month: month, day: 1)) ?? Date()) {
            day = days.count
        }
        guard let date = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)) else {
            return nil
        }
        return date.timeIntervalSince1970 + fraction - Double(offsetMinutes * 60)
    }
}

/// DICOM wild cards: `*` any run of characters (including none), `?` exactly one, over the whole value.
enum Wildcard {
    static func matches(_ s: [Character], _ p: [Character]) -> Bool {
        var i = 0, j = 0
        var star = -1, mark = 0
        while i < s.count {
            if j < p.count && (p[j] == "?" || (p[j] != "*" && p[j] == s[i])) {
                i += 1
                j += 1
            } else if j < p.count && p[j] == "*" {
                star = j
                mark = i
                j += 1
            } else if star >= 0 {
                j = star + 1
                mark += 1
                i = mark
            } else {
                return false
            }
        }
        while j < p.count && p[j] == "*" { j += 1 }
        return j == p.count
    }
}

extension VR {
    /// Numbers, as strings (IS, DS) or binary.
    var isNumeric: Bool {
        switch self {
        case .IS, .DS, .US, .SS, .UL, .SL, .FL, .FD, .SV, .UV: return true
        default: return false
        }
    }
}
