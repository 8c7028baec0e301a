import DICOM

/// How one key of a C-FIND identifier or QIDO-RS query selects values (PS3.4 C.2.2.2).
public indirect enum ValueMatch: Sendable, Equatable {
    /// Zero length (or a lone `*`): every entity matches, with or without the attribute.
    case universal
    /// Single value matching: equal to this value (PN: folded, when names match insensitively).
    case single(String)
    /// Wild card matching: `*` any run of characters, `?` one character, the whole value.
    case wildcard(String)
    /// Range matching (DA, TM, DT): either end may be open.
    case range(lower: String?, upper: String?)
    /// List of UID matching, or multiple value matching: any of these.
    case anyOf([ValueMatch])
    /// Sequence matching: some item matches every item key.
    case sequence([QueryKey])

    public var isUniversal: Bool {
        if case .universal = self { return true }
        return false
    }

    /// Whether every entity matches (universal, or a sequence whose item keys only ask for attributes).
    public var selectsAll: Bool {
        switch self {
        case .universal: return true
        case .sequence(let items): return items.allSatisfy { $0.match.selectsAll }
        default: return false
        }
    }
}

/// One key of a query: an attribute, how it is matched, and (always) returned.
public struct QueryKey: Sendable, Equatable {
    public var tag: Tag
    public var vr: VR
    public var match: ValueMatch

    public init(tag: Tag, vr: VR, match: ValueMatch) {
        self.tag = tag
        self.vr = vr
        self.match = match
    }
}

/// Reading a key's matching type from its value, by VR (PS3.4 C.2.2.2.1–C.2.2.2.7).
enum MatchParser {
    /// VRs that may carry `*` and `?` as wild cards; elsewhere they are literal characters.
    static func allowsWildcards(_ vr: VR) -> Bool {
        switch vr {
        case .AE, .CS, .LO, .LT, .PN, .SH, .ST, .UC, .UR, .UT: return true
        default: return false
        }
    }

    static let maxListLength = 10_000
    /// Values in one key of another VR (`Doe*\Roe*`). Each becomes its own terms ORed together: past about
    /// 300 wildcard names SQLite refuses the statement (expression depth 1,000), which answered as an
    /// unavailable index (503, 0xA700) instead of a bad query. Real lists (modalities, a few names) are short.
    static let maxValues = 256
    static let maxValueLength = 10_240

    /// The match of a (decoded, trimmed) string value of VR `vr`.
    static func match(_ value: String, vr: VR) throws -> ValueMatch {
        if value.isEmpty || value == "*" { return .universal }
        // No key value is longer than an LT's (10,240 characters), but for a list of UIDs: a 1 MB wildcard pattern
        // was folded and matched again for each of up to 100,000 instances examined.
        guard vr == .UI || value.utf8.count <= maxValueLength else {
            throw QueryError.badIdentifier("a \(vr) key of \(value.utf8.count) bytes (at most \(maxValueLength))")
        }
        if vr == .UI {
            // Backslash in a C-FIND identifier, comma in a QIDO-RS URL (PS3.18 8.3.4.1): neither is in a UID.
            let uids = value.split(whereSeparator: { $0 == "\\" || $0 == "," }).map { UIDString.trim(String($0)) }
            guard uids.count <= maxListLength else { throw QueryError.badIdentifier("a list of \(uids.count) UIDs (at most \(maxListLength))") }
            return uids.count == 1 ? .single(uids[0]) : .anyOf(uids.map { .single($0) })
        }
        if vr.allowsBackslashMultiplicity, value.contains("\\") {
            let parts = value.split(separator: "\\", omittingEmptySubsequences: false).map { trim(String($0)) }
            guard parts.count <= maxValues else { throw QueryError.badIdentifier("\(parts.count) values in one key (at most \(maxValues))") }
            // An empty value among others matches nothing by itself; all empty is universal.
            let nonEmpty = parts.filter { !$0.isEmpty }
            if nonEmpty.isEmpty { return .universal }
            return .anyOf(try nonEmpty.map { try one($0, vr: vr) })
        }
        return try one(value, vr: vr)
    }

