@testable import Archive
import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport

/// A store that finds the journal full waits while the journal drains (instances put in place one after another,
/// for longer than the stall in all) and is refused only when none is: a stream faster than the materializer
/// slows to its pace rather than being told "disk full" with the disk half empty. Serialized: the waits are
/// seconds long, and the margins are the point.
@Suite(.serialized) struct JournalRoomTests {
    /// Two segments of 1 MiB: four instances of 240 KiB (a record of 244 KiB and a final one of 4 KiB) fill one.
    static let perSegment = 4
    static let stall = 2.0
    /// Between two instances put in place: well within the stall, and the segment free only after more than it.
    static let interval = 0.6

    /// One acknowledged instance, held in the journal until `discard`.
    static func store(_ n: Int, in journal: IngestJournal, pool: AlignedBufferPool) throws -> JournalStream {
        let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: 240 << 10)
        let stream = JournalStream(journal: journal, pool: pool)
        try bytes.withUnsafeBytes { try stream.append($0) }
        let sequence = try stream.finish(FinalInfo(sopInstanceUID: "1.2.3.\(n)", transferSyntaxUID: "1.2.840.10008.1.2.1",
                                                   callingAETitle: "TEST", receivedAt: "20261207T100000Z",
                                                   totalLength: UInt64(bytes.count), checksum: .crc32c(CRC32C.checksum(bytes))))
        try journal.waitDurable(sequence)
        return stream
    }

    /// A journal of two segments, both full of instances it holds.
    static func full(_ dir: URL) throws -> (journal: IngestJournal, pool: AlignedBufferPool, held: [JournalStream]) {
        let journal = try IngestJournal(root: dir.path, segmentSize: 1 << 20, segmentLimit: 2,
                                        roomWait: .init(stall: stall, longest: 20))
        let pool = AlignedBufferPool()
        return (journal, pool, try (0..<(2 * perSegment)).map { try store($0, in: journal, pool: pool) })
    }

    /// Puts `streams` in place (as the materializer lets them go) one every `interval`, on a thread of its own.
    static func placeInTurn(_ streams: [JournalStream]) {
        Thread {
            for stream in streams {
                Thread.sleep(forTimeInterval: interval)
                stream.releaseHeld()
            }
        }.start()
    }

    @Test func aFullJournalWaitsWhileItDrains() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-room")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, pool, held) = try Self.full(dir)
        #expect(!journal.isShortOfRoom)
        Self.placeInTurn(Array(held.prefix(Self.perSegment)))
        // Looked at while the store waits: commits then stay off their associations' own event loops
        // (`IncomingWriter.onQueue` asks its target).
        let shortMeanwhile = NIOLockedValueBox<Bool?>(nil)
        Thread {
            Thread.sleep(forTimeInterval: Self.interval / 2)
            shortMeanwhile.withLockedValue { $0 = JournalStream(journal: journal, pool: pool).mayWaitForRoom }
        }.start()
        let started = Date()
        let next = try Self.store(100, in: journal, pool: pool)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= Self.stall, "the store found room before the first segment was let go (\(waited) s)")
        #expect(shortMeanwhile.withLockedValue { $0 } == true)
        #expect(!journal.isShortOfRoom)
        next.discard()
        for stream in held.dropFirst(Self.perSegment) { stream.discard() }
    }

    /// The first store to find the journal full makes its trip too: a commit asks whether its records fit in the
    /// segment being filled or a free one, not only whether stores already wait (that store, waiting on its
    /// association's own event loop, held the loop up to 30 s).
    @Test func aCommitThatWouldFindNoRoomLeavesTheLoopBeforeAnyStoreWaits() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-first")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, pool, held) = try Self.full(dir)
        #expect(!journal.isShortOfRoom)
        #expect(JournalStream(journal: journal, pool: pool).mayWaitForRoom)
        for stream in held { stream.discard() }
        #expect(!JournalStream(journal: journal, pool: pool).mayWaitForRoom)
    }

    /// Two stores waiting at once, one segment coming back: the first opens it, the second shares it (before,
    /// the second could take another segment later and leave the first half-filled, out of use for good).
    @Test func twoWaitingStoresShareTheSegmentThatComesBack() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-two")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, pool, held) = try Self.full(dir)
        Self.placeInTurn(Array(held.prefix(Self.perSegment)))
        // Each on a thread of its own: a store blocks while it waits.
        let outcomes = Outcomes()
        let done = DispatchGroup()
        for n in [100, 101] {
            done.enter()
            Thread {
                outcomes.add(Result { try Self.store(n, in: journal, pool: pool) })
                done.leave()
            }.start()
        }
        done.wait()
        let (stored, errors) = outcomes.all
        #expect(errors.isEmpty, "\(errors)")
        #expect(stored.count == 2 && Set(stored.flatMap { $0.pieces.map(\.segment) }).count == 1,
                "\(stored.map { $0.pieces.map(\.segment) })")
        for stream in stored + held.dropFirst(Self.perSegment) { stream.discard() }
    }

    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [JournalStream] = []
        private var errors: [any Error] = []

        func add(_ result: Result<JournalStream, any Error>) {
            lock.lock()
            defer { lock.unlock() }
            switch result {
            case .success(let stream): stored.append(stream)
            case .failure(let error): errors.append(error)
            }
        }

        var all: ([JournalStream], [any Error]) {
            lock.lock()
            defer { lock.unlock() }
            return (stored, errors)
        }
    }

    /// Nothing put in place, while other stores come and go (each refused store discards its stream): refused
    /// after the stall as the disk being full, not kept waiting by the discards.
    @Test func aJournalThatPlacesNothingRefusesTheStore() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-stuck")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, pool, held) = try Self.full(dir)
        let stop = NIOLockedValueBox(false)
        Thread {
            while !stop.withLockedValue({ $0 }) {
                Thread.sleep(forTimeInterval: 0.5)
                JournalStream(journal: journal, pool: pool).discard()
            }
        }.start()
        defer { stop.withLockedValue { $0 = true } }
        #expect {
            _ = try Self.store(100, in: journal, pool: pool)
        } throws: { error in
            guard case ArchiveError.outOfResources(let reason) = error else { return false }
            return reason.contains("disk full")
        }
        for stream in held { stream.discard() }
    }
}
