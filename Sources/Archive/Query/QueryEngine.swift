import DICOM
import NIOConcurrencyHelpers
import NIOPosix

/// An index that runs the query engine's statements (SQLite now, PostgreSQL later).
public protocol IndexQuerying: Sendable {
    var dialect: any SQLDialect { get }
    /// Runs a read-only statement and hands each row (values in SELECT order) to `body` until it returns
    /// false. Blocking: call from an I/O thread.
    func forEachRow(_ sql: String, _ arguments: [IndexValue], _ body: ([IndexValue]) throws -> Bool) throws
    /// Rows read without waiting for the device, when the index can (nil: every query goes to an I/O thread).
    var nonBlockingRows: (any NonBlockingRows)? { get }
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
    let maxInstancesRead: Int
    /// How long a query may run on the caller's thread (an event loop) before it goes on on an I/O thread:
    /// enough for a search of a few dozen answers; a longer one loses little to the trip it then takes.
    public let inlineSlice: Duration
    private let headers = HeaderCache()
    private let threadPool: NIOThreadPool
    private let inlineOutcomes = NIOLockedValueBox(InlineOutcomes())

    /// `answers` cut into batches as `sizes` says; none makes one empty batch (the last batch carries the end).
    /// A last batch short of its size does not use the size up: the next batch (of the answers read on) gets it.
    static func batches(_ answers: [[UInt8]], _ sizes: inout BatchSizes) -> [[[UInt8]]] {
        var out: [[[UInt8]]] = []
        var start = 0
        repeat {
            let size = sizes.current
            let end = answers.count - start > size ? start + size : answers.count
            if end - start == size { sizes.advance() }
            out.append(Array(answers[start..<end]))
            start = end
        } while start < answers.count
        return out
    }

    /// How many answers each batch of a C-FIND carries: the first few go out at once, then each batch is twice
    /// the last, up to a cap. Every batch costs a hop to the event loop and a write (with its wake-up of the
    /// peer): 194 answers in batches of 32 took seven writes, now three; a cancel still waits for one capped batch at most.
    struct BatchSizes {
        private(set) var current: Int
        private let cap: Int

        init(first: Int, cap: Int) {
            current = max(1, first)
            self.cap = max(current, cap)
        }

        mutating func advance() { current = current > cap / 2 ? cap : current * 2 }

        mutating func next() -> Int {
            defer { advance() }
            return current
        }
    }

    /// How the queries that could start on the caller's thread went (for tests and diagnostics).
    public struct InlineOutcomes: Sendable, Equatable {
        /// Read through on the caller's thread.
        public var done = 0
        /// Started there, finished on an I/O thread (the slice ran out, or a stored instance had to be read).
        public var handedOver = 0
        /// A read would have waited (or no connection was free): run on an I/O thread from the start.
        public var notStarted = 0
    }

    public var inlineOutcomesSoFar: InlineOutcomes { inlineOutcomes.withLockedValue { $0 } }