    private static func one(_ value: String, vr: VR) throws -> ValueMatch {
        switch vr {
        case .DA, .TM, .DT:
            // The ACR-NEMA forms (YYYY.MM.DD, HH:MM:SS) as the index stores dates and times: accepted as valid,
            // they were compared as written, and matched nothing.
            let value = vr == .DA ? value.filter { $0 != "." } : vr == .TM ? value.filter { $0 != ":" } : value
            if let range = try range(value, vr: vr) { return range }
            try checkPartial(value, vr: vr)
            return .single(value)
        case .IS, .DS:
            // A number, or nothing can match it: `SeriesNumber=abc` was answered with no match, as if valid.
            // The VRs' own characters (PS3.5 6.2): Swift's `Double` also reads `nan`, `inf` and hexadecimal.
            let allowed = vr == .IS ? "+-0123456789" : "+-0123456789.eE"
            guard value.allSatisfy({ allowed.contains($0) }), Double(value) != nil else {
                throw QueryError.badIdentifier("\(value.prefix(32)) is not a number (\(vr))")
            }
            return .single(value)
        default:
            if allowsWildcards(vr), value.contains(where: { $0 == "*" || $0 == "?" }) { return .wildcard(value) }
            return .single(value)
        }
    }

    /// A person name without the empty components and groups it may end with (PS3.5 6.2: `DOE^JOHN^^^` is the
    /// name `DOE^JOHN`): a query for one form matches the other too (`QueryCompiler.personName`).
    static func personName(_ value: String) -> String {
        var groups = value.split(separator: "=", omittingEmptySubsequences: false).map { trimmingEmptyComponents(String($0)) }
        while groups.count > 1, groups.last?.isEmpty == true { groups.removeLast() }
        return groups.joined(separator: "=")
    }

    /// A component group without the empty components (and padding) it ends with: SQL's `rtrim(group, '^ ')`.
    static func trimmingEmptyComponents(_ group: String) -> String {
        String(group.reversed().drop { $0 == "^" || $0 == " " }.reversed())
    }

    /// The component groups of a person name (PS3.5 6.2): alphabetic, ideographic, phonetic, as many as it
    /// writes. No valid name has a fourth: a third `=` and what follows it stay in the phonetic group (as
    /// `QueryCompiler.personNameGroup` reads a stored name), so no key names more than three groups.
    static func personNameGroups(_ value: String) -> [String] {
        value.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    }

    /// `a-b`, `-b`, `a-`; nil when the value holds no range separator. A DT's UTC offset may itself hold a `-`
    /// (`…-0500`): the separator is the `-` whose both sides are valid values (or empty).
    private static func range(_ value: String, vr: VR) throws -> ValueMatch? {
        // Each `-` is tried as the separator, splitting the value anew: a hostile value of thousands of them
        // cost seconds (the qido fuzzer's slowest inputs). No valid range is longer than this (two DTs with
        // fractions and UTC offsets: 53 characters), so a longer one is refused before that.
        // Spaces around the `-` are trimmed from each side, so they do not count.
        let significant = value.utf8.reduce(0) { $0 + ($1 == 0x20 ? 0 : 1) }
        guard significant <= Self.longestRange else {
            throw QueryError.badIdentifier("\(vr) value of \(significant) characters: too long for a date or time (range)")
        }
        let chars = Array(value)
        var candidates: [Int] = []
        for (i, c) in chars.enumerated() where c == "-" { candidates.append(i) }
        guard !candidates.isEmpty else { return nil }
        for i in candidates {
            let lower = trim(String(chars[..<i]))
            let upper = trim(String(chars[(i + 1)...]))
            if lower.isEmpty && upper.isEmpty { continue }
            let okLower = lower.isEmpty || isValid(lower, vr: vr)
            let okUpper = upper.isEmpty || isValid(upper, vr: vr)
            // A DT's own UTC offset (`20240115-0500`) split as a range went from 2024 to the year 500: an upper
            // end that reads as an offset (HHMM, at most 14 hours), after a lower end without one, is the value's
            // offset, and the value one DT. `20240101-2024` (to the end of 2024) stays a range.
            if vr == .DT, !upper.isEmpty, Self.isUTCOffset(upper), !lower.isEmpty, !Self.hasUTCOffset(lower) { continue }
            if okLower && okUpper { return .range(lower: lower.isEmpty ? nil : lower, upper: upper.isEmpty ? nil : upper) }
        }
        if vr == .DT, isValid(value, vr: .DT) { return nil }
        throw QueryError.badIdentifier("malformed \(vr) range \"\(value.prefix(40))\"")
    }

