import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import Archive

/// The instance writer's queue: bytes reach the target in the order they were handed over, whether queued as they
/// arrived or kept back and handed over with the commit (a small instance); a failed write fails the commit
/// and every trip after it, and the commit's body never runs on bytes that did not all arrive. Each both ways: the
/// turn taken by a trip to the queue's thread, and on the caller's own thread (`onThisThread`, an association alone
/// on its event loop).
@Suite struct IncomingWriterTests {
    /// Keeps what it is given; refuses every append once `failAfter` bytes have arrived.
    final class RecordingTarget: IncomingTarget, @unchecked Sendable {
        struct Full: Error {}
        let failAfter: Int
        let mayWaitForRoom: Bool
        private let kept = NIOLockedValueBox<[UInt8]>([])
        init(failAfter: Int = .max, mayWaitForRoom: Bool = false) {
            self.failAfter = failAfter
            self.mayWaitForRoom = mayWaitForRoom
        }
        var bytes: [UInt8] { kept.withLockedValue { $0 } }
        func append(_ bytes: UnsafeRawBufferPointer) throws {
            try kept.withLockedValue { k in
                if k.count + bytes.count > failAfter { throw Full() }
                k.append(contentsOf: bytes)
            }
        }
        func idle() throws {}
        func discard() {}
        var writesToTheDevice: Bool { false }
    }

    @Test(arguments: [false, true])
    func heldBytesFollowTheQueuedOnesAndPrecedeTheCommit(onThisThread: Bool) async throws {
        let target = RecordingTarget()
        let writer = IncomingWriter(target: target)
        // Enough queued that the queue's thread is still writing when the commit asks for its turn.
        let queued = (0..<64).map { i in ByteBuffer(bytes: Array(repeating: UInt8(i), count: 4096)) }
        for piece in queued { try await writer.append(piece) }
        let seen = try await writer.onQueue(appending: ByteBuffer(bytes: [5, 6]), onThisThread: onThisThread) { target.bytes }
        #expect(seen == queued.flatMap { Array($0.readableBytesView) } + [5, 6])
    }

    /// The caller's own thread is used only while the target cannot make a write wait seconds (a full journal):
    /// otherwise the turn is a trip to the queue's thread, even when offered the caller's.
    @Test(arguments: [false, true])
    func theCallersThreadIsNotHeldWhileTheTargetMayWaitForRoom(mayWait: Bool) async throws {
        let writer = IncomingWriter(target: RecordingTarget(mayWaitForRoom: mayWait))
        let caller = UInt(pthread_self())
        let here = try await writer.onQueue(onThisThread: true) { UInt(pthread_self()) == caller }
        #expect(here == !mayWait)
    }

    @Test(arguments: [false, true])
    func aSmallInstanceKeptBackReachesTheTargetWithItsCommit(onThisThread: Bool) async throws {
        let target = RecordingTarget()
        let writer = IncomingWriter(target: target)
        let seen = try await writer.onQueue(appending: ByteBuffer(bytes: Array(0..<200)), onThisThread: onThisThread) { target.bytes }
        #expect(seen == Array(0..<200))
    }

    @Test(arguments: [false, true])
    func aFailedWriteOfTheHeldBytesFailsTheCommitAndWhatFollows(onThisThread: Bool) async throws {
        let target = RecordingTarget(failAfter: 10)
        let writer = IncomingWriter(target: target)
        let ran = NIOLockedValueBox(false)
        await #expect(throws: ArchiveError.self) {
            try await writer.onQueue(appending: ByteBuffer(bytes: Array(repeating: 7, count: 11)), onThisThread: onThisThread) {
                ran.withLockedValue { $0 = true }
            }
        }
        #expect(!ran.withLockedValue { $0 })
        await #expect(throws: ArchiveError.self) { try await writer.onQueue(onThisThread: onThisThread) {} }
        await #expect(throws: ArchiveError.self) { try await writer.append(ByteBuffer(bytes: [1])) }
    }

    @Test(arguments: [false, true])
    func aFailedQueuedWriteFailsTheCommitWithoutRunningIt(onThisThread: Bool) async throws {
        let target = RecordingTarget(failAfter: 3)
        let writer = IncomingWriter(target: target)
        try await writer.append(ByteBuffer(bytes: [1, 2, 3, 4]))
        let ran = NIOLockedValueBox(false)
        await #expect(throws: ArchiveError.self) {
            try await writer.onQueue(onThisThread: onThisThread) { ran.withLockedValue { $0 = true } }
        }
        #expect(!ran.withLockedValue { $0 })
    }
}
