import DICOM
import NIOPosix

/// An index that runs the query engine's statements (SQLite now, PostgreSQL later).
public protocol IndexQuerying: Sendable {
    var dialect: any SQLDialect { get }
    /// Runs a read-only statement and hands each row (values in SELECT order) to `body` until it returns
    /// false. Blocking: call from an I/O thread.
    func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws
}

/// The archive's query engine, transport-neutral: a parsed `Query` in, matching entities out as answer
/// datasets. C-FIND and QIDO-RS are thin adapters over it, so their matching cannot drift apart.
///
/// The index answers what it holds in one statement; attributes it lacks are read from one stored instance
/// of each candidate (kept in a small cache, so a series or study is read once), both to match and to answer.
public final class QueryEngine: Sendable {
    public let index: any IndexQuerying
    public let source: any InstanceSource
    /// At most this many matches are answered; a query matching more is reported truncated.
    public let maxResults: Int
    /// Retrieve AE Title (0008,0054) put in every answer: where the matches can be retrieved from.
    public let retrieveAETitle: String?
    private let headers = HeaderCache()
    private let threadPool: NIOThreadPool

    public init(index: any IndexQuerying, source: any InstanceSource, maxResults: Int = 10_000, retrieveAETitle: String? = nil,
                threadPool: NIOThreadPool = .singleton) {
        self.index = index
        self.source = source
        self.maxResults = max(1, maxResults)
        self.retrieveAETitle = retrieveAETitle
        self.threadPool = threadPool
    }

    public struct Result: Sendable {
        public var answers: [DataSet]
        /// More entities matched than were answered (the limit, or `maxResults`).
        public var truncated: Bool
    }

    /// The answers to `query`, on an I/O thread.
    public func find(_ query: Query) async throws -> Result {
        try await threadPool.runIfActive { try self.findNow(query) }
    }

    /// `find` for callers already on an I/O thread.
    public func findNow(_ query: Query) throws -> Result {
        let limit = min(query.limit ?? maxResults, maxResults)
        let compiled = QueryCompiler.compile(query, dialect: index.dialect, limit: limit + 1)
        var answers: [DataSet] = []
        var truncated = false
        var skipped = 0
        let representative = compiled.columnIndex(.representative)
        let builder = AnswerBuilder(query: query, compiled: compiled, retrieveAETitle: retrieveAETitle)
        do {
            try index.forEachRow(compiled.sql, compiled.arguments) { row in
                var header: DataSet?
                var unreadable = false
                // A stored instance that cannot be read (gone, damaged) answers nothing from it: the row is
                // still answered from the index, and `arca index check` reports the file.
                func loadHeader() throws -> DataSet? {
                    if let header { return header }
                    guard !unreadable, let i = representative, i < row.count, let location = row[i].text else { return nil }
                    do { header = try headers.header(location) { try source.header(at: location) } } catch {
                        unreadable = true
                        return nil
                    }
                    return header
                }
                if !compiled.limitInSQL {
                    guard try passesInstanceChecks(compiled, query, row, loadHeader) else { return true }
                    if skipped < query.offset {
                        skipped += 1
                        return true
                    }
                }
                if answers.count == limit {
                    truncated = true
                    return false
                }
                answers.append(try builder.answer(row, header: loadHeader))
                return true
            }
        } catch let error as QueryError {
            throw error
        } catch {
            throw QueryError.unavailable("the index could not answer: \(error)")
        }
        return Result(answers: answers, truncated: truncated)
    }

    /// The keys the statement could not decide, checked on the stored instance.
    private func passesInstanceChecks(_ compiled: CompiledQuery, _ query: Query, _ row: [IndexValue],
                                      _ loadHeader: () throws -> DataSet?) throws -> Bool {
        var keys = compiled.instanceKeys
        for key in compiled.nullableKeys {
            if let i = compiled.columnIndex(.attribute(key.tag)), i < row.count, row[i].isNull { keys.append(key) }
        }
        guard !keys.isEmpty else { return true }
        guard let header = try loadHeader() else { return false }
        return keys.allSatisfy { InstanceMatcher.matches($0, in: header, options: query.options) }
    }

    /// The stored instances a retrieve selects (C-MOVE, C-GET, WADO-RS): every instance below the entities
    /// matching the identifier's keys at and above its level.
    public func instances(_ query: Query) async throws -> [ArchivedInstance] {
        try await threadPool.runIfActive { try self.instancesNow(query) }
    }

    public func instancesNow(_ query: Query) throws -> [ArchivedInstance] {
        var sql = SQLBuilder(dialect: index.dialect)
        var conditions: [String] = []
        for key in query.keys {
            guard let attribute = IndexedAttribute.lookup(key.tag), query.model.level(of: attribute.level) <= query.level,
                  let condition = QueryCompiler.condition(attribute, key.match, query.options, &sql) else { continue }
            conditions.append(attribute.nullable ? "(\(attribute.column) IS NULL OR \(condition))" : condition)
        }
        var text = """
            SELECT i.sop_uid, i.sop_class_uid, i.transfer_syntax, i.file_path, i.file_size, i.file_hash, st.study_uid, se.series_uid \
            FROM \(QueryCompiler.from(.image))
            """
        if !conditions.isEmpty { text += " WHERE " + conditions.joined(separator: " AND ") }
        text += " ORDER BY st.pk, se.series_number, se.pk, i.instance_number, i.pk"
        var out: [ArchivedInstance] = []
        do {
            try index.forEachRow(text, sql.arguments) { row in
                guard row.count == 8 else { return false }
                out.append(ArchivedInstance(sopInstanceUID: row[0].text ?? "", sopClassUID: row[1].text ?? "",
                                          transferSyntaxUID: row[2].text ?? "", location: row[3].text ?? "",
                                          size: UInt64(clamping: row[4].integer ?? 0), hash: row[5].text ?? "",
                                          studyInstanceUID: row[6].text ?? "", seriesInstanceUID: row[7].text ?? ""))
                return true
            }
        } catch {
            throw QueryError.unavailable("the index could not answer: \(error)")
        }
        return out
    }
}

/// One archived instance as retrieval needs it.
public struct ArchivedInstance: Sendable, Equatable {
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var transferSyntaxUID: String
    /// Relative to the archive root (`dckv/…` for an eDCKV instance).
    public var location: String
    public var size: UInt64
    public var hash: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String

    public init(sopInstanceUID: String, sopClassUID: String, transferSyntaxUID: String, location: String, size: UInt64,
                hash: String, studyInstanceUID: String = "", seriesInstanceUID: String = "") {
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
        self.transferSyntaxUID = transferSyntaxUID
        self.location = location
        self.size = size
        self.hash = hash
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
    }
}
