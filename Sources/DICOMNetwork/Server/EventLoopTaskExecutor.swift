import NIOCore

/// Runs an association's task, and the tasks it starts, on its channel's event loop. Without it each PDU the
/// loop decodes is handed to a thread of Swift's global pool and each response handed back: receiving one
/// 512 KB CT slice cost 23.5 context switches in the server, 17.2 with it (/proc, 2 cores), and a C-FIND at
/// 2,000 studies lost a third of its round trip. The session never blocks (blocking work goes to the thread pool or the writer's
/// queue, as it must on the global pool too), so sharing the loop's thread costs the other channels on it
/// only the CPU the session really uses.
/// The HTTP server's connections use it too.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
