/// A value bound to, or read from, an index statement.
public enum IndexValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case real(Double)

    public var text: String? {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .null: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .text(let s): return Int64(s)
        case .real(let d): return Int64(exactly: d.rounded())
        case .null: return nil
        }
    }

    public var isNull: Bool { self == .null }
}

/// What differs between the SQL of SQLite and of PostgreSQL in the query engine's statements: bind parameters,
/// pattern matching and finding a character in a value. Everything else the compiler writes (joins, EXISTS, `||`, `substr`, `COALESCE`) is
/// common to both.
public protocol SQLDialect: Sendable {
    /// The placeholder of the `n`th (1-based) argument.
    func placeholder(_ n: Int) -> String
    /// A condition: `column` matches the DICOM wild card `pattern` (`*`, `?`; everything else literal),
    /// case-sensitively, over the whole value. Adds its own arguments to `sql`.
    func wildcard(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String
    /// The 1-based position of the first occurrence of `needle` (an SQL expression) in `expression`, 0 when it
    /// has none: a person name's component groups are read with it (`QueryCompiler.personNameGroup`).
    func position(_ needle: String, in expression: String) -> String
}

/// SQLite: numbered `?NNN` placeholders (so a condition built early may stand late in the text); GLOB
/// (case-sensitive, `*` and `?`, brackets escape the rest).
public struct SQLiteDialect: SQLDialect {
    public init() {}
    public func placeholder(_ n: Int) -> String { "?\(n)" }
    public func wildcard(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String {
        var glob = ""
        for c in pattern {
            switch c {
            case "[": glob += "[[]"
            default: glob.append(c)
            }
        }
        return "\(column) GLOB \(sql.bind(.text(glob)))"
    }
    public func position(_ needle: String, in expression: String) -> String { "instr(\(expression), \(needle))" }
}

/// PostgreSQL: `$n` placeholders; LIKE with `\` as escape (deterministic collations compare bytes; the index
/// issue adds `text_pattern_ops` indexes for prefix searches).
public struct PostgreSQLDialect: SQLDialect {
    public init() {}
    public func placeholder(_ n: Int) -> String { "$\(n)" }
    public func wildcard(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String {
        var like = ""
        for c in pattern {
            switch c {
            case "*": like += "%"
            case "?": like += "_"
            case "%", "_", "\\": like += "\\" + String(c)
            default: like.append(c)
            }
        }
        return "\(column) LIKE \(sql.bind(.text(like))) ESCAPE '\\'"
    }
    public func position(_ needle: String, in expression: String) -> String { "strpos(\(expression), \(needle))" }
}

/// Statement text and its arguments, built together so placeholders and values stay in step.
public struct SQLBuilder: Sendable {
    public let dialect: any SQLDialect
    public private(set) var arguments: [IndexValue] = []

    public init(dialect: any SQLDialect) { self.dialect = dialect }

    /// Adds an argument; returns its placeholder.
    public mutating func bind(_ value: IndexValue) -> String {
        arguments.append(value)
        return dialect.placeholder(arguments.count)
    }

    /// `column >= prefix AND column < prefix + U+10FFFF`: the rows starting with `prefix`, as a range an index
    /// serves on either engine (byte-wise order: nothing that starts with `prefix` sorts above that bound).
    public mutating func prefixRange(_ column: String, _ prefix: String) -> String {
        "\(column) >= \(bind(.text(prefix))) AND \(column) < \(bind(.text(prefix + "\u{10FFFF}")))"
    }
}
