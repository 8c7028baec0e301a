@testable import Archive
import Foundation
import NIOCore
import Testing
import TestSupport

/// The scheduler slice of the threads that feed the device in strict mode (`ThreadSlice`).
@Suite struct ThreadSliceTests {
    /// A kernel that reports a thread's slice (sched_getattr, Linux 6.12+) takes one too.
    static let kernelReportsSlices = ThreadSlice.current() != 0

    @Test(.enabled(if: kernelReportsSlices, "this kernel does not report a thread's slice (sched_getattr, Linux 6.12+)"))
    func aStrictWritersThreadRunsShortSlices() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-slice")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try IngestJournal(root: dir.path, segmentSize: 4 << 20, durability: .strict)
        let stream = JournalStream(journal: journal, pool: AlignedBufferPool())
        #expect(stream.writesToTheDevice)
        let writer = IncomingWriter(target: stream)
        try await writer.append(ByteBuffer(bytes: [1, 2, 3]))
        let slice = try await writer.onQueue { ThreadSlice.current() }
        #expect(slice == ThreadSlice.deviceFeeder)
        await writer.discard()
    }

    /// A thread a shortened thread creates (a Dispatch worker, a hook's process) starts with the kernel's
    /// default, not with a short slice nobody asked it for.
    @Test(.enabled(if: kernelReportsSlices, "this kernel does not report a thread's slice (sched_getattr, Linux 6.12+)"))
    func aThreadMadeByAShortenedThreadStartsWithTheDefault() async {
        let (own, child) = await withCheckedContinuation { (continuation: CheckedContinuation<(UInt64, UInt64), Never>) in
            Thread {
                ThreadSlice.shortenForTheDevice()
                let own = ThreadSlice.current()
                Thread { continuation.resume(returning: (own, ThreadSlice.current())) }.start()
            }.start()
        }
        #expect(own == ThreadSlice.deviceFeeder)
        #expect(child != ThreadSlice.deviceFeeder && child != 0, "the child's slice: \(child) ns")
    }

    /// Deferred mode writes through the page cache: its writer is CPU work beside the event loop, not a wait on
    /// the device, and keeps the kernel's slice (its thread is not asked to change; a Dispatch worker shortened
    /// by an earlier strict writer may still run it, so only the target's answer is checked).
    @Test func aDeferredJournalDoesNotFeedTheDevice() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-slice")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try IngestJournal(root: dir.path, segmentSize: 4 << 20, durability: .deferred)
        let stream = JournalStream(journal: journal, pool: AlignedBufferPool())
        #expect(!stream.writesToTheDevice)
        stream.discard()
    }
}
