import DICOM
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

/// Writes an incoming instance's bytes on its own serial queue, off the association's task, so disk work
/// overlaps the network transfer. At most `limit` bytes wait in the queue: past that, `append` waits, which
/// stops reading the socket (back-pressure) while the disk is behind. The final seal runs on the same queue,
/// after every write: one thread hop per instance for the whole durable step. The caller checksums the bytes on
/// its own task as it hands them over (a thread that is awake anyway; a CRC-32C into the journal, a BLAKE3 into
/// an incoming file): hashed here, in the pass that copies them, a 512 KB slice kept the queue 0.3 ms behind the network at the commit; a hashing queue of its own
/// cost a thread wake-up per fragment (~10% more CPU).
public final class IncomingWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "arca.incoming")
    private let target: any IncomingTarget
    /// The target's `writesToTheDevice`: the queue's threads then run short slices (`ThreadSlice`).
    private let feedsTheDevice: Bool
    private let state = NIOLockedValueBox<(pending: Int, error: ArchiveError?)>((0, nil))
    /// 1 MiB: two of `DirectFile`'s 512 KiB writes. The queued bytes are slices that keep their whole read
    /// buffers alive; at 8 MiB a 1 GB object peaked at 58–67 MB resident, at 1 MiB (with the server's smaller
    /// reads) at 41–42 MB, received as fast (2.0–2.6 s) and 500 CT slices ingested as fast (117/s).
    private static let limit = 1 << 20

    public init(target: any IncomingTarget) {
        self.target = target
        feedsTheDevice = target.writesToTheDevice
    }

    public func append(_ bytes: ByteBuffer) async throws {
        let count = bytes.readableBytes
        let (pending, error) = state.withLockedValue { s in
            s.pending += count
            return (s.pending, s.error)
        }
        if let error { throw error }
        queue.async {
            if self.feedsTheDevice { ThreadSlice.shortenForTheDevice() }
            var failure: ArchiveError?
            bytes.withUnsafeReadableBytes { raw in
                if self.state.withLockedValue({ $0.error }) == nil {
                    do { try self.target.append(raw) } catch { failure = self.target.archiveError(error) }
                }
            }
            if let failure { self.fail(failure) }
            let idle = self.state.withLockedValue { s -> Bool in
                s.pending -= count
                return s.pending == 0 && s.error == nil
            }
            if idle {
                do { try self.target.idle() } catch { self.fail(self.target.archiveError(error)) }
            }
        }
        if pending > Self.limit {
            try await onQueue {}
        }
    }

    /// The first failure stays: every later append and trip throws it.
    private func fail(_ failure: ArchiveError) {
        state.withLockedValue { s in if s.error == nil { s.error = failure } }
    }

    /// Drops the file once the queued writes are done (also after a write error).
    public func discard() async {
        await withCheckedContinuation { continuation in
            queue.async {
                self.target.discard()
                continuation.resume()
            }
        }
    }

    /// Queues `body` before whatever is appended next, without waiting for it (work that may overlap the
    /// transfer, such as the commit's duplicate lookup).
    public func enqueue(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }

    /// Runs `body` on the queue, after the queued writes (unless one failed), and after `held`: bytes the caller
    /// kept back until now, written in the same trip (a small instance's whole dataset and its commit).
    /// `onThisThread`: the caller's thread is its own to block (`AssociationThread.isOwn`), so the queue's turn
    /// is taken from it (`sync`: run here once the queued writes are done, with no thread woken when none are)
    /// rather than by a trip to the queue's thread and back; not while the target may make a write wait seconds
    /// (`mayWaitForRoom`), which would hold that thread (an association's event loop) as long.
    public func onQueue<T: Sendable>(appending held: ByteBuffer? = nil, onThisThread: Bool = false,
                                     _ body: @escaping @Sendable () throws -> T) async throws -> T {
        if onThisThread && !target.mayWaitForRoom {
            return try queue.sync { try self.turn(appending: held, body) }
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                if self.feedsTheDevice { ThreadSlice.shortenForTheDevice() }
                continuation.resume(with: Result { try self.turn(appending: held, body) })
            }
        }
    }

    /// The queue's turn: `held` written, then `body`, unless a write failed.
    private func turn<T>(appending held: ByteBuffer?, _ body: () throws -> T) throws -> T {
        if let error = state.withLockedValue({ $0.error }) { throw error }
        if let held, held.readableBytes > 0 {
            do { try held.withUnsafeReadableBytes { try target.append($0) } } catch {
                let failure = target.archiveError(error)
                fail(failure)
                throw failure
            }
        }
        return try body()
    }
}

/// Where an incoming instance's bytes go while they arrive: the ingest journal, or a file in `.incoming/` (an
/// archive without a journal).
public protocol IncomingTarget: AnyObject, Sendable {
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Nothing more is queued for now (a moment to start slow work on what has arrived).
    func idle() throws
    func discard()
    /// Whether the bytes go to the device as they arrive (O_DIRECT) and the acknowledgement waits for them.
    var writesToTheDevice: Bool { get }
    /// Whether a write may now wait seconds for room (the ingest journal full, stores waiting for it to drain).
    var mayWaitForRoom: Bool { get }
    /// What an error of `append` or `idle` means for the sender: bytes that cannot be understood, or the
    /// archive failing to keep them.
    func archiveError(_ error: any Error) -> ArchiveError
}

extension IncomingTarget {
    public func archiveError(_ error: any Error) -> ArchiveError { .incoming(error) }
    public var mayWaitForRoom: Bool { false }
}

extension ArchiveError {
    /// An error met while taking in an instance's bytes, as its sender hears it: a dataset that cannot be
    /// parsed is unreadable, anything else a failure to keep it.
    public static func incoming(_ error: any Error) -> ArchiveError {
        switch error {
        case let error as ArchiveError: return error
        case let error as DICOMParseError: return .unreadable("\(error)")
        default: return .io("\(error)")
        }
    }
}

extension IncomingFile: IncomingTarget {}

extension JournalStream: IncomingTarget {
    /// Strict mode; deferred mode writes through the page cache and answers before the flush.
    public var writesToTheDevice: Bool { !journal.writesThroughCache }
    /// The commit's records: what is staged and what the sink held back (at most a buffer each).
    public var mayWaitForRoom: Bool { journal.mightWaitForRoom(reserving: 2 * recordCapacity) }
}
