import DICOM

/// One query's matching, row by row: the instance checks the statement could not decide, the offset, the limit.
/// An object so that a query started on the caller's thread goes on on an I/O thread where it stopped; owned
/// by one thread at a time.
final class MatchRun: @unchecked Sendable {
    let query: Query
    let compiled: CompiledQuery
    let limit: Int
    let builder: AnswerBuilder
    private let headers: HeaderCache
    private let source: any InstanceSource
    private let representative: Int?
    private(set) var answered = 0
    private(set) var truncated = false
    private var skipped = 0
    /// Rows checked against a stored instance so far, and how many may be (`QueryEngine.maxInstancesRead`).
    private var examined = 0
    private let maxExamined: Int

    init(query: Query, compiled: CompiledQuery, limit: Int, retrieveAETitle: String?, headers: HeaderCache, source: any InstanceSource,
         maxInstancesRead: Int = 100_000) {
        maxExamined = maxInstancesRead
        self.query = query
        self.compiled = compiled
        self.limit = limit
        self.headers = headers
        self.source = source
        representative = compiled.columnIndex(.representative)
        builder = AnswerBuilder(query: query, compiled: compiled, retrieveAETitle: retrieveAETitle)
    }

    /// Decides one row and hands a match to `answer` (with the builder and a loader of the row's stored
    /// instance). Returns false once no more rows are wanted (the limit is passed: `truncated`). With `mayWait`
    /// false, a row that needs a stored instance not already cached throws `WouldWait` and changes nothing.
    func take(_ row: [IndexValue], mayWait: Bool,
              _ answer: (AnswerBuilder, [IndexValue], () throws -> DataSet?) throws -> Void) throws -> Bool {
        var header: DataSet?
        var unreadable = false
        // A stored instance that cannot be read (gone, damaged) answers nothing from it: the row is still
        // answered from the index, and `arca index check` reports the file.
        func loadHeader() throws -> DataSet? {
            if let header { return header }
            guard !unreadable, let i = representative, i < row.count, let value = row[i].text,
                  let instance = RepresentativeInstance(value) else { return nil }
            let location = instance.location
            if !mayWait {
                guard let cached = headers.cached(location) else { throw WouldWait() }
                header = cached
                return cached
            }
            do {
                // Acknowledged and perhaps still held in a journal (this node's or another's): waited for.
                header = try headers.header(location) { try source.header(at: location, pending: instance.isPending) }
            } catch {
                unreadable = true
                return nil
            }
            return header
        }
        if !compiled.limitInSQL {
            guard try passesInstanceChecks(row, loadHeader) else { return true }
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

    /// The keys the statement could not decide, checked on the stored instance.
    private func passesInstanceChecks(_ row: [IndexValue], _ loadHeader: () throws -> DataSet?) throws -> Bool {
        var keys = compiled.instanceKeys
        for key in compiled.nullableKeys {
            if let i = compiled.columnIndex(.attribute(key.tag)), i < row.count, row[i].isNull { keys.append(key) }
        }
        guard !keys.isEmpty else { return true }
        // Rows the statement cannot narrow (a key the index does not hold) are each read from their instance,
        // none of them answered perhaps: bounded, or one query read every header in the archive.
        examined += 1
        guard examined <= maxExamined else {
            throw QueryError.unavailable("the query read \(maxExamined) stored instances to match keys the index does not hold; narrow it with an indexed key")
        }
        guard let header = try loadHeader() else { return false }
        return keys.allSatisfy { InstanceMatcher.matches($0, in: header, options: query.options) }
    }
}

/// A batch of encoded answers; the last of a query says whether more entities matched than were answered.
public struct AnswerBatch: Sendable {
    public var answers: [[UInt8]]
    /// Nil while more batches follow; on the last, true when the answers stop at the limit.
    public var truncated: Bool?

    public var isLast: Bool { truncated != nil }
}

/// The representative instance column of a compiled query: `location|hash` (`QueryCompiler.representative`).
/// Split at the last bar: a hash has none, a location might.
struct RepresentativeInstance {
    let location: String
    let isPending: Bool

    init?(_ value: String) {
        guard let bar = value.lastIndex(of: "|") else { return nil }
        location = String(value[..<bar])
        isPending = JournalChecksum.isPlaceholder(String(value[value.index(after: bar)...]))
    }
}
