import Archive
import BLAKE3
import DICOM
import Foundation
import Testing
import TestSupport

/// The ingest journal's recovery rule, on real segment files: what was acknowledged (its final record written
/// and flushed) comes back exactly; a record cut or damaged anywhere (never acknowledged) does not.
@Suite struct IngestJournalTests {
    /// Sizes that take one record, exactly fill one, and span several (the 512 KiB staging buffers).
    static let sizes = [1, 8_000, 523_264, 525_000, 1_600_000, 40_000]

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    struct Written {
        var sop: String
        var bytes: [UInt8]
        var pieces: [JournalPiece]
        /// Kept alive as the materializer keeps an acknowledged stream until its file is durable: a stream let
        /// go releases its segments for recycling.
        var stream: JournalStream
    }

    /// Writes each instance into a fresh journal in `root` (in pieces of odd sizes), flushes, closes it. `legacy`:
    /// final records with the BLAKE3 of the bytes, as journals written before 2026-12-06 have them.
    static func writeJournal(root: String, instances: [(String, [UInt8])], segmentSize: Int = 4 << 20, legacy: Bool = false)
        throws -> (directory: String, written: [Written]) {
        let journal = try IngestJournal(root: root, segmentSize: segmentSize)
        let pool = AlignedBufferPool()
        var written: [Written] = []
        for (sop, bytes) in instances {
            let stream = JournalStream(journal: journal, pool: pool)
            var offset = 0, piece = 1000
            while offset < bytes.count {
                let n = min(piece, bytes.count - offset)
                try bytes[offset..<(offset + n)].withUnsafeBytes { try stream.append($0) }
                offset += n
                piece = piece * 2 + 333
            }
            let sequence = try stream.finish(FinalInfo(sopInstanceUID: sop, transferSyntaxUID: "1.2.840.10008.1.2.1",
                                                       callingAETitle: "TEST", receivedAt: "20261202T140000Z",
                                                       totalLength: UInt64(bytes.count),
                                                       checksum: legacy ? .blake3(BLAKE3.hash(bytes)) : .crc32c(CRC32C.checksum(bytes))))
            try journal.waitDurable(sequence)
            written.append(Written(sop: sop, bytes: bytes, pieces: stream.pieces, stream: stream))
        }
        return (journal.directory, written)
    }

    static func scan(_ directory: String) throws -> [JournalRecovery.Found] {
        let (found, descriptors, _) = try JournalRecovery.scan(directory: directory, maxRecord: AlignedBufferPool().bufferSize)
        descriptors.values.forEach { close($0) }
        return found
    }

    static func segmentPath(_ directory: String, _ number: Int) -> String {
        directory + "/" + String(format: "seg-%06d", number)
    }

    /// Segments a start finds still active hold what recovery could not complete (a full disk, a missing folder):
    /// this process never frees them, not even at its clean stop, which freed them and lost those instances.
    @Test func segmentsRecoveryLeftActiveOutliveACleanStop() throws {
        let first = try ExternalTool.temporaryDirectory("journal-written"), second = try ExternalTool.temporaryDirectory("journal-retained")
        defer { for d in [first, second] { try? FileManager.default.removeItem(at: d) } }
        let (directory, written) = try Self.writeJournal(root: first.path, instances: [("1.2.3.4", Self.bytes(8_000, seed: 7))])
        // The slot as a crash left it, for a new process to find (the writer still holds the original's lock).
        let slot = second.appendingPathComponent(IngestJournal.folder + "/0")
        try FileManager.default.createDirectory(at: slot, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != "lock" {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: slot.path + "/" + name)
        }
        do {
            let journal = try IngestJournal(root: second.path, segmentSize: 4 << 20)
            journal.retireUnheld()
        }
        #expect(try Self.scan(slot.path).map(\.final.sopInstanceUID) == ["1.2.3.4"])
        withExtendedLifetime(written) {}
    }

