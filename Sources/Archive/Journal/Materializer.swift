import BLAKE3
import CArcaIO
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gives acknowledged instances their final layout in the background: each one's pieces are copied from the
/// journal into a file under `.incoming/` (O_DIRECT, no fsync), renamed to the name the naming scheme gave
/// it; then one `syncfs` makes the whole batch durable (files, folder entries, the index's WAL; for an index on
/// a database server, `makeRowsDurable`), and only then are the instances' journal pieces released so their
/// segments can be recycled. A reader that wants an
/// instance not yet materialized waits for it (`waitMaterialized`): a batch takes a few milliseconds.
public final class Materializer: @unchecked Sendable {
    public struct Job: Sendable {
        public let stream: JournalStream
        public let relativePath: String
        /// The file an accepted replacement supersedes (removed once the new one is in place).
        public let replacedPath: String?
        /// The instance's row holds a placeholder for its hash until it is copied here (nil: it has its BLAKE3).
        public let pending: PendingHash?
        /// The journal space its records take (read once, on the committing thread that owns the stream).
        let size: UInt64
        /// When it was queued.
        var queuedAt = Date.distantPast
        /// In place, in a batch whose rows could not be made durable yet: not copied again when it is retried.
        var placed = false
        /// Its BLAKE3 (hex), computed as it was copied into place.
        var hash: String?

        public init(stream: JournalStream, relativePath: String, replacedPath: String?, pending: PendingHash? = nil) {
            self.stream = stream
            self.relativePath = relativePath
            self.replacedPath = replacedPath
            self.pending = pending
            size = stream.pieces.reduce(0) { $0 + UInt64(JournalLayout.blocks(JournalLayout.recordHeaderSize + $1.length)) }
        }
    }

    /// A row whose hash waits for the materializer, and the CRC-32C its bytes were acknowledged with (checked as
    /// they are read back: a journal damaged since is not placed with a BLAKE3 of the damage).
    public struct PendingHash: Sendable {
        public let sopInstanceUID: String
        public let placeholder: String
        public let crc: UInt32

        public init(sopInstanceUID: String, placeholder: String, crc: UInt32) {
            self.sopInstanceUID = sopInstanceUID
            self.placeholder = placeholder
            self.crc = crc
        }
    }

    /// At most this many instances per syncfs: a batch's readers wait for the whole batch.
    static let maxBatch = 64
    /// How long the first queued instance waits for others to share its syncfs, unless a reader waits for it
    /// or the journal is short of space. One syncfs per instance (what a single association got without the
    /// wait) made the device flush twice per instance and slowed the acknowledgements it shares the disk with.
    static let batchDelay = 0.05
    /// How long a burst of acknowledgements holds materialization back. While instances keep coming (the last
    /// one less than `quietPeriod` seconds ago) no batch starts: its reads of the journal, writes of the files and
    /// syncfs would share the device with the acknowledgements' record writes and flushes (a device flush waits
    /// for them: fdatasync p50 1.8 ms beside the materializer against 0.9 ms without, 500 × 512 KB, 2026-12-03),
    /// and the CPU with their transfers. A burst is materialized once it pauses, unless an instance has waited
    /// `maxHold` seconds (a stream that never pauses: then each instance is put in place that long after it came),
    /// the backlog reaches `limit` bytes of journal, a reader waits for an instance (here, or on another node
    /// sharing the index: `PlacementNotices`), or the journal is short of space.
    struct Hold: Sendable {
        var quietPeriod = 0.1
        var maxHold = 5.0
        /// At most `burstLimit` waits for a pause, and at most half of the journal's segments but two (the one
        /// being filled and a spare): none on a journal of three or fewer.
        var limit: UInt64

        /// 1 GiB: a study of 2,000 CT slices. At 256 MiB, 1,000 slices of 512 KB over four associations
        /// (525 MB) passed it halfway, and materializing the rest beside the burst cost a third of its rate
        /// (deferred 367–457/s against 534–591/s held whole, strict 338–343 against 442–493/s, 2026-12-06).
        /// What it costs: recovery after a crash replays at most this much journal, and the journal keeps the
        /// segments a held burst needed (section "Measured choices" of ARCHITECTURE.md).
        static let burstLimit: UInt64 = 1 << 30

