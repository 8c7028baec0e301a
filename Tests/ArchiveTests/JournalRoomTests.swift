import Archive
import Foundation
import Testing
import TestSupport

/// A store that finds the journal full waits while the journal drains (instances let go, one after another, for
/// longer than the stall in all) and is refused only when nothing is let go: a stream faster than the
/// materializer slows to its pace rather than being told "disk full" with the disk half empty.
@Suite struct JournalRoomTests {
    /// Two segments of 1 MiB: four instances of 240 KiB (one record each, 4 KiB-aligned) fill one.
    static let perSegment = 4

    static func journal(_ dir: URL) throws -> IngestJournal {
        try IngestJournal(root: dir.path, segmentSize: 1 << 20, segmentLimit: 2,
                          roomWait: .init(stall: 1.0, longest: 20))
    }

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

    @Test func aFullJournalWaitsWhileItDrains() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-room")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.journal(dir)
        let pool = AlignedBufferPool()
        let held = try (0..<(2 * Self.perSegment)).map { try Self.store($0, in: journal, pool: pool) }
        // The first segment's instances are let go one every 0.3 s: each within the stall (1 s) of the one
        // before, the segment free only after 1.2 s.
        let first = held.prefix(Self.perSegment)
        let releaser = Thread {
            for stream in first {
                Thread.sleep(forTimeInterval: 0.3)
                stream.discard()
            }
        }
        releaser.start()
        let started = Date()
        let next = try Self.store(100, in: journal, pool: pool)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 1.0, "the store found room before the first segment was let go (\(waited) s)")
        next.discard()
        for stream in held.dropFirst(Self.perSegment) { stream.discard() }
    }

    @Test func aJournalThatLetsNothingGoRefusesTheStore() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-stuck")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.journal(dir)
        let pool = AlignedBufferPool()
        let held = try (0..<(2 * Self.perSegment)).map { try Self.store($0, in: journal, pool: pool) }
        #expect {
            _ = try Self.store(100, in: journal, pool: pool)
        } throws: { error in
            guard case ArchiveError.outOfResources(let reason) = error else { return false }
            return reason.contains("disk full")
        }
        for stream in held { stream.discard() }
    }
}
