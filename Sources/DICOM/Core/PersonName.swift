/// A PN value split into its component groups (alphabetic, ideographic, phonetic, PS3.5 6.2.1), each with
/// the five components family^given^middle^prefix^suffix.
public struct PersonName: Sendable, Equatable, CustomStringConvertible {
    public struct Components: Sendable, Equatable {
        public var family = "", given = "", middle = "", prefix = "", suffix = ""

        init(_ group: Substring) {
            let c = group.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
            if c.count > 0 { family = c[0] }
            if c.count > 1 { given = c[1] }
            if c.count > 2 { middle = c[2] }
            if c.count > 3 { prefix = c[3] }
            if c.count > 4 { suffix = c[4] }
        }
    }

    public let raw: String
    public let alphabetic: Components
    public let ideographic: Components
    public let phonetic: Components

    public init(_ raw: String) {
        self.raw = raw
        let groups = raw.split(separator: "=", omittingEmptySubsequences: false)
        alphabetic = Components(groups.first ?? "")
        ideographic = Components(groups.count > 1 ? groups[1] : "")
        phonetic = Components(groups.count > 2 ? groups[2] : "")
    }

    public var description: String { raw }
}