    /// `maxInstancesRead`: stored instances one query may read to match keys the index does not hold; past it
    /// the query fails (0xA700, 503) rather than read every header in the archive on the shared I/O threads.
    public init(index: any IndexQuerying, source: any InstanceSource, maxResults: Int = 10_000, retrieveAETitle: String? = nil,
                inlineSlice: Duration = .microseconds(250), threadPool: NIOThreadPool = .singleton, maxInstancesRead: Int = 100_000) {
        self.maxInstancesRead = max(1, maxInstancesRead)
        self.inlineSlice = inlineSlice
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

    /// The answers to `query`: read on the caller's thread while the index's pages are cached and the query is
    /// short, else (or from where that stopped) on an I/O thread.
    public func find(_ query: Query) async throws -> Result {
        try await find(query) { $0 }
    }

    /// The answers to `query` handed to `finish` where the matching ended: on the caller's thread for a short
    /// query whose pages are cached (no trip to an I/O thread at all), else on the I/O thread, so the work
    /// `finish` does for a large answer (a JSON body) stays off the caller's thread too.
    public func find<T: Sendable>(_ query: Query, then finish: @escaping @Sendable (Result) throws -> T) async throws -> T {
        try await find(query, { builder, row, header in try builder.answer(row, header: header) }) { answers, truncated in
            try finish(Result(answers: answers, truncated: truncated))
        }
    }

    /// `find(_:then:)` with each answer's values as the engine built them, before any dataset: a caller that
    /// writes them in another encoding (QIDO-RS's JSON) skips building, then reading, a dataset per answer.
    public func findValues<T: Sendable>(_ query: Query, then finish: @escaping @Sendable ([AnswerValues], _ truncated: Bool) throws -> T) async throws -> T {
        try await find(query, { builder, row, header in try builder.answerValues(row, header: header) }, then: finish)
    }

    private func find<Answer: Sendable, T: Sendable>(
        _ query: Query, _ answer: @escaping @Sendable (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Answer,
        then finish: @escaping @Sendable ([Answer], Bool) throws -> T
    ) async throws -> T {
        switch startInline(query, answer) {
        case .done(let answers, let truncated):
            return try finish(answers, truncated)
        case .handOver(let rest):
            do {
                return try await threadPool.runIfActive {
                    var answers = rest.answers
                    try rest.finish(stop: { false }, answer) { answers.append($0) }
                    return try finish(answers, rest.run.truncated)
                }
            } catch {
                // The pool did not run it (or it failed, and closed the cursor already): the connection goes back now.
                rest.cursor.close()
                throw error
            }
        case .notStarted:
            return try await threadPool.runIfActive {
                let (answers, truncated) = try self.matchesNow(query, answer)
                return try finish(answers, truncated)
            }
        }
    }

    /// `find` for callers already on an I/O thread.
    public func findNow(_ query: Query) throws -> Result {
        let (answers, truncated) = try matchesNow(query) { builder, row, header in try builder.answer(row, header: header) }
        return Result(answers: answers, truncated: truncated)
    }

    /// The answers to `query` encoded in `syntax` (what `answers(to:)` streams), for callers on an I/O thread.
    public func encodedNow(_ query: Query, syntax: TransferSyntax) throws -> (answers: [[UInt8]], truncated: Bool) {
        try matchesNow(query) { builder, row, header in try builder.encodedAnswer(row, header: header, syntax: syntax) }
    }

    /// Every answer to `query`, each made by `answer`, on this (I/O) thread; and whether more matched.
    func matchesNow<Answer>(_ query: Query, _ answer: @escaping (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Answer)
        throws -> (answers: [Answer], truncated: Bool) {
        var answers: [Answer] = []
        let truncated = try forEachMatch(query) { builder, row, header in answers.append(try answer(builder, row, header)) }
        return (answers, truncated)
    }

    /// The answers to `query` encoded in `syntax`, handed to `body` in batches of `batchSize`, then growing to
    /// `maxBatchSize` (`BatchSizes`), the last one marked
    /// (`AnswerBatch.truncated`), so that a C-FIND can send its last answers and its final response in one write.
    /// A short query whose pages are cached is read on the caller's thread; otherwise the statement runs (or goes
    /// on) on an I/O thread and `body` sends, on the caller's thread, what is ready while the rest is read: a large
    /// answer set then costs the longer of the two instead of their sum (1,667 answers, profiled: about 10 ms of
    /// reading and building, then 6 ms of sending). `body` returns false to stop (a C-CANCEL): the statement
    /// ends at its next row. Returns whether more entities matched than were answered.
    ///
    /// The batches wait in an unbounded stream: at most `maxResults` answers of a few hundred bytes each.
    public func answers(to query: Query, syntax: TransferSyntax, batchSize: Int, maxBatchSize: Int? = nil,
                        _ body: (AnswerBatch) async throws -> Bool) async throws -> Bool {
        var sizes = BatchSizes(first: batchSize, cap: maxBatchSize ?? batchSize)
        let answer: @Sendable (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> [UInt8] = { builder, row, header in
            try builder.encodedAnswer(row, header: header, syntax: syntax)
        }
        var rest: HandOver<[UInt8]>?
        switch startInline(query, answer) {
        case .done(let answers, let truncated):
            let batches = Self.batches(answers, &sizes)
            for (n, batch) in batches.enumerated() {
                guard try await body(AnswerBatch(answers: batch, truncated: n == batches.count - 1 ? truncated : nil)) else { return false }
            }
            return truncated
        case .handOver(let handOver):
            rest = handOver
        case .notStarted:
            break
        }
        let (pieces, continuation) = AsyncThrowingStream.makeStream(of: AnswerBatch.self)
        // What this thread read before handing over goes out first, but from the stream: the statement goes on
        // on the I/O thread meanwhile, instead of holding its snapshot while the association's writer is busy.
        if let inline = rest?.answers, !inline.isEmpty {
            for batch in Self.batches(inline, &sizes) { continuation.yield(AnswerBatch(answers: batch, truncated: nil)) }
        }
        let stop = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [rest, sizes] in
                // The stream is finished on the I/O thread, so the last batch does not wait for this task to hop
                // back; here only when the pool could not run the statement at all.
                do { try await self.threadPool.runIfActive {
                    do {
                        var sizes = sizes
                        var batch: [[UInt8]] = []
                        // A local function, not a closure value: the state it changes stays in this frame (a
                        // closure value's captures were boxed, each answer's access checked at run time).
                        func emit(_ encoded: [UInt8]) {
                            batch.append(encoded)
                            if batch.count == sizes.current {
                                continuation.yield(AnswerBatch(answers: batch, truncated: nil))
                                batch = []
                                sizes.advance()
                            }
                        }
                        let isStopped = { stop.withLockedValue { $0 } }
                        let truncated: Bool
                        if let rest {
                            try rest.finish(stop: isStopped, answer, emit)
                            truncated = rest.run.truncated
                        } else {
                            truncated = try self.forEachMatch(query, stop: isStopped) { builder, row, header in
                                emit(try answer(builder, row, header))
                            }
                        }
                        continuation.yield(AnswerBatch(answers: batch, truncated: truncated))
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                } } catch {
                    rest?.cursor.close()
                    continuation.finish(throwing: error)
                }
            }
            defer { stop.withLockedValue { $0 = true } }
            enum Outcome { case stopped, ended(truncated: Bool), cut }
            // A cancelled task (the association went away) ends the stream's iteration without an error: the
            // handler stops the statement, and the answers so far are not reported as complete.
            let outcome: Outcome = try await withTaskCancellationHandler {
                for try await piece in pieces {
                    // Cancelled while the end was already on its way: the statement stopped at the cancellation
                    // (`stop`), so the answers so far are not all there are (seen once in CI).
                    if piece.truncated != nil, Task.isCancelled { return .cut }
                    guard try await body(piece) else { return .stopped }
                    if let truncated = piece.truncated { return .ended(truncated: truncated) }
                }
                return .cut
            } onCancel: {
                stop.withLockedValue { $0 = true }
            }
            switch outcome {
            case .stopped: return false
            case .cut: throw CancellationError()
            case .ended(let truncated):
                try await group.waitForAll()
                return truncated
            }
        }
    }

    /// Where a query started on the caller's thread stands.
    enum InlineStart<Answer> {
        /// Every row was read: the answers, and whether more entities matched than were answered.
        case done([Answer], truncated: Bool)
        /// Part read; the rest is for an I/O thread.
        case handOver(HandOver<Answer>)
        /// Not started (no cursor free, or a read would have waited before any answer): run it the ordinary way.
        case notStarted
    }

    /// A query stopped on the caller's thread: its answers so far, its run and its cursor, and the row it
    /// stopped at (one that needs a stored instance's header), owned by whoever goes on with it.
    final class HandOver<Answer>: @unchecked Sendable {
        let answers: [Answer]
        let run: MatchRun
        let cursor: any RowCursor
        let row: [IndexValue]?

        init(answers: [Answer], run: MatchRun, cursor: any RowCursor, row: [IndexValue]?) {
            self.answers = answers
            self.run = run
            self.cursor = cursor
            self.row = row
        }

        /// Reads the rest, waiting for the device as needed (on an I/O thread), and closes the cursor.
        func finish(stop: () -> Bool, _ answer: @escaping (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Answer,
                    _ emit: (Answer) -> Void) throws {
            defer { cursor.close() }
            try QueryEngine.readingIndex {
                if let row, try !run.take(row, mayWait: true, { emit(try answer($0, $1, $2)) }) { return }
                while !stop(), let row = try cursor.next(within: nil) {
                    guard try run.take(row, mayWait: true, { emit(try answer($0, $1, $2)) }) else { return }
                }
            }
        }
    }

    /// Starts `query` on the caller's thread with reads that do not wait: runs it through when it is short and
    /// its pages are cached, stops at `inlineSlice` or at a row that needs a stored instance read.
    func startInline<Answer>(_ query: Query, _ answer: @escaping (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Answer)
        -> InlineStart<Answer> {
        guard let rows = index.nonBlockingRows else { return .notStarted }
        let run = makeRun(query)
        guard let cursor = rows.open(run.compiled.sql, run.compiled.arguments) else {
            inlineOutcomes.withLockedValue { $0.notStarted += 1 }
            return .notStarted
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: inlineSlice)
        var answers: [Answer] = []
        do {
            // Each step gets what is left of the slice: one that runs past it (a scan, a sort, a large offset
            // before the first row) is interrupted, and the query goes to the pool from the start.
            while let row = try cursor.next(within: deadline - clock.now) {
                do {
                    guard try run.take(row, mayWait: false, { answers.append(try answer($0, $1, $2)) }) else { break }
                } catch is WouldWait {
                    inlineOutcomes.withLockedValue { $0.handedOver += 1 }
                    return .handOver(HandOver(answers: answers, run: run, cursor: cursor, row: row))
                }
                if clock.now >= deadline {
                    inlineOutcomes.withLockedValue { $0.handedOver += 1 }
                    return .handOver(HandOver(answers: answers, run: run, cursor: cursor, row: nil))
                }
            }
        } catch {
            // A read would have waited (or failed): the statement is spent, and nothing of it was sent.
            cursor.close()
            inlineOutcomes.withLockedValue { $0.notStarted += 1 }
            return .notStarted
        }
        cursor.close()
        inlineOutcomes.withLockedValue { $0.done += 1 }
        return .done(answers, truncated: run.truncated)
    }

    /// Runs `body`, reporting an index failure other than a `QueryError` as the index unable to answer (0xA700).
    static func readingIndex<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as QueryError {
            throw error
        } catch {
            throw QueryError.unavailable("the index could not answer: \(error)")
        }
    }

    private func makeRun(_ query: Query) -> MatchRun {
        let limit = min(query.limit ?? maxResults, maxResults)
        let compiled = QueryCompiler.compile(query, dialect: index.dialect, limit: limit + 1, retrieveAETitle: retrieveAETitle,
                                             maxExamined: maxInstancesRead)
        return MatchRun(query: query, compiled: compiled, limit: limit, retrieveAETitle: retrieveAETitle, headers: headers, source: source,
                        maxInstancesRead: maxInstancesRead)
    }

    /// Runs `query`'s statement and hands each answered row to `answer` (with the builder and a loader of the
    /// row's stored instance); `stop` is asked before each row. Returns whether more entities matched than
    /// were answered.
    private func forEachMatch(_ query: Query, stop: () -> Bool = { false },
                              _ answer: (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Void) throws -> Bool {
        let run = makeRun(query)
        try Self.readingIndex {
            try index.forEachRow(run.compiled.sql, run.compiled.arguments) { row in
                if stop() { return false }
                return try run.take(row, mayWait: true, answer)
            }
        }
        return run.truncated
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
