import DICOM
import NIOConcurrencyHelpers
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
        var answers: [DataSet] = []
        let truncated = try forEachMatch(query) { builder, row, header in answers.append(try builder.answer(row, header: header)) }
        return Result(answers: answers, truncated: truncated)
    }

    /// The answers to `query` encoded in `syntax` (what `answers(to:)` streams), for callers on an I/O thread.
    public func encodedNow(_ query: Query, syntax: TransferSyntax) throws -> (answers: [[UInt8]], truncated: Bool) {
        var answers: [[UInt8]] = []
        let truncated = try forEachMatch(query) { builder, row, header in
            answers.append(try builder.encodedAnswer(row, header: header, syntax: syntax))
        }
        return (answers, truncated)
    }

    /// The answers to `query` encoded in `syntax`, handed to `body` in batches of `batchSize` while the index is
    /// still being read: the statement runs on an I/O thread and `body` sends, on the caller's thread, what is
    /// ready. A large answer set then costs the longer of the two instead of their sum (1,667 answers, profiled:
    /// about 10 ms of reading and building, then 6 ms of sending). `body` returns false to stop (a C-CANCEL): the
    /// statement ends at its next row. Returns whether more entities matched than were answered.
    ///
    /// The batches wait in an unbounded stream: at most `maxResults` answers of a few hundred bytes each.
    public func answers(to query: Query, syntax: TransferSyntax, batchSize: Int,
                        _ body: ([[UInt8]]) async throws -> Bool) async throws -> Bool {
        enum Piece: Sendable {
            case answers([[UInt8]])
            case end(truncated: Bool)
        }
        let (pieces, continuation) = AsyncThrowingStream.makeStream(of: Piece.self)
        let stop = NIOLockedValueBox(false)
        let size = max(1, batchSize)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The stream is finished on the I/O thread, so the last batch does not wait for this task to hop
                // back; here only when the pool could not run the statement at all.
                do { try await self.threadPool.runIfActive {
                    do {
                        var batch: [[UInt8]] = []
                        let truncated = try self.forEachMatch(query, stop: { stop.withLockedValue { $0 } }) { builder, row, header in
                            batch.append(try builder.encodedAnswer(row, header: header, syntax: syntax))
                            if batch.count == size {
                                continuation.yield(.answers(batch))
                                batch = []
                            }
                        }
                        if !batch.isEmpty { continuation.yield(.answers(batch)) }
                        continuation.yield(.end(truncated: truncated))
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                } } catch {
                    continuation.finish(throwing: error)
                }
            }
            defer { stop.withLockedValue { $0 = true } }
            enum Outcome { case stopped, ended(truncated: Bool), cut }
            // A cancelled task (the association went away) ends the stream's iteration without an error: the
            // handler stops the statement, and the answers so far are not reported as complete.
            let outcome: Outcome = try await withTaskCancellationHandler {
                for try await piece in pieces {
                    switch piece {
                    case .answers(let batch):
                        guard try await body(batch) else { return .stopped }
                    case .end(let truncated):
                        return .ended(truncated: truncated)
                    }
                }
                return .cut
            } onCancel: {
                stop.withLockedValue { $0 = true }
            }
            switch outcome {
            case .stopped: return false
            case .cut: throw CancellationError()
            case .ended(let truncated):
                // Cancelled while the end was already on its way: the statement stopped at the cancellation
                // (`stop`), so the answers so far are not all there are (seen once in CI).
                if Task.isCancelled { throw CancellationError() }
                try await group.waitForAll()
                return truncated
            }
        }
    }

    /// Runs `query`'s statement and hands each answered row to `answer` (with the builder and a loader of the
    /// row's stored instance); `stop` is asked before each row. Returns whether more entities matched than
    /// were answered.
    private func forEachMatch(_ query: Query, stop: () -> Bool = { false },
                              _ answer: (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Void) throws -> Bool {
        let limit = min(query.limit ?? maxResults, maxResults)
        let compiled = QueryCompiler.compile(query, dialect: index.dialect, limit: limit + 1)
        var answered = 0
        var truncated = false
        var skipped = 0
        let representative = compiled.columnIndex(.representative)
        let builder = AnswerBuilder(query: query, compiled: compiled, retrieveAETitle: retrieveAETitle)
        do {
            try index.forEachRow(compiled.sql, compiled.arguments) { row in
                if stop() { return false }
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
                if answered == limit {
                    truncated = true
                    return false
                }
                try answer(builder, row, loadHeader)
                answered += 1
                return true
            }
        } catch let error as QueryError {
            throw error
        } catch {
            throw QueryError.unavailable("the index could not answer: \(error)")
        }
        return truncated
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