        /// The limit for a journal of `segments` segments of `segmentSize` bytes at most.
        static func limit(segments: Int, segmentSize: Int) -> UInt64 {
            min(burstLimit, UInt64(max(0, segments - 2) / 2) * UInt64(max(0, segmentSize)))
        }
    }
    private var hold: Hold
    /// Until then no hold: the journal was short of space (a store waits for a recycled segment: `IngestJournal.RoomWait`).
    private var pressureUntil = Date.distantPast

    let root: String
    let journal: IngestJournal
    let pool: AlignedBufferPool
    let createDirectories: Bool
    /// Called with each materialized file's absolute path before the batch is synced (the eDCKV spool of
    /// `files,dckv`).
    let afterPlace: (@Sendable (_ absolutePath: String) throws -> Void)?
    /// eDCKV only: instances are spooled from the copy instead of becoming files.
    let spool: FileArchive.SpoolPlacement?
    /// The index the instances' rows are in: its rows made durable before the journal lets them go.
    let index: (any InstanceIndex)?
    /// Other nodes may replace what this one holds (a shared index, `--duplicate replace`): a file goes in place
    /// only while its row still names it (`InstanceIndex.placeIfCurrent`); a copy replaced since is dropped.
    let placesOnlyCurrentRows: Bool
    /// Copies not put in place because their row named a newer one by then (under `condition`).
    private var supersededCount = 0
    public var superseded: Int { locked { supersededCount } }
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var pendingPaths: [String: Int] = [:]
    private var waiters: [String: [@Sendable () -> Void]] = [:]
    private var running = 0
    private var stopping = false
    /// Readers blocked in `waitMaterialized`, and a retry asked (disk pressure): the batch starts at once.
    private var readersWaiting = 0
    private var hurry = false
    /// A reader on another node asked for what this node holds (`PlacementNotices`): this many instances, every
    /// one whose commit had begun (`expect`) by then, queued or about to be, are placed without waiting for the
    /// burst to pause. A count, not a moment: an instance whose row another node read may not be queued yet.
    private var owed = 0
    /// Nodes sharing the index: asked by their readers, told of each batch placed.
    let notices: (any PlacementNotices)?
    /// Callers of `drain` waiting.
    private var draining = 0
    /// When the newest queued instance was queued (the oldest is the queue's first).
    private var lastQueued: Date?
    /// How many queued instances the current hold keeps back; nil while not holding.
    private var holding: Int?
    /// Callers of `waitHolding`: while there are any, every queued instance wakes them.
    private var holdWaiters = 0
    /// Journal bytes of the queued instances.
    private var queuedBytes: UInt64 = 0
    private var thread: Thread?
    private let rootFD: Int32
    /// The last failure (disk full while materializing): the jobs stay queued and are retried.
    public var lastError: ArchiveError? { locked { failure } }
    /// Instances materialized and syncfs calls made (benchmarks: flushes per instance).
    public var materialized: Int { locked { placed } }
    public var syncCount: Int { locked { syncs } }
    private var failure: ArchiveError?
    /// Set (for good) once a `syncfs` failed: some write-back was lost, and a later `syncfs` reports success
    /// without having written it (the error is reported once). From then on no instance lets its journal segments
    /// go: the journal keeps every record until the next start replays them (only the materializer's thread).
    private var writeBackLost: ArchiveError?
    private var placed = 0
    private var syncs = 0

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    init(root: String, journal: IngestJournal, pool: AlignedBufferPool, createDirectories: Bool,
         afterPlace: (@Sendable (String) throws -> Void)?, spool: FileArchive.SpoolPlacement? = nil,
         index: (any InstanceIndex)? = nil, placesOnlyCurrentRows: Bool = false) {
        self.root = root
        self.index = index
        self.placesOnlyCurrentRows = placesOnlyCurrentRows
        self.spool = spool
        self.journal = journal
        self.pool = pool
        self.createDirectories = createDirectories
        self.afterPlace = afterPlace
        hold = Hold(limit: Hold.limit(segments: journal.maxSegments, segmentSize: journal.segmentSize))
        rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        notices = index?.placementNotices
        journal.onPressure = { [weak self] in self?.retryNow() }
        notices?.whenRequested { [weak self] in self?.placeNow() }
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "arca.materializer"
        self.thread = thread
        thread.start()
    }

