// Checks shared by the C-FIND and QIDO-RS fuzz targets (Fuzz/FindFuzzer.swift, Fuzz/QIDOFuzzer.swift): a
// query, however it was read, compiles to a well-formed statement whose peer values are all bound arguments,
// matches a stored instance and is answered without a crash.

@testable import Archive
import DICOM
import Foundation

/// Compiles `query` for both engines and checks the statements; matches and answers it against `instance`.
func checkQuery(_ query: Query, against instance: DataSet) {
    for dialect in [SQLiteDialect(), PostgreSQLDialect()] as [any SQLDialect] {
        let compiled = QueryCompiler.compile(query, dialect: dialect, limit: 1000)
        checkStatement(compiled, placeholder: dialect is SQLiteDialect ? "?" : "$")
    }
    let compiled = QueryCompiler.compile(query, dialect: SQLiteDialect(), limit: 1000)
    for key in query.keys { _ = InstanceMatcher.matches(key, in: instance, options: query.options) }

    // An answer from a row of the index (the identifier's own values where it has them) and the instance.
    let row: [IndexValue] = compiled.columns.map { column in
        switch column {
        case .key: return .integer(1)
        case .representative: return .text("1/2/3.dcm")
        case .attribute(let tag): return instance.string(tag).map { .text($0) } ?? .null
        }
    }
    let builder = AnswerBuilder(query: query, compiled: compiled, retrieveAETitle: "ARCA")
    do {
        let answer = try builder.answer(row, header: { instance })
        _ = try? DataSetWriter.encode(answer, syntax: .explicitVRLittleEndian)
    } catch is QueryError {
    } catch {
        fatalError("the answer builder threw something else than a QueryError: \(error)")
    }
}

/// The statement's text comes from the compiler alone: quotes only in its own literals, parentheses balanced,
/// placeholders numbered 1...arguments.count and each argument used.
func checkStatement(_ compiled: CompiledQuery, placeholder: Character) {
    var text = compiled.sql
    for literal in ["ESCAPE '\\'", "'000000'", "''", "'ONLINE'"] { text = text.replacingOccurrences(of: literal, with: "") }
    if text.contains("'") || text.contains("\"") || text.contains(";") || text.contains("--") {
        fatalError("peer text in the statement: \(compiled.sql.prefix(300))")
    }
    var depth = 0
    for c in compiled.sql {
        if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
        if depth < 0 { fatalError("unbalanced parentheses: \(compiled.sql.prefix(300))") }
    }
    if depth != 0 { fatalError("unbalanced parentheses: \(compiled.sql.prefix(300))") }
    var used = Set<Int>()
    let chars = Array(compiled.sql.utf8)
    var i = 0
    while i < chars.count {
        if chars[i] == placeholder.asciiValue {
            var j = i + 1
            var n = 0
            while j < chars.count, chars[j] >= 0x30, chars[j] <= 0x39, n < 1_000_000 { n = n * 10 + Int(chars[j] - 0x30); j += 1 }
            if j > i + 1 {
                guard n >= 1, n <= compiled.arguments.count else { fatalError("placeholder \(n) of \(compiled.arguments.count) arguments") }
                used.insert(n)
            }
            i = j
        } else {
            i += 1
        }
    }
    if used.count != compiled.arguments.count { fatalError("\(compiled.arguments.count - used.count) argument(s) never used") }
}