    @Test func everyFlushedInstanceIsFoundWithItsBytes() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let instances = Self.sizes.enumerated().map { ("1.2.3.\($0.offset)", Self.bytes($0.element, seed: UInt64($0.offset))) }
        // Small segments: instances span segments.
        let (directory, written) = try Self.writeJournal(root: dir.path, instances: instances, segmentSize: 1 << 20)
        let found = try Self.scan(directory)
        #expect(found.map(\.final.sopInstanceUID) == written.map(\.sop))
        for (f, w) in zip(found, written) {
            #expect(f.pieces == w.pieces)
            #expect(f.final.totalLength == UInt64(w.bytes.count))
        }
    }

    /// Bytes that keep coming (the writer's queue never runs dry, so `idle` is never called) still go to the
    /// device before the commit once 128 KiB are staged: the final record carries only the tail.
    @Test func aStreamThatNeverIdlesCutsRecordsBeforeItsFinal() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try IngestJournal(root: dir.path, segmentSize: 4 << 20)
        let stream = JournalStream(journal: journal, pool: AlignedBufferPool())
        let bytes = Self.bytes(480 << 10, seed: 7)  // less than one staging buffer
        for start in stride(from: 0, to: bytes.count, by: 16 << 10) {
            try bytes[start..<(start + (16 << 10))].withUnsafeBytes { try stream.append($0) }
        }
        let before = stream.pieces
        #expect(!before.isEmpty, "no record was cut while the bytes came")
        #expect(before.allSatisfy { $0.length >= 128 << 10 }, "\(before.map(\.length))")
        let sequence = try stream.finish(FinalInfo(sopInstanceUID: "1.2.3.9", transferSyntaxUID: "1.2.840.10008.1.2.1",
                                                   callingAETitle: "TEST", receivedAt: "20261204T080000Z",
                                                   totalLength: UInt64(bytes.count), checksum: .crc32c(CRC32C.checksum(bytes))))
        try journal.waitDurable(sequence)
        let found = try Self.scan(journal.directory)
        #expect(found.map(\.final.sopInstanceUID) == ["1.2.3.9"])
        #expect(found.first?.pieces == stream.pieces)
        #expect(stream.pieces.reduce(0) { $0 + $1.length } == bytes.count)
    }

    enum Damage: String, CaseIterable {
        case truncatedInHeader, truncatedInBytes, truncatedInChecksum, flippedByte, flippedHeaderByte
    }

    /// The piece of an instance to damage: its final record, or for a flipped byte of the bytes its last piece
    /// that has bytes (a final record may carry none: when the earlier records took them all, and whether they do
    /// depends on timing, so a flip at its "payload" landed in padding, which no checksum covers, and a CI run
    /// replayed the instance as undamaged).
    static func target(_ damage: Damage, in pieces: [JournalPiece]) -> JournalPiece? {
        damage == .flippedByte ? pieces.last { $0.length > 0 } : pieces.last
    }

    /// Damages `piece`'s record (the 1 KiB header, then the payload) in its segment file.
    static func apply(_ damage: Damage, to piece: JournalPiece, in directory: String) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: segmentPath(directory, piece.segment)))
        defer { try? handle.close() }
        let header = UInt64(piece.recordOffset)
        switch damage {
        case .truncatedInHeader: try handle.truncate(atOffset: header + 100)
        case .truncatedInBytes: try handle.truncate(atOffset: header + 1024 + UInt64(piece.length / 2))
        case .truncatedInChecksum: try handle.truncate(atOffset: header + 1010)
        case .flippedByte, .flippedHeaderByte:
            let at = damage == .flippedByte ? header + 1024 + UInt64(piece.length / 2) : header + 60
            try handle.seek(toOffset: at)
            let byte = try #require(try handle.read(upToCount: 1)?.first)
            try handle.seek(toOffset: at)
            try handle.write(contentsOf: Data([byte ^ 0x20]))
        }
        // On the device before recovery reads it with O_DIRECT.
        try handle.synchronize()
    }

    /// The last instance's final record is damaged the way a crash during its write (before any
    /// acknowledgement) leaves it: recovery finds exactly the others.
    @Test(arguments: Damage.allCases)
    func aDamagedLastRecordIsDropped(damage: Damage) throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let instances = Self.sizes.enumerated().map { ("1.2.3.\($0.offset)", Self.bytes($0.element, seed: UInt64($0.offset) + 7)) }
        let (directory, written) = try Self.writeJournal(root: dir.path, instances: instances)
        guard let last = Self.target(damage, in: written.last?.pieces ?? []) else { Issue.record("nothing written"); return }
        try Self.apply(damage, to: last, in: directory)
        let found = try Self.scan(directory)
        #expect(found.map(\.final.sopInstanceUID) == written.dropLast().map(\.sop))
    }

    /// A Part-10 instance of `sop`; `rows` sets its size (800: over one 512 KiB record, so its copy is written
    /// in pieces and the last ones may still be in flight when a mismatch is found).
    static func part10(_ sop: String, rows: UInt16) throws -> [UInt8] {
        var file = SampleImage.secondaryCapture(rows: rows, columns: 800)
        file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
        file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
        return try file.serialized()
    }

    /// The same damage through recovery, which checks each instance's BLAKE3 as it copies it (not in its scan):
    /// exactly the others are replayed, the damaged one leaves no file, no row and no temporary file, and is not
    /// a failure (it was never acknowledged), so the journal is emptied.
    @Test(arguments: Damage.allCases)
    func recoveryReplaysExactlyTheUndamaged(damage: Damage) throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let instances = try [(16, 0), (32, 1), (800, 2)].map { rows, n in
            let sop = "1.2.826.0.1.3680043.10.2.\(n)"
            return (sop, try Self.part10(sop, rows: UInt16(rows)))
        }
        // The journal (its streams hold it, and its slot's flock) is gone before recovery, as its process would be.
        let (directory, last) = try { () throws -> (String, JournalPiece) in
            let (directory, written) = try Self.writeJournal(root: dir.path, instances: instances)
            return (directory, try #require(Self.target(damage, in: written.last?.pieces ?? [])))
        }()
        try Self.apply(damage, to: last, in: directory)
        let index = try SQLiteIndex(archive: dir.path)
        let configuration = FileArchive.Configuration(root: dir.path)
        let report = try FileArchive.recover(configuration, index: index)
        #expect(report.failed.isEmpty)
        #expect(report.replayed.count == 2)
        for (sop, bytes) in instances.dropLast() {
            let path = try #require(try index.filePathNow(ofInstance: sop))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + path))) == bytes)
        }
        let damaged = try #require(instances.last?.0)
        #expect(try index.filePathNow(ofInstance: damaged) == nil)
        // Only a flipped byte of the bytes gets past the scan (whose record checks see the rest) to the copy's check.
        #expect(report.dropped == (damage == .flippedByte ? [damaged] : []))
        let incoming = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/" + FileArchive.incomingFolder)
        #expect(incoming.isEmpty, "left in .incoming: \(incoming)")
        #expect(try FileArchive.recover(configuration, index: index).replayed.isEmpty)
    }

    /// A replacement (the same SOP Instance UID journaled again) whose bytes were damaged: the instance keeps the
    /// bytes of the copy before it, which recovery puts in place and indexes.
    @Test func aDamagedReplacementLeavesTheCopyBeforeIt() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sop = "1.2.826.0.1.3680043.10.3.1"
        let first = try Self.part10(sop, rows: 700)
        let second = try Self.part10(sop, rows: 720)
        let (directory, last) = try { () throws -> (String, JournalPiece) in
            let (directory, written) = try Self.writeJournal(root: dir.path, instances: [(sop, first), (sop, second)])
            return (directory, try #require(Self.target(.flippedByte, in: written.last?.pieces ?? [])))
        }()
        try Self.apply(.flippedByte, to: last, in: directory)
        let index = try SQLiteIndex(archive: dir.path)
        let report = try FileArchive.recover(FileArchive.Configuration(root: dir.path), index: index)
        #expect(report.replayed.count == 1)
        #expect(report.dropped == [sop])
        #expect(report.failed.isEmpty)
        let path = try #require(try index.filePathNow(ofInstance: sop))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + path))) == first)
    }

    /// A record of a received image can hold bytes that look like a journal header; without the segment's
    /// random nonce they never count, and an instance cut short stays dropped.
    @Test func payloadImitatingAHeaderIsNotARecord() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        var fake = [UInt8](repeating: 0, count: 1024)
        try fake.withUnsafeMutableBytes { raw in
            try RecordHeader(nonce: 1, generation: 1, stream: 9, offset: 0, length: 0,
                             final: FinalInfo(sopInstanceUID: "6.6.6", transferSyntaxUID: "1.2", callingAETitle: "EVIL",
                                              receivedAt: "x", totalLength: 0, checksum: .crc32c(0))).encode(into: raw)
        }
        // At payload offset 3072 the fake header sits on a block boundary of the segment.
        var payload = Self.bytes(3 * 4096, seed: 1)
        payload.replaceSubrange(3072..<(3072 + 1024), with: fake)
        let (directory, written) = try Self.writeJournal(root: dir.path, instances: [("1.2.3.1", payload), ("1.2.3.2", payload)])
        // The first record's own header damaged: the scan walks its blocks one by one and meets the imitation.
        let first = try #require(written.first?.pieces.first)
        let handle = try #require(FileHandle(forUpdatingAtPath: Self.segmentPath(directory, first.segment)))
        try handle.seek(toOffset: UInt64(first.recordOffset))
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let found = try Self.scan(directory)
        #expect(found.map(\.final.sopInstanceUID) == ["1.2.3.2"])
    }

    /// Through the archive: instances written to a journal whose process is gone are completed on start:
    /// files in place with their bytes, rows in the index, and the journal empty afterwards.
    @Test func recoveryCompletesStoresIntoFilesAndIndex() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        var instances: [(String, [UInt8])] = []
        for n in 0..<3 {
            var file = SampleImage.secondaryCapture(rows: 16, columns: 16)
            let sop = "1.2.826.0.1.3680043.10.1.\(n)"
            file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
            file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
            instances.append((sop, try file.serialized()))
        }
        _ = try Self.writeJournal(root: dir.path, instances: instances)
        let index = try SQLiteIndex(archive: dir.path)
        let configuration = FileArchive.Configuration(root: dir.path)
        let report = try FileArchive.recover(configuration, index: index)
        #expect(report.replayed.count == 3)
        #expect(report.failed.isEmpty)
        for (sop, bytes) in instances {
            let path = try #require(try index.filePathNow(ofInstance: sop))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + path))) == bytes)
        }
        // The journal was emptied: a second start replays nothing.
        #expect(try FileArchive.recover(configuration, index: index).replayed.isEmpty)
    }

    /// A journal can still hold an instance whose row now names a newer copy of it: one already placed and then
    /// replaced while its segment stayed active (another instance still held it), or, on a shared index, one a
    /// dead node acknowledged and another node replaced before the takeover. Replaying it would put the older
    /// bytes back over an acknowledged replacement: the row's later reception time says it was superseded, and
    /// it is left. A row received earlier is an older copy whose replacement's row was lost (a crash before it
    /// was durable): the journal's copy is the newer one and is replayed.
    /// An index just rebuilt from the files (index.db deleted after a crash) has the files' modification times as
    /// reception times: a file placed after a newer copy was received would look newer than it. Recovery then
    /// replays what the journal holds, as it did before it compared times.
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func recoveryLeavesAnInstanceItsRowSaysWasReplacedSince(rowIsNewer: Bool, rowsFromFiles: Bool) throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-superseded")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sop = "1.2.826.0.1.3680043.10.1.77"
        func copy(rows: UInt16) -> DICOMFile {
            SampleImage.copy(rows: rows, sop: sop, study: "1.2.826.0.1.3680043.10.1.70", series: "1.2.826.0.1.3680043.10.1.71")
        }
        // The journal's copy, received at 2026-12-02 14:00:00 (`writeJournal`).
        let journaled = try copy(rows: 16).serialized()
        _ = try Self.writeJournal(root: dir.path, instances: [(sop, journaled)])
        // The copy the row names, in place: received five seconds later, or a minute earlier.
        let other = copy(rows: 17)
        let otherBytes = try other.serialized()
        let attributes = InstanceAttributes(other.dataSet)
        let configuration = FileArchive.Configuration(root: dir.path)
        let relative = try configuration.naming.relativePath(for: attributes, fileExtension: configuration.fileExtension)
        try FileManager.default.createDirectory(atPath: dir.path + "/" + (relative as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(otherBytes).write(to: URL(fileURLWithPath: dir.path + "/" + relative))
        let index = try SQLiteIndex(archive: dir.path)
        try index.recordNow(InstanceRecord(attributes: attributes, filePath: relative, fileSize: UInt64(otherBytes.count),
                                           fileHash: BLAKE3.hex(BLAKE3.hash(otherBytes)), transferSyntaxUID: "1.2.840.10008.1.2.1",
                                           receivedAt: rowIsNewer ? "2026-12-02T14:00:05.000Z" : "2026-12-02T13:59:00.000Z",
                                           callingAETitle: "OTHER"))
        let report = try FileArchive.recover(configuration, index: index, rowsFromFiles: rowsFromFiles)
        let left = rowIsNewer && !rowsFromFiles
        let expected = left ? otherBytes : journaled
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + relative))) == expected)
        let row = try #require(try index.allInstances().first { $0.sopInstanceUID == sop })
        #expect(row.fileHash == BLAKE3.hex(BLAKE3.hash(expected)))
        #expect(report.replayed == (left ? [] : [relative]))
        #expect(report.superseded == (left ? [sop] : []))
        #expect(report.failed.isEmpty)
        // Either way the journal is done with it.
        #expect(try FileArchive.recover(configuration, index: index).replayed.isEmpty)
    }

    /// A row with a journal's placeholder, no file and no final record in any journal was written while its final
    /// record was being written, and its server crashed: never acknowledged, so the reconcile after the unclean
    /// stop removes it. Not while another server runs on the archive (it holds a journal slot): its commit may be
    /// writing that record at this moment, and the row is kept for a later reconcile.
    @Test func aReconcileRemovesATornPlaceholderRowOnlyWhenNoOtherServerRuns() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-torn-row")
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = try SQLiteIndex(archive: dir.path)
        let file = SampleImage.copy(rows: 20, sop: "1.2.826.0.1.3680043.10.1.95", study: "1.2.826.0.1.3680043.10.1.96",
                                    series: "1.2.826.0.1.3680043.10.1.97")
        let attributes = InstanceAttributes(file.dataSet)
        let relative = try FileArchive.Configuration(root: dir.path).naming.relativePath(for: attributes)
        try index.recordNow(InstanceRecord(attributes: attributes, filePath: relative, fileSize: 1000,
                                           fileHash: JournalChecksum.crc32c(7).indexHash(stream: 99), transferSyntaxUID: "1.2.840.10008.1.2.1",
                                           receivedAt: Timestamp.now(), callingAETitle: "T"))
        // Another server's journal: its slot's flock is held until it is gone.
        var other: IngestJournal? = try IngestJournal(root: dir.path)
        let whileRunning = try IndexMaintenance.reconcile(root: dir.path, index: index)
        #expect(whileRunning.inFlight == [relative] && whileRunning.removed.isEmpty)
        #expect(try index.filePathNow(ofInstance: attributes.sopInstanceUID) == relative)
        other?.close()
        other = nil
        let alone = try IndexMaintenance.reconcile(root: dir.path, index: index)
        #expect(alone.removed == [relative] && alone.inFlight.isEmpty)
        #expect(try index.filePathNow(ofInstance: attributes.sopInstanceUID) == nil)
    }

    /// After a crash and before the next start, acknowledged instances are in the journal with their rows but
    /// without files: `arca index check` says so (not "row without file"), and once recovery has put them in
    /// place the files agree with the rows.
    /// Journals written before 2026-12-06 (`legacy`) name the BLAKE3, which the row holds too; newer ones a
    /// CRC-32C, and the row a placeholder naming it and the instance's stream.
    @Test(arguments: [false, true]) func checkCountsJournaledInstancesAsPendingNotMissing(legacy: Bool) throws {
        let dir = try ExternalTool.temporaryDirectory("arca-journal-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        var instances: [(String, [UInt8])] = []
        var files: [DICOMFile] = []
        let index = try SQLiteIndex(archive: dir.path)
        let configuration = FileArchive.Configuration(root: dir.path)
        for n in 0..<3 {
            var file = SampleImage.secondaryCapture(rows: 16, columns: 16)
            let sop = "1.2.826.0.1.3680043.10.2.\(n)"
            file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
            file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
            instances.append((sop, try file.serialized()))
            files.append(file)
        }
        // In a scope of its own: the streams keep the journal (and its slot's lock) until they go.
        do {
            let (_, written) = try Self.writeJournal(root: dir.path, instances: instances, legacy: legacy)
            for (file, w) in zip(files, written) {
                // The row as the journaled commit writes it, before the materializer has run.
                let attributes = InstanceAttributes(file.dataSet)
                let checksum: JournalChecksum = legacy ? .blake3(BLAKE3.hash(w.bytes)) : .crc32c(CRC32C.checksum(w.bytes))
                try index.recordNow(InstanceRecord(
                    attributes: attributes, filePath: try configuration.naming.relativePath(for: attributes, fileExtension: ".dcm"),
                    fileSize: UInt64(w.bytes.count), fileHash: checksum.indexHash(stream: w.stream.stream),
                    transferSyntaxUID: "1.2.840.10008.1.2.1", receivedAt: "20261202T140000Z", callingAETitle: "TEST"))
            }
        }
        let before = try IndexMaintenance.check(root: dir.path, index: index)
        #expect(before.journaled.count == 3)
        #expect(before.isClean, "\(before.rowsWithoutFiles)")
        #expect(try FileArchive.recover(configuration, index: index).replayed.count == 3)
        let after = try IndexMaintenance.check(root: dir.path, index: index)
        #expect(after.journaled.isEmpty && after.checked == 3 && after.isClean)
        // A row whose instance is neither in a file nor in a journal is still reported.
        var lost = SampleImage.secondaryCapture(rows: 4, columns: 4)
        lost.dataSet.setString("1.2.826.0.1.3680043.10.2.99", for: .sopInstanceUID, vr: .UI)
        let attributes = InstanceAttributes(lost.dataSet)
        try index.recordNow(InstanceRecord(attributes: attributes, filePath: "lost.dcm", fileSize: 10, fileHash: String(repeating: "0", count: 64),
                                           transferSyntaxUID: "1.2.840.10008.1.2.1", receivedAt: "20261202T140000Z", callingAETitle: "TEST"))
        #expect(try IndexMaintenance.check(root: dir.path, index: index).rowsWithoutFiles == ["lost.dcm"])
    }
}