    deinit { if rootFD >= 0 { close(rootFD) } }

    /// Told (on the materializer's thread) what goes wrong: an instance damaged in the journal, a failure that
    /// keeps batches from completing (once, not at each retry). The server logs it.
    private var report: (@Sendable (String) -> Void)?

    public func setReporter(_ report: @escaping @Sendable (String) -> Void) {
        condition.lock()
        self.report = report
        condition.unlock()
    }

    /// Another hold policy (tests).
    func setHold(_ policy: Hold) {
        condition.lock()
        hold = policy
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the pause after a failure (the journal is short of space: the backlog may fit now).
    public func retryNow() {
        condition.lock()
        hurry = true
        pressureUntil = Date(timeIntervalSinceNow: 2)
        condition.broadcast()
        condition.unlock()
    }

    /// A reader on another node waits for an instance this node may hold: what is queued now is placed at once.
    func placeNow() {
        condition.lock()
        owed = max(owed, pendingPaths.values.reduce(0, +))
        condition.broadcast()
        condition.unlock()
    }

    /// Queues an acknowledged instance; from now on `isPending(path)` is true until it is durable in place.
    /// Queues an instance announced with `expect` (its path already pending).
    func enqueue(_ job: Job) {
        var job = job
        condition.lock()
        let now = Date()
        job.queuedAt = now
        lastQueued = now
        queue.append(job)
        let before = queuedBytes
        queuedBytes += job.size
        // The thread is woken only when this job can change its plan: a queue that was empty (it waits without
        // a deadline), a batch now full, the hold's limit now reached. Otherwise it finds the job when its
        // timed wait ends (a hold then runs on from `lastQueued`). A wake-up per instance cost two context
        // switches of every C-STORE, 8 KB ones at 2,000 a second.
        if queue.count == 1 || queue.count == Self.maxBatch || (before < hold.limit && queuedBytes >= hold.limit) || holdWaiters > 0 {
            condition.broadcast()
        }
        condition.unlock()
    }

    /// An instance whose commit has begun: from now on a reader of its path waits for its file (its row may be
    /// seen before the commit ends), until it is materialized or `withdraw`n.
    func expect(_ relativePath: String) {
        condition.lock()
        pendingPaths[relativePath, default: 0] += 1
        condition.unlock()
    }

    /// A commit announced with `expect` failed: its readers stop waiting (and find what is there). When it was
    /// the path's last, the callbacks waiting for the path run now: they wait for an earlier copy, placed while
    /// this one was pending (`duplicate: replace`), and nothing else would run them.
    func withdraw(_ relativePath: String) {
        condition.lock()
        var ready: [@Sendable () -> Void] = []
        if let n = pendingPaths[relativePath], n > 1 { pendingPaths[relativePath] = n - 1 } else {
            pendingPaths.removeValue(forKey: relativePath)
            ready = waiters.removeValue(forKey: relativePath) ?? []
        }
        condition.broadcast()
        condition.unlock()
        for body in ready { body() }
    }

    /// Nothing queued and no batch running (tests, a clean stop).
    public var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return queue.isEmpty && running == 0
    }

    public func isPending(_ relativePath: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return pendingPaths[relativePath] != nil
    }

    /// Blocks (a reader's I/O thread) until the file at `relativePath` is in place, or `timeout` seconds passed:
    /// a materializer that cannot place it (the disk full) then leaves the reader to find no file and fail, instead
    /// of holding one of the pool's threads (two on these machines) until it can.
    public func waitMaterialized(_ relativePath: String, timeout: Double = 30) {
        condition.lock()
        defer { condition.unlock() }
        guard pendingPaths[relativePath] != nil else { return }
        readersWaiting += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while pendingPaths[relativePath] != nil && !stopping {
            if !condition.wait(until: deadline) { break }
        }
        readersWaiting -= 1
    }

    /// Calls `body` once the file at `relativePath` is in place and durable (at once when it is already), on
    /// the materializer's thread: post-store hooks run on the file, never before it exists.
    public func whenMaterialized(_ relativePath: String, _ body: @escaping @Sendable () -> Void) {
        condition.lock()
        guard pendingPaths[relativePath] != nil, !stopping else {
            condition.unlock()
            body()
            return
        }
        waiters[relativePath, default: []].append(body)
        condition.unlock()
    }