    /// `HHMM` as a DT's UTC offset allows it: hours up to 14, minutes below 60.
    static func isUTCOffset(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count == 4, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let hours = Int(u[0] - 0x30) * 10 + Int(u[1] - 0x30), minutes = Int(u[2] - 0x30) * 10 + Int(u[3] - 0x30)
        return hours <= 14 && minutes < 60
    }

    /// Whether a DT ends in `&ZZXX`.
    static func hasUTCOffset(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count >= 5 else { return false }
        let sign = u[u.count - 5]
        return (sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-")) && isUTCOffset(String(decoding: u.suffix(4), as: UTF8.self))
    }

    /// Longer than any valid DA, TM or DT range, with room for padding.
    static let longestRange = 80

    private static func checkPartial(_ value: String, vr: VR) throws {
        guard isValid(value, vr: vr) else { throw QueryError.badIdentifier("malformed \(vr) value \"\(value.prefix(40))\"") }
    }

    /// DA: YYYYMMDD (or the ACR-NEMA YYYY.MM.DD); TM: HH[MM[SS[.F{1,6}]]] (also with colons); DT: YYYY[MM[DD[HH…]]][&ZZXX].
    static func isValid(_ value: String, vr: VR) -> Bool {
        let u = Array(value.utf8)
        func digits(_ s: ArraySlice<UInt8>) -> Bool { s.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        switch vr {
        case .DA:
            let d = u.filter { $0 != UInt8(ascii: ".") }
            return d.count == 8 && digits(d[...])
        case .TM:
            let t = u.filter { $0 != UInt8(ascii: ":") }
            let parts = t.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
            guard let main = parts.first, [2, 4, 6].contains(main.count), digits(main) else { return false }
            if parts.count == 2 { return main.count == 6 && (1...6).contains(parts[1].count) && digits(parts[1]) }
            return true
        case .DT:
            var body = u[...]
            if u.count >= 5, let sign = u.dropLast(4).last, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                let offset = u.suffix(4)
                guard digits(offset) else { return false }
                body = u.dropLast(5)
            }
            let parts = body.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
            guard let main = parts.first, [4, 6, 8, 10, 12, 14].contains(main.count), digits(main) else { return false }
            if parts.count == 2 { return main.count == 14 && (1...6).contains(parts[1].count) && digits(parts[1]) }
            return true
        default:
            return true
        }
    }

    static func trim(_ s: String) -> String {
        var u = Substring(s)
        while let f = u.first, f == " " { u.removeFirst() }
        while let l = u.last, l == " " || l == "\0" { u.removeLast() }
        return String(u)
    }
}

/// Why a query cannot be run, with the status a C-FIND answers (QIDO-RS maps it to 400).
public enum QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The identifier does not fit the model or level (0xA900).
    case identifierDoesNotMatch(String)
    /// A value cannot be understood (0xC000).
    case badIdentifier(String)
    /// The index or the archive could not answer (0xA700).
    case unavailable(String)

    public var description: String {
        switch self {
        case .identifierDoesNotMatch(let m), .badIdentifier(let m), .unavailable(let m): return m
        }
    }
}
