@testable import Archive
import Foundation
import NIOCore
import Testing
import TestSupport

/// The scheduler slice of the threads that feed the device in strict mode (`ThreadSlice`).
@Suite struct ThreadSliceTests {
    /// The calling thread's slice in nanoseconds as the kernel reports it (`se.slice`, Linux 6.12+), or nil.
    static func currentSlice() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/sched", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("se.slice") {
            return line.split(separator: ":").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    static let kernelReportsSlices = currentSlice() != nil

    @Test(.enabled(if: kernelReportsSlices, "this kernel does not report a thread's slice (se.slice, Linux 6.12+)"))
    func aStrictWritersThreadRunsShortSlices() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-slice")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try IngestJournal(root: dir.path, segmentSize: 4 << 20, durability: .strict)
        let stream = JournalStream(journal: journal, pool: AlignedBufferPool())
        #expect(stream.writesToTheDevice)
        let writer = IncomingWriter(target: stream)
        try await writer.append(ByteBuffer(bytes: [1, 2, 3]))
        let slice = try await writer.onQueue { Self.currentSlice() }
        #expect(slice == ThreadSlice.deviceFeeder)
        await writer.discard()
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
