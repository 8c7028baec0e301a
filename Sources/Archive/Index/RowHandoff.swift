import Foundation

/// Rows passed from the task reading them off a PostgreSQL connection to the I/O thread that answers them, in
/// batches as they arrive: the thread starts answering (and the answers go out) while the database still sends,
/// instead of after its last row. The I/O thread blocks in `next()`, which is what it is for; the reading task
/// never blocks: it learns from `push` that the reader stopped (a C-CANCEL, a limit) and stops taking rows.
/// Unbounded, as reading the rows whole was: a statement stops at its LIMIT, or at the candidates a check on the
/// stored instances thins out.
final class RowHandoff: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var batches: [[[IndexValue]]] = []
    private var end: (any Error)??
    private var stopped = false

    /// Adds a batch; false once the reader has stopped (the producer should end the statement).
    func push(_ batch: [[IndexValue]]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        if !batch.isEmpty {
            batches.append(batch)
            condition.signal()
        }
        return true
    }

    /// No more batches: the statement ended, with `error` if it failed.
    func finish(_ error: (any Error)? = nil) {
        condition.lock()
        defer { condition.unlock() }
        if end == nil { end = .some(error) }
        condition.signal()
    }

    /// The next batch, waiting for it; nil at the end; throws the statement's error once the batches before it
    /// are read.
    func next() throws -> [[IndexValue]]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && end == nil { condition.wait() }
        if !batches.isEmpty { return batches.removeFirst() }
        if case .some(.some(let error)) = end { throw error }
        return nil
    }

    /// The reader wants no more rows.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        batches.removeAll()
    }
}

/// Rows gathered into batches for a `RowHandoff` by a producer that gets them one at a time on one thread (a
/// connection's event loop); `add` throws `ReaderStopped` once the reader wants no more, which stops the rows'
/// delivery (the driver drops the rest as they come).
final class RowBatches: @unchecked Sendable {
    struct ReaderStopped: Error {}

    private let handoff: RowHandoff
    private let size: Int
    // Touched by one thread at a time: the producer's, then (after it is done) the one that flushes.
    private var batch: [[IndexValue]] = []

    init(_ handoff: RowHandoff, size: Int) {
        self.handoff = handoff
        self.size = max(1, size)
    }

    func add(_ row: [IndexValue]) throws {
        batch.append(row)
        guard batch.count >= size else { return }
        defer { batch = [] }
        guard handoff.push(batch) else { throw ReaderStopped() }
    }

    /// Hands over what is left (after the statement ended).
    func flush() {
        _ = handoff.push(batch)
        batch = []
    }
}
