import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import Archive

/// The messages nodes sharing an index exchange about the instances their journals hold, without the database
/// that carries them (`PostgresIndexTests` runs them between two nodes on PostgreSQL).
@Suite struct PlacementNoticesTests {
    /// A board whose sent messages are kept instead of carried.
    static func board(_ node: String) -> (PlacementNoticeBoard, NIOLockedValueBox<[String]>) {
        let sent = NIOLockedValueBox<[String]>([])
        return (PlacementNoticeBoard(node: node) { message in sent.withLockedValue { $0.append(message) } }, sent)
    }

    /// A blocking wait on a thread of its own, as a reader's I/O thread waits: on the cooperative pool (two threads
    /// on two cores) two such waits left no thread to the tasks that end them.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    @Test func aRequestFromAnotherNodeEndsTheHoldAndANodesOwnIsIgnored() {
        let (board, sent) = Self.board("a")
        let asked = NIOLockedValueBox(0)
        board.whenRequested { asked.withLockedValue { $0 += 1 } }
        board.requestPlacement()
        board.announcePlaced()
        #expect(sent.withLockedValue { $0 } == ["place a", "placed a"])
        // Every node hears its own messages too.
        board.received("place a")
        #expect(asked.withLockedValue { $0 } == 0)
        board.received("place b")
        #expect(asked.withLockedValue { $0 } == 1)
        board.received("place")
        board.received("shout b")
        #expect(asked.withLockedValue { $0 } == 1)
    }

    @Test func aWaiterLooksAgainAtEachAnnouncementAndGivesUpAtItsTimeout() async throws {
        let (board, _) = Self.board("b")
        let file = NIOLockedValueBox(false)
        let count = NIOLockedValueBox(0)
        // Each look of the waiter, as it happens.
        let (looks, look) = AsyncStream.makeStream(of: Void.self)
        var looked = looks.makeAsyncIterator()
        let found = Task { try await Self.onThread {
            board.wait(timeout: 30) {
                count.withLockedValue { $0 += 1 }
                defer { look.yield() }
                return file.withLockedValue { $0 }
            }
        } }
        // An announcement that does not bring the file, then one that does.
        await looked.next()
        // Without an announcement it does not look again (it waits; it does not spin): nothing to wait for but
        // the absence of a look, so a pause.
        try await Task.sleep(for: .milliseconds(200))
        #expect(count.withLockedValue { $0 } == 1)
        board.received("placed a")
        await looked.next()
        file.withLockedValue { $0 = true }
        board.received("placed a")
        await looked.next()
        #expect(try await found.value)
        #expect(count.withLockedValue { $0 } == 3)
        // Nothing announced: the answer at the timeout.
        #expect(try await Self.onThread { !board.wait(timeout: 0.2) { false } })
    }

    @Test func theListenersStartMakesWaitersLookAgain() async throws {
        let (board, _) = Self.board("b")
        #expect(try await Self.onThread { !board.waitUntilListening(timeout: 0.1) })
        let (looks, look) = AsyncStream.makeStream(of: Void.self)
        var looked = looks.makeAsyncIterator()
        let count = NIOLockedValueBox(0)
        let found = Task { try await Self.onThread {
            board.wait(timeout: 30) {
                defer { look.yield() }
                return count.withLockedValue { $0 += 1; return $0 } >= 2
            }
        } }
        await looked.next()
        board.setListening(true)
        #expect(try await found.value)
        #expect(board.waitUntilListening(timeout: 0.1))
    }
}
