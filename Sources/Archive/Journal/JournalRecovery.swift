import BLAKE3
import CArcaIO
import DICOM
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Completes, on start and before anything is accepted, every store a journal holds: the journals of
/// processes that are gone (their slot's flock is free). A final record whose header is valid and whose
/// pieces are all present with the checksum it names (CRC-32C, or BLAKE3 in journals written before
/// 2026-12-06) was acknowledged (or could have been); anything else — a
/// record cut inside its header, its bytes or its checksum, a flipped byte — was never acknowledged and is
/// dropped. Instances are replayed in the order they were written (a later replacement wins), materialized,
/// indexed; one syncfs; then every segment is marked free.
public enum JournalRecovery {
    /// One complete instance found in a journal.
    public struct Found: Sendable, Equatable {
        public var final: FinalInfo
        public var pieces: [JournalPiece]
        /// The instance's stream (its index row's placeholder names it).
        public var stream: UInt64
        /// Write order: the segment's generation, then the final record's offset.
        public var generation: UInt64
        public var offset: Int
    }

    public struct Report: Sendable {
        /// Logs what the report holds; `who` says whose acknowledgement the completed instances had.
        public func log(to logger: Logger, acknowledged who: String) {
            for path in replayed { logger.notice("[JOURNAL] completed \(path) (acknowledged \(who))") }
            for failure in failed { logger.warning("[JOURNAL] could not complete \(failure.sop): \(failure.error)") }
            for sop in dropped { logger.notice("[JOURNAL] dropped \(sop): its bytes do not match its final record (never acknowledged)") }
            for sop in superseded { logger.notice("[JOURNAL] left \(sop): its row names a copy received after this one") }
        }

        public var replayed: [String] = []
        public var failed: [(sop: String, error: String)] = []
        /// Instances whose bytes do not have the checksum their final record names (a record damaged before its
        /// acknowledgement, or since): not replayed.
        public var dropped: [String] = []
        /// Instances whose row names a copy received after the journal's (a replacement acknowledged since): not
        /// replayed (`superseded(_:copyHash:by:)`).
        public var superseded: [String] = []
    }

