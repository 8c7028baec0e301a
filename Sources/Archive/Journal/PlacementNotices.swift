import Foundation

/// What nodes sharing one index tell each other about the instances their journals hold.
///
/// Every node's materializer holds a burst back while it lasts (`Materializer.Hold`), so an instance another
/// node has acknowledged may not be in place yet when a reader here opens it: its row is committed at once,
/// its file follows when that node's burst pauses. A reader then asks every node to place what it holds now,
/// and waits for the batches they announce. PostgreSQL's LISTEN/NOTIFY carries both (`PostgresIndex`).
public protocol PlacementNotices: AnyObject, Sendable {
    /// Asks every other node to place what its journal holds, without waiting for its burst to pause.
    func requestPlacement()
    /// Tells readers on other nodes that a batch of this node's is in place.
    func announcePlaced()
    /// What this node does when another node's reader asks: its materializer ends its hold.
    func whenRequested(_ handler: @escaping @Sendable () -> Void)
    /// Blocks (a reader's I/O thread) until `ready()` holds, looking again each time another node announces a
    /// batch, or until `timeout` seconds have passed; answers `ready()`.
    func wait(timeout: Double, until ready: () -> Bool) -> Bool
}

/// The part of `PlacementNotices` that does not depend on how the notices travel: the messages (`place NODE`,
/// `placed NODE`), what a node does with another's, and the readers waiting for announcements. `send` carries a
/// message to every node (this one included: its own are ignored); `received` is called with every message.
public final class PlacementNoticeBoard: PlacementNotices, @unchecked Sendable {
    private let node: String
    private let send: @Sendable (String) -> Void
    private let condition = NSCondition()
    /// Announcements received (and restarts of the listener, after which a notice may have been missed).
    private var announcements = 0
    private var handler: (@Sendable () -> Void)?
    private var listening = false

    public init(node: String, send: @escaping @Sendable (String) -> Void) {
        self.node = node
        self.send = send
    }

    public func requestPlacement() { send("place " + node) }
    public func announcePlaced() { send("placed " + node) }

    public func whenRequested(_ handler: @escaping @Sendable () -> Void) {
        condition.lock()
        self.handler = handler
        condition.unlock()
    }

    /// A message from any node (through the listener).
    public func received(_ message: String) {
        let parts = message.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[1] != node else { return }
        switch parts[0] {
        case "place":
            condition.lock()
            let handler = self.handler
            condition.unlock()
            handler?()
        case "placed":
            lookAgain()
        default:
            break
        }
    }

    /// An announcement: every waiter looks again.
    private func lookAgain() {
        condition.lock()
        announcements += 1
        condition.broadcast()
        condition.unlock()
    }

    /// The listener (re)started or stopped. Notices sent while it was not listening were lost: on its start
    /// every waiter looks again.
    public func setListening(_ now: Bool) {
        condition.lock()
        listening = now
        if now { announcements += 1 }
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the listener listens, or `timeout` seconds have passed (tests, and a node's start).
    public func waitUntilListening(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !listening {
            if !condition.wait(until: deadline) { return listening }
        }
        return true
    }

    public func wait(timeout: Double, until ready: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            condition.lock()
            let seen = announcements
            condition.unlock()
            // Looked at outside the lock (a file system call); an announcement meanwhile makes it look again.
            if ready() { return true }
            condition.lock()
            while announcements == seen {
                if !condition.wait(until: deadline) {
                    condition.unlock()
                    return ready()
                }
            }
            condition.unlock()
        }
    }
}
