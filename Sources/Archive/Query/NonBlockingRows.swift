/// Rows an index can read without waiting for the device: what lets `QueryEngine` run a short query on the
/// caller's thread (an event loop) and move to an I/O thread only when a read would wait or the query runs long.
public protocol NonBlockingRows: Sendable {
    /// A cursor over `sql`'s rows, or nil when none can be had now (the caller reads the ordinary way).
    func open(_ sql: String, _ arguments: [IndexValue]) -> (any RowCursor)?
}

/// One statement's rows, owned by one thread at a time (handed from the caller to an I/O thread at most once,
/// through something that orders memory, as a thread pool's queue does): `next` and `close` never run at once.
public protocol RowCursor: AnyObject, Sendable {
    /// The next row, nil at the end. Given a `budget`, a step that would wait for the device (or a lock), or that
    /// runs past the budget, throws `WouldWait` instead, and the cursor is spent: close it and run the query the
    /// ordinary way. Without one (on an I/O thread) it waits as needed.
    func next(within budget: Duration?) throws -> [IndexValue]?
    /// Ends the statement and releases what it holds; called once the rows are no longer wanted.
    func close()
}

/// A read would have waited for the device (or a lock), or a step ran out of its budget: the work belongs on an
/// I/O thread.
public struct WouldWait: Error {
    public init() {}
}

extension IndexQuerying {
    public var nonBlockingRows: (any NonBlockingRows)? { nil }
}