    /// Scans one journal folder's segments; answers the complete instances in write order. `descriptors` maps
    /// the segment numbers of `pieces` to the open segment files (the caller closes them). `verify`: only those
    /// whose bytes have the checksum their final record names (a second read of every byte); recovery checks it
    /// as it copies them instead. `unreadable`: the segments with blocks that could not be read (each read as
    /// zeros): what they held cannot be known, so nothing may be concluded from its absence.
    public static func scan(directory: String, maxRecord: Int, verify: Bool = true) throws
        -> (found: [Found], descriptors: [Int: Int32], unreadable: [String]) {
        var descriptors: [Int: Int32] = [:]
        var unreadable: [String] = []
        var pieces: [UInt64: [JournalPiece]] = [:]
        var finals: [(Found, UInt64)] = []
        for (number, path) in IngestJournal.segmentFiles(in: directory) {
            let fd = arca_open_segment(path, 0)
            guard fd >= 0 else { throw IncomingFile.error("open", path, errno) }
            descriptors[number] = fd
            guard let header = IngestJournal.readHeader(fd), header.active else { continue }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw IncomingFile.error("stat", path, errno) }
            let size = Int(st.st_size) / JournalLayout.block * JournalLayout.block
            guard size > JournalLayout.block else { continue }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: JournalLayout.block)
            defer { buffer.deallocate() }
            let badBlocks = readWhole(fd, into: buffer, size: size)
            if badBlocks > 0 { unreadable.append("\(path): \(badBlocks) block(s) of \(JournalLayout.block) bytes unreadable") }
            let valid = size
            var at = JournalLayout.block
            while at + JournalLayout.recordHeaderSize <= valid {
                let bytes = UnsafeRawBufferPointer(start: buffer + at, count: JournalLayout.recordHeaderSize)
                guard let record = RecordHeader.decode(bytes, nonce: header.nonce, generation: header.generation),
                      record.recordSize <= maxRecord, at + record.recordSize <= valid else {
                    at += JournalLayout.block
                    continue
                }
                let piece = JournalPiece(segment: number, recordOffset: at, instanceOffset: record.offset, length: Int(record.length))
                pieces[record.stream, default: []].append(piece)
                if let final = record.final {
                    finals.append((Found(final: final, pieces: [], stream: record.stream, generation: header.generation, offset: at),
                                   record.stream))
                }
                at += record.recordSize
            }
        }
        var found: [Found] = []
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: maxRecord, alignment: JournalLayout.block)
        defer { buffer.deallocate() }
        for (candidate, stream) in finals.sorted(by: { ($0.0.generation, $0.0.offset) < ($1.0.generation, $1.0.offset) }) {
            let all = (pieces[stream] ?? []).sorted { $0.instanceOffset < $1.instanceOffset }
            // Contiguous from 0 to the instance's length, nothing missing, nothing twice.
            var expected: UInt64 = 0
            var complete = true
            for piece in all {
                if piece.instanceOffset != expected { complete = false; break }
                expected += UInt64(piece.length)
            }
            guard complete, expected == candidate.final.totalLength else { continue }
            if verify {
                var sums = JournalSums(expecting: candidate.final.checksum, blake3: false)
                var readable = true
                for piece in all {
                    guard let fd = descriptors[piece.segment],
                          let payload = try? Materializer.read(piece, fd: fd, into: buffer, capacity: maxRecord) else {
                        readable = false
                        break
                    }
                    sums.update(payload)
                }
                guard readable, (try? sums.finish()) != nil else { continue }
            }
            var instance = candidate
            instance.pieces = all
            found.append(instance)
        }
        return (found, descriptors, unreadable)
    }

    /// Reads `size` bytes (whole blocks) of a segment; answers how many blocks could not be read. After a read
    /// error (a sector a power loss left unreadable) or an early end, the rest is read block by block, a block
    /// that cannot be read taken as zeros (its records fail their checks): one read of the whole segment that
    /// failed found no record at all, and recovery then freed the segment with the acknowledged records it held.
    private static func readWhole(_ fd: Int32, into buffer: UnsafeMutableRawPointer, size: Int) -> Int {
        var done = 0
        while done < size {
            let n = pread(fd, buffer + done, size - done, off_t(done))
            if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        var bad = 0
        var at = done / JournalLayout.block * JournalLayout.block
        while at < size {
            var r: Int
            repeat { r = pread(fd, buffer + at, JournalLayout.block, off_t(at)) } while r < 0 && errno == EINTR
            if r != JournalLayout.block {
                (buffer + at).initializeMemory(as: UInt8.self, repeating: 0, count: JournalLayout.block)
                bad += 1
            }
            at += JournalLayout.block
        }
        return bad
    }

    /// Every complete instance the journals under `<root>/.journal/` hold now, read-only, held or not (a running
    /// server's journal too), by SOP Instance UID: for `arca index check` and the reconcile, an acknowledged
    /// instance may be in a journal and not yet in its file. One instance may be there more than once: a copy and
    /// its replacement, in one journal or in two nodes' (`copy(of:named:in:)` finds the one a row names).
    /// `complete` is false when a journal could not be read whole: an instance it may hold is then in doubt, and
    /// its absence here proves nothing.
    public static func journaled(root: String, maxRecord: Int = AlignedBufferPool.defaultBufferSize)
        -> (instances: [String: [Found]], complete: Bool) {
        var out: [String: [Found]] = [:]
        var complete = true
        for slot in slots(root: root) {
            guard let (found, descriptors, unreadable) = try? scan(directory: slot, maxRecord: maxRecord) else {
                complete = false
                continue
            }
            descriptors.values.forEach { close($0) }
            if !unreadable.isEmpty { complete = false }
            for instance in found { out[instance.final.sopInstanceUID, default: []].append(instance) }
        }
        return (out, complete)
    }

    /// The journaled copy of the instance whose row hash is `fileHash` (its placeholder, or for a journal written
    /// before 2026-12-06 its BLAKE3), if a journal holds it.
    public static func copy(of sopInstanceUID: String, named fileHash: String, in journaled: [String: [Found]]) -> Found? {
        journaled[sopInstanceUID]?.first { $0.final.checksum.indexHash(stream: $0.stream) == fileHash }
    }

    /// Journal slots no running process holds.
    public static func unheldSlots(root: String) -> [String] {
        slots(root: root).filter { slot in
            let lockFD = open(slot + "/lock", O_RDWR | O_CLOEXEC)
            guard lockFD >= 0 else { return true }
            defer { close(lockFD) }
            guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else { return false }
            flock(lockFD, LOCK_UN)
            return true
        }
    }

    /// The journal slot folders under `<root>/.journal/`, sorted.
    public static func slots(root: String) -> [String] {
        let base = root + "/" + IngestJournal.folder
        guard let dir = opendir(base) else { return [] }
        defer { closedir(dir) }
        var slots: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if Int(name) != nil { slots.append(base + "/" + name) }
        }
        return slots.sorted()
    }

    /// Recovers every journal under `<root>/.journal/` that no running process holds.
    public static func recover(root: String, naming: NamingScheme, fileExtension: String, createDirectories: Bool,
                               index: (any InstanceIndex)?, pool: AlignedBufferPool,
                               afterPlace: (@Sendable (String) throws -> Void)? = nil,
                               spool: FileArchive.SpoolPlacement? = nil, rowsFromFiles: Bool = false) throws -> Report {
        var report = Report()
        for slot in slots(root: root) {
            let lockFD = open(slot + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard lockFD >= 0 else { continue }
            defer { close(lockFD) }
            // Held: a running server's journal, not ours to touch.
            guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else { continue }
            defer { flock(lockFD, LOCK_UN) }
            try recoverSlot(slot, root: root, naming: naming, fileExtension: fileExtension, createDirectories: createDirectories,
                            index: index, pool: pool, afterPlace: afterPlace, spool: spool, rowsFromFiles: rowsFromFiles,
                            report: &report)
        }
        return report
    }

    /// Whether the instance's row names a copy received after this journaled one: a replacement acknowledged
    /// since, so replaying this copy would put older bytes back over it. A journal can hold such a copy when it was
    /// placed and then replaced while its segment stayed active (another instance still held the segment), or
    /// when a dead node acknowledged it and another node replaced it before taking the journal over. A row naming
    /// this copy (its placeholder, or the BLAKE3 of its bytes), no row, or a row received before it (an older copy
    /// whose replacement's row a crash lost before it was durable) is no such thing: the copy is replayed. So is a
    /// copy whose time cannot be ordered against the row's (received in the same millisecond, or a time written
    /// otherwise): losing an acknowledged instance would be worse than a stale one, which `arca index check`
    /// reports.
    static func superseded(_ instance: Found, copyHash: String, by row: IndexedCopy?) -> Bool {
        guard let row else { return false }
        if row.fileHash == copyHash || row.fileHash == instance.final.checksum.indexHash(stream: instance.stream) { return false }
        guard let rowTime = Timestamp.orderKey(row.receivedAt), let copyTime = Timestamp.orderKey(instance.final.receivedAt) else {
            return false
        }
        return rowTime > copyTime
    }

    private static func recoverSlot(_ slot: String, root: String, naming: NamingScheme, fileExtension: String,
                                    createDirectories: Bool, index: (any InstanceIndex)?, pool: AlignedBufferPool,
                                    afterPlace: (@Sendable (String) throws -> Void)?, spool: FileArchive.SpoolPlacement?,
                                    rowsFromFiles: Bool, report: inout Report) throws {
        // Each instance's bytes are read twice: the scan reads every segment whole (for the records' headers), and
        // the copy checks the checksum (and computes the BLAKE3 the row keeps) as it writes the file. A third read,
        // to check first, made recovery 10-25% slower (186-207 instances of 525 KB a second from a cold cache,
        // against 220-233).
        let (found, descriptors, unreadable) = try scan(directory: slot, maxRecord: pool.bufferSize, verify: false)
        defer { descriptors.values.forEach { close($0) } }
        // What an unreadable block held is unknown: the slot is kept as it is for the next start (a failure).
        for segment in unreadable { report.failed.append((sop: "journal segment", error: segment)) }
        let incoming = root + "/" + FileArchive.incomingFolder
        try Directory.create(incoming)
        for instance in found {
            let sop = instance.final.sopInstanceUID
            do {
                let (temp, hash): (String, [UInt8])
                do {
                    (temp, hash) = try Materializer.copy(instance.pieces, descriptor: { descriptors[$0] ?? -1 }, into: incoming,
                                                         pool: pool, expecting: instance.final.checksum)
                } catch is Materializer.ChecksumMismatch {
                    report.dropped.append(sop)
                    continue
                }
                do {
                    // One look at the row: whether this copy was replaced since, and where the row's file is.
                    let row = try index?.indexedCopyNow(ofInstance: sop)
                    if !rowsFromFiles, superseded(instance, copyHash: BLAKE3.hex(hash), by: row) {
                        unlink(temp)
                        report.superseded.append(sop)
                        continue
                    }
                    let dataSet = try DICOMFile.read(path: temp, options: .headerOnly).dataSet
                    let attributes = InstanceAttributes(dataSet)
                    let previous = row?.filePath
                    let relative: String
                    if let spool {
                        relative = try spool.location(attributes)
                        try Materializer.spool(FileBytes(path: temp), expecting: relative, spool)
                        unlink(temp)
                    } else {
                        relative = try naming.relativePath(for: attributes, fileExtension: fileExtension)
                        let target = root + "/" + relative
                        let folder = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
                        if !Directory.exists(folder) {
                            guard createDirectories else { throw ArchiveError.io("folder of \(relative) missing, create_directories off") }
                            try Directory.create(folder)
                        }
                        try Directory.rename(temp, target)
                        try afterPlace?(target)
                    }
                    if let previous, previous != relative, !FileArchive.isEDCKVLocation(previous) {
                        try? Directory.remove(root + "/" + previous)
                    }
                    try index?.recordNow(InstanceRecord(
                        attributes: attributes, filePath: relative, fileSize: instance.final.totalLength,
                        fileHash: BLAKE3.hex(hash), transferSyntaxUID: instance.final.transferSyntaxUID,
                        receivedAt: instance.final.receivedAt, callingAETitle: instance.final.callingAETitle))
                    report.replayed.append(relative)
                } catch {
                    unlink(temp)
                    throw error
                }
            } catch {
                report.failed.append((sop, "\(error)"))
            }
        }
        // Everything replayed is durable before the journal forgets it; a failure leaves the journal as it is
        // (the next start tries again).
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw IncomingFile.error("open", root, errno) }
        defer { close(rootFD) }
        guard arca_syncfs(rootFD) == 0 else { throw IncomingFile.error("syncfs", root, errno) }
        guard report.failed.isEmpty else { return }
        let block = UnsafeMutableRawPointer.allocate(byteCount: JournalLayout.block, alignment: JournalLayout.block)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 0, count: JournalLayout.block)
        // Oldest first: a power loss in this loop leaves active only segments newer than those it freed, so the
        // next start cannot replay an older copy whose replacement's segment was already freed (the order of a
        // dictionary's walk could, and then only the reception times, which may tie, told them apart).
        let active = descriptors.compactMap { number, fd in
            IngestJournal.readHeader(fd).flatMap { $0.active ? (number, fd, $0) : nil }
        }.sorted { $0.2.generation < $1.2.generation }
        for (number, fd, header) in active {
            SegmentHeader(active: false, nonce: header.nonce, generation: header.generation)
                .encode(into: UnsafeMutableRawBufferPointer(start: block, count: JournalLayout.block))
            try IngestJournal.writeAll(fd, UnsafeRawBufferPointer(start: block, count: JournalLayout.block), at: 0,
                                       path: slot + "/seg-\(number)")
            guard fdatasync(fd) == 0 else { throw IncomingFile.error("fdatasync", slot, errno) }
        }
    }
}