    /// Blocks until everything queued is materialized (a clean stop, tests), or `timeout` seconds passed (a
    /// disk that stays full: what is left stays in the journal for the next start).
    public func drain(timeout: Double = 30) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        // Every batch at once until the queue is empty, not only the next one.
        draining += 1
        defer { draining -= 1 }
        condition.broadcast()
        while (!queue.isEmpty || running > 0) && !stopping {
            if !condition.wait(until: deadline) { return }
        }
    }

    /// Blocks until everything queued is materialized on the materializer's own schedule (no hurry: tests of its
    /// policy), or `timeout` seconds passed; answers whether it is idle.
    func waitIdle(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty || running > 0 {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    /// Blocks until the materializer holds back a burst of at least `count` queued instances, or `timeout` seconds
    /// passed; answers whether it does (tests of its policy: a pause of the test's own proved nothing on a loaded
    /// machine, where an unheld batch can take as long).
    func waitHolding(_ count: Int, timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        holdWaiters += 1
        defer { holdWaiters -= 1 }
        while holding == nil || queue.count < count {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    /// Drains, then stops the thread.
    public func stop() {
        drain()
        condition.lock()
        stopping = true
        let left = waiters.values.flatMap { $0 }
        waiters.removeAll()
        condition.broadcast()
        condition.unlock()
        left.forEach { $0() }
    }

    private func run() {
        condition.lock()
        while !stopping {
            if queue.isEmpty {
                condition.wait()
                continue
            }
            if readersWaiting == 0 && !hurry && draining == 0 && owed == 0, let oldest = queue.first?.queuedAt {
                let now = Date()
                if let last = lastQueued, queuedBytes < hold.limit, now >= pressureUntil {
                    let until = min(last.addingTimeInterval(hold.quietPeriod), oldest.addingTimeInterval(hold.maxHold))
                    if until > now {
                        // Held while the burst lasts; the journal gets a spare segment meanwhile, so a writer rarely
                        // zero-fills one on an acknowledgement's path (outside this lock: the journal calls
                        // `retryNow` under its own).
                        condition.unlock()
                        try? journal.prepareSpare()
                        condition.lock()
                        // A reader, a drain or the journal's pressure may have asked meanwhile (its wake-up missed).
                        if readersWaiting == 0 && !hurry && draining == 0 && owed == 0 {
                            holding = queue.count
                            condition.broadcast()  // `waitHolding`
                            _ = condition.wait(until: until)
                            holding = nil
                        }
                        continue
                    }
                }
                let due = oldest.addingTimeInterval(Self.batchDelay)
                if queue.count < Self.maxBatch && due > now {
                    _ = condition.wait(until: due)
                    continue
                }
            }
            hurry = false
            var batch = Array(queue.prefix(Self.maxBatch))
            running = batch.count
            condition.unlock()
            var done = 0
            var failure: ArchiveError?
            var damaged: [String] = []
            for i in batch.indices {
                do {
                    if !batch[i].placed { batch[i].hash = try place(batch[i]) }
                    done += 1
                } catch is DamagedInJournal {
                    // Set aside rather than retried for ever (the bytes will not heal, and every instance behind it
                    // would wait): released with the batch, placed nowhere; its row keeps its placeholder, which
                    // `arca index check` reports as a row without its file.
                    damaged.append(batch[i].relativePath)
                    batch[i].placed = true
                    done += 1
                } catch let e as ArchiveError {
                    failure = e
                    break
                } catch {
                    failure = .io("\(error)")
                    break
                }
            }
            // The rows' placeholders become the BLAKE3 computed in the copy, before the syncfs that makes the
            // rows durable (SQLite's WAL; PostgreSQL commits these synchronously). Called for every batch: SQLite
            // commits its pending rows first (`PendingRows`), among them the batch's own.
            let settled = batch.prefix(done).compactMap { job -> SettledHash? in
                guard let pending = job.pending, let hash = job.hash else { return nil }
                return SettledHash(sopInstanceUID: pending.sopInstanceUID, filePath: job.relativePath,
                                   placeholder: pending.placeholder, hash: hash)
            }
            if done > 0, let index {
                do { try index.settleHashes(settled) } catch {
                    failure = .outOfResources("index unavailable: hashes not recorded: \(error)")
                    keepPlaced(batch.prefix(done))
                    done = 0
                }
            }
            if done > 0 && arca_syncfs(rootFD) != 0 {
                let error = IncomingFile.error("syncfs", root, errno)
                failure = error
                if writeBackLost == nil {
                    writeBackLost = error
                    locked { self.report }?("syncfs failed (\(error)): what was written back may be lost, so the ingest journal now "
                                       + "keeps every record until the next start completes them again; restart the server once the disk is sound")
                }
                done = 0
            }
            if done > 0, let index {
                // Rows committed without their own flush (PostgreSQL) rely on the journal until this returns. When
                // it fails (the database is unreachable), the batch stays queued, in place, and only this is retried.
                do { try index.makeRowsDurable() } catch {
                    failure = .outOfResources("index unavailable: rows not made durable: \(error)")
                    keepPlaced(batch.prefix(done))
                    done = 0
                }
            }
            if writeBackLost == nil { for job in batch.prefix(done) { job.stream.releaseHeld() } }
            try? journal.prepareSpare()
            condition.lock()
            syncs += done > 0 ? 1 : 0
            placed += done
            queuedBytes -= batch.prefix(done).reduce(0) { $0 + $1.size }
            queue.removeFirst(done)
            var ready: [@Sendable () -> Void] = []
            for job in batch.prefix(done) {
                if let n = pendingPaths[job.relativePath], n > 1 { pendingPaths[job.relativePath] = n - 1 } else {
                    pendingPaths.removeValue(forKey: job.relativePath)
                    ready += waiters.removeValue(forKey: job.relativePath) ?? []
                }
            }
            running = 0
            // Announced to the nodes whose readers asked, while what they asked for is being placed.
            let announce = owed > 0 && done > 0
            owed = pendingPaths.isEmpty ? 0 : max(0, owed - done)
            let reportFailure = failure != nil && failure != self.failure
            self.failure = failure
            let report = self.report
            condition.broadcast()
            if report != nil && (!damaged.isEmpty || reportFailure) {
                condition.unlock()
                for path in damaged {
                    report?("the journal's bytes of \(path) read back do not have the CRC-32C they were acknowledged with "
                            + "(damaged on the device since): not placed; its row keeps a placeholder hash")
                }
                if reportFailure, let failure { report?("materializing failed, retrying every second: \(failure)") }
                condition.lock()
            }
            if !ready.isEmpty || announce {
                condition.unlock()
                ready.forEach { $0() }
                // Readers on other nodes look again (their file may be among these).
                if announce { notices?.announcePlaced() }
                condition.lock()
            }
            // Disk full or another failure: the jobs stay queued (their bytes are safe in the journal); retry in
            // a second rather than spin.
            if failure != nil && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: 1)) }
        }
        condition.unlock()
    }

    /// The first jobs of the queue (those of `placed`, in place) are not copied again when they are retried.
    private func keepPlaced(_ placed: ArraySlice<Job>) {
        condition.lock()
        for (i, job) in placed.enumerated() where i < queue.count {
            queue[i].placed = true
            queue[i].hash = job.hash
        }
        condition.unlock()
    }

    /// One instance: copied from the journal into a hidden file, then renamed into place (or, eDCKV only,
    /// spooled from it); answers the BLAKE3 (hex) of its bytes, computed on the way. Bytes without the CRC-32C
    /// they were acknowledged with throw `DamagedInJournal` and are placed nowhere.
    private func place(_ job: Job) throws -> String {
        do {
            if let spool, FileArchive.isEDCKVLocation(job.relativePath) {
                // Encoded into the spool straight from the journal: a Part-10 copy in between cost a write, a read
                // back from the device and an unlink per instance.
                let journal = self.journal
                let bytes = ChecksummedBytes(JournaledBytes(pieces: job.stream.pieces, descriptor: { journal.descriptor($0) }, pool: pool),
                                             expecting: job.pending.map { .crc32c($0.crc) })
                try Self.spool(bytes, expecting: job.relativePath, spool)
                guard let hash = bytes.blake3 else { throw ArchiveError.io("journal: \(job.relativePath) was not read whole") }
                return BLAKE3.hex(hash)
            }
            return try placeFile(job)
        } catch is ChecksumMismatch {
            throw DamagedInJournal()
        }
    }

    /// A job's bytes read back from the journal do not have their CRC-32C (the device damaged them since).
    struct DamagedInJournal: Error {}

    /// A file instance: copied into `.incoming/`, renamed into place, the file it replaces removed.
    private func placeFile(_ job: Job) throws -> String {
        let (temp, hash) = try Self.copy(job.stream.pieces, descriptor: { [journal] in journal.descriptor($0) },
                                         into: root + "/" + FileArchive.incomingFolder, pool: pool,
                                         expecting: job.pending.map { JournalChecksum.crc32c($0.crc) })
        do {
            let target = root + "/" + job.relativePath
            let folder = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
            if !Directory.exists(folder) {
                guard createDirectories else {
                    throw ArchiveError.io("folder \(job.relativePath) does not exist and create_directories is off")
                }
                try Directory.create(folder)
            }
            if placesOnlyCurrentRows, let index, let pending = job.pending {
                guard try index.placeIfCurrent(pending.sopInstanceUID, placeholder: pending.placeholder, { try Directory.rename(temp, target) }) else {
                    // Replaced on another node since: its copy is (or will be) the one in place.
                    unlink(temp)
                    locked { supersededCount += 1 }
                    return BLAKE3.hex(hash)
                }
            } else {
                try Directory.rename(temp, target)
            }
        } catch {
            unlink(temp)
            throw error
        }
        if let replaced = job.replacedPath, replaced != job.relativePath { try? Directory.remove(root + "/" + replaced) }
        try afterPlace?(root + "/" + job.relativePath)
        return BLAKE3.hex(hash)
    }

    /// Spools an instance into the eDCKV store, which must put it where the index row says.
    static func spool(_ bytes: some InstanceBytes, expecting location: String, _ spool: FileArchive.SpoolPlacement) throws {
        let stored = try spool.store(bytes, location)
        guard stored == location else {
            throw ArchiveError.io("the eDCKV store placed an instance at \(stored), its index row says \(location)")
        }
    }

    /// Copies an instance's pieces from the journal into a new hidden file in `directory`; answers its path and
    /// the BLAKE3 of its bytes. `expecting`: the checksum the bytes must have (the materializer's CRC-32C check;
    /// recovery, which reads the bytes here once instead of once to check and once to copy); other bytes throw
    /// `ChecksumMismatch` and leave no file.
    static func copy(_ pieces: [JournalPiece], descriptor: @escaping (Int) -> Int32, into directory: String,
                     pool: AlignedBufferPool, expecting checksum: JournalChecksum? = nil) throws -> (path: String, hash: [UInt8]) {
        var rng = SystemRandomNumberGenerator()
        let temp = directory + "/.part-\(getpid())-m\(String(rng.next() as UInt64, radix: 36))"
        var file = try DirectFile(creating: temp, pool: pool)
        do {
            var sums = JournalSums(expecting: checksum, blake3: true)
            try JournaledBytes(pieces: pieces, descriptor: descriptor, pool: pool).forEachPiece { piece in
                sums.update(piece)
                try file.append(piece)
            }
            let hash = try sums.finish()
            try file.writeAll()
            file.close()
            return (temp, hash)
        } catch {
            file.close()
            unlink(temp)
            throw error
        }
    }

    /// Journaled bytes without the checksum their final record names: never acknowledged (recovery), or damaged
    /// since.
    struct ChecksumMismatch: Error {}

    /// A piece's payload, read with its record (aligned, for O_DIRECT) into `buffer`.
    static func read(_ piece: JournalPiece, fd: Int32, into buffer: UnsafeMutableRawPointer, capacity: Int) throws
        -> UnsafeRawBufferPointer {
        let size = JournalLayout.blocks(JournalLayout.recordHeaderSize + piece.length)
        guard size <= capacity else { throw ArchiveError.io("journal: a record of \(size) bytes") }
        var done = 0
        while done < size {
            let n = pread(fd, buffer + done, size - done, off_t(piece.recordOffset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw IncomingFile.error("read", "journal", errno)
            }
            if n == 0 { throw ArchiveError.io("journal: a record past the segment's end") }
            done += n
        }
        return UnsafeRawBufferPointer(start: buffer + JournalLayout.recordHeaderSize, count: piece.length)
    }
}
