import BLAKE3
import DICOM
import NIOConcurrencyHelpers
import NIOPosix

/// The archive on disk: names files by the scheme, applies the duplicate policy atomically, and commits
/// durably — file fsynced, renamed into place, folder fsynced, index committed — before reporting success.
public final class FileArchive: Sendable {
    public struct Configuration: Sendable {
        public var root: String
        public var naming: NamingScheme
        public var duplicatePolicy: DuplicatePolicy
        public var createDirectories: Bool
        public var fileExtension: String
        /// The ingest journal's acknowledgement rule; nil: no journal (each instance is committed in place:
        /// fdatasync, rename, folder fsync, index commit).
        public var journal: Durability?
        /// eDCKV only (`--store dckv`): acknowledged instances go from the journal into the eDCKV spool, not
        /// into files.
        public var spool: SpoolPlacement?

        public init(root: String, naming: NamingScheme = .uidHierarchical, duplicatePolicy: DuplicatePolicy = .reject,
                    createDirectories: Bool = true, fileExtension: String = ".dcm", journal: Durability? = .strict) {
            self.root = root
            self.naming = naming
            self.duplicatePolicy = duplicatePolicy
            self.createDirectories = createDirectories
            self.fileExtension = fileExtension
            self.journal = journal
        }
    }

    /// How journaled instances reach the eDCKV store when it is the only store (the store lives in a module
    /// above this one).
    public struct SpoolPlacement: Sendable {
        /// The index location of an instance: `dckv/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>`.
        public var location: @Sendable (InstanceAttributes) throws -> String
        /// Spools an instance's Part-10 bytes into the study folder of `location` (where its index row says);
        /// answers the location the store gave it. Called by the journal's materializer and its recovery, each of
        /// which ends with a syncfs before the journal forgets the instance: the spool need not fsync each file.
        public var store: @Sendable (_ bytes: any InstanceBytes, _ location: String) throws -> String

        public init(location: @escaping @Sendable (InstanceAttributes) throws -> String,
                    store: @escaping @Sendable (_ bytes: any InstanceBytes, _ location: String) throws -> String) {
            self.location = location
            self.store = store
        }
    }

    public enum CommitResult: Sendable, Equatable {
        case stored(path: String)
        case replaced(path: String)
        /// Duplicate under the `ignore` policy: nothing changed.
        case ignored(path: String)
    }

    public let configuration: Configuration
    public let index: (any InstanceIndex)?
    /// Staging buffers of the incoming files' direct writes.
    public let writeBuffers: AlignedBufferPool
    /// SOP Instance UIDs being committed right now, each with the commits waiting their turn, so two senders of
    /// one instance are decided one at a time.
    private let inFlight = NIOLockedValueBox<[String: [CheckedContinuation<Void, Never>]]>([:])
    /// The rows this process recorded lately: what tells whether an early duplicate lookup still holds.
    private let recentRows: RecentRows
    /// The claims this node's commits hold on an index several nodes share, renewed while they run.
    private let claims: ClaimRenewer?
    /// The ingest journal and its materializer (nil without a journal).
    public let journal: IngestJournal?
    public let materializer: Materializer?
    /// What recovery completed on start.
    public let recovery: JournalRecovery.Report

    public static let incomingFolder = ".incoming"
    /// The eDCKV store's root inside the archive; index rows of its instances start with this folder.
    public static let edckvFolder = "dckv"

    public static func isEDCKVLocation(_ relativePath: String) -> Bool { relativePath.hasPrefix(edckvFolder + "/") }

    /// `afterPlace`: called for each journaled instance once its file is in place, before the batch is synced
    /// (with `files,dckv`, the eDCKV spool is filled from the file there, off the acknowledgement path).
    public init(configuration: Configuration, index: (any InstanceIndex)?,
                afterPlace: (@Sendable (_ absolutePath: String) throws -> Void)? = nil) throws {
        self.configuration = configuration
        self.index = index
        claims = index.flatMap { index in index.claimLease.map { ClaimRenewer(index: index, lease: $0) } }
        let recentRows = RecentRows()
        self.recentRows = recentRows
        // An index that commits journaled rows later counts each row twice, queued and committed (another
        // process's lookup begun in between must not hold), so each is noted twice too: at the commit here and
        // when queued (`recordRow`: this process's next lookup must not hold either).
        index?.observeJournaledCommits { sops in for sop in sops { recentRows.noted(sop) } }
        let writeBuffers = AlignedBufferPool()
        self.writeBuffers = writeBuffers
        try Directory.create(configuration.root + "/" + Self.incomingFolder)
        IncomingFile.removeAbandoned(in: configuration.root + "/" + Self.incomingFolder)
        if let durability = configuration.journal {
            recovery = try Self.recover(configuration, index: index, pool: writeBuffers, afterPlace: afterPlace)
            let journal = try IngestJournal(root: configuration.root, durability: durability)
            self.journal = journal
            materializer = Materializer(root: configuration.root, journal: journal, pool: writeBuffers,
                                        createDirectories: configuration.createDirectories, afterPlace: afterPlace,
                                        spool: configuration.spool, index: index,
                                        placesOnlyCurrentRows: index?.isReadByOtherNodes == true && configuration.duplicatePolicy == .replace)
        } else {
            recovery = JournalRecovery.Report()
            journal = nil
            materializer = nil
        }
    }

    /// Completes the stores of journals no running process holds (before anything new is accepted). Also run
    /// by the server before it reconciles the index with the files, so that nothing acknowledged looks missing.
    /// `rowsFromFiles`: the index was just rebuilt from the files, so its rows' reception times are the files'
    /// modification times and say nothing of which copy came last (`JournalRecovery.superseded` is not asked).
    public static func recover(_ configuration: Configuration, index: (any InstanceIndex)?,
                               pool: AlignedBufferPool = AlignedBufferPool(maxKept: 2),
                               afterPlace: (@Sendable (String) throws -> Void)? = nil,
                               rowsFromFiles: Bool = false) throws -> JournalRecovery.Report {
        try JournalRecovery.recover(root: configuration.root, naming: configuration.naming, fileExtension: configuration.fileExtension,
                                    createDirectories: configuration.createDirectories, index: index, pool: pool,
                                    afterPlace: afterPlace, spool: configuration.spool, rowsFromFiles: rowsFromFiles)
    }

    deinit { close() }

    /// Stops the materializer once everything acknowledged is in place, and flushes the journal (a clean stop).
    public func close() {
        materializer?.stop()
        // Everything placed: nothing is left for the next start to replay. A materializer that could not finish
        // (the disk full) leaves its instances held, and their segments active.
        if let journal, materializer?.isIdle ?? true { journal.retireUnheld() }
        journal?.close()
    }

    /// A new journal stream for one instance's bytes (nil without a journal).
    public func journalStream() -> JournalStream? {
        journal.map { JournalStream(journal: $0, pool: writeBuffers) }
    }

    /// Where an instance goes, relative to the root: the naming scheme's file, or its eDCKV location.
    public func relativePath(for attributes: InstanceAttributes) throws -> String {
        if let spool = configuration.spool { return try spool.location(attributes) }
        return try configuration.naming.relativePath(for: attributes, fileExtension: configuration.fileExtension)
    }

    /// An index lookup made before the commit that found no row for the instance, and why that still holds.
    public struct EarlyLookup: Sendable {
        enum Proof: Sendable {
            /// Looked up while the bytes arrived: holds when no row of it was recorded since (`RecentRows`).
            case noRowSince(RecentRows.Mark)
            /// Looked up with the cross-node claim (`InstanceClaim.claimedNew`): holds while the claim does.
            case claimed
        }
        let sopInstanceUID: String
        let proof: Proof
    }

    /// Whether `lookUpEarly` can answer: an index that counts the rows every process records (SQLite; on
    /// PostgreSQL, where other nodes record, the lookup stays inside the cross-node claim).
    public var looksUpEarly: Bool { index?.recordedRowCount != nil }

    /// Blocking, on an I/O thread (the instance's writer, while its bytes arrive): the duplicate lookup of a
    /// C-STORE larger than the sink keeps back (`ArchiveSink.holdLimit`), made once it passes that, so that the
    /// commit after the last byte need not wait for it (0.17 ms of a 1.3–1.6 ms commit, measured on 512 KB
    /// slices); a small instance is looked up in its commit's one trip. Nil when the instance has a row (the
    /// commit looks again: the policy decides there) or when the lookup failed.
    public func lookUpEarly(_ sop: String) -> EarlyLookup? {
        guard let index, let mark = recentRows.mark(allRows: index.recordedRowCount) else { return nil }
        do {
            guard try index.certainlyAbsent(sop) || index.filePathNow(ofInstance: sop) == nil else { return nil }
        } catch {
            return nil
        }
        return EarlyLookup(sopInstanceUID: sop, proof: .noRowSince(mark))
    }

    /// Runs `body` while holding the SOP Instance UID: one commit per instance at a time, a second concurrent
    /// sender waits its turn (resumed by the first one's end, no polling).
    public func claimed<T: Sendable>(_ sop: String, _ body: () async throws -> T) async throws -> T {
        let free = inFlight.withLockedValue { claims -> Bool in
            guard claims[sop] == nil else { return false }
            claims[sop] = []
            return true
        }
        if !free {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = inFlight.withLockedValue { claims -> Bool in
                    guard claims[sop] != nil else {
                        claims[sop] = []
                        return true
                    }
                    claims[sop]?.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        }
        defer { unclaim(sop) }
        return try await body()
    }

    /// The journaled commit, blocking, on the instance writer's thread after its last append: the duplicate
    /// policy, the final record, one group-committed flush (strict), the index row, and the instance queued for
    /// materialization. Call it inside `claimed`.
    ///
    /// A new instance's row is written while the device takes the last records and, in strict mode, their flush
    /// (the writes' queue starts it once the final record is written), and taken back if they fail. Its row may
    /// so be seen a moment before its bytes are written (a reader waits for its file, as for any instance not yet
    /// materialized), and a crash in that moment leaves a row without a file and without a final record, which
    /// the reconcile after an unclean stop removes: nothing unacknowledged survives. A replacement keeps the order
    /// (row after bytes), for an earlier row cannot be taken back; so does every row on an index other nodes
    /// share, where the row also ends the cross-node claim.
    ///
    /// `crc`: the CRC-32C of the instance's bytes, which its final record names; its row's hash is a placeholder
    /// until the materializer has computed the BLAKE3.
    public func commitNow(journaled stream: JournalStream, relative: String, attributes: InstanceAttributes,
                          transferSyntaxUID: String, callingAETitle: String, receivedAt: String, crc: UInt32,
                          early: EarlyLookup? = nil) throws -> CommitResult {
        guard let journal, let materializer else { throw ArchiveError.io("no ingest journal") }
        // Refused now, as a commit in place refuses it: acknowledged, the instance could never be put in place,
        // and the materializer would retry it for ever with every instance behind it waiting.
        if !configuration.createDirectories && !Self.isEDCKVLocation(relative) {
            let target = configuration.root + "/" + relative
            guard Directory.exists(String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])) else {
                throw ArchiveError.io("folder \(relative) does not exist and create_directories is off")
            }
        }
        let sop = attributes.sopInstanceUID
        let existing = try existingLocation(sop, target: configuration.root + "/" + relative, relative: relative, early: early)
        if let existing, try !duplicateAccepted(sop, existing: existing) { return .ignored(path: existing) }
        let final = FinalInfo(sopInstanceUID: sop, transferSyntaxUID: transferSyntaxUID, callingAETitle: callingAETitle,
                              receivedAt: receivedAt, totalLength: stream.size, checksum: .crc32c(crc))
        // The row's hash is a placeholder until the materializer has hashed the bytes (BLAKE3 off the
        // acknowledgement's path).
        let placeholder = final.checksum.indexHash(stream: stream.stream)
        let record = InstanceRecord(attributes: attributes, filePath: relative, fileSize: final.totalLength,
                                    fileHash: placeholder, transferSyntaxUID: transferSyntaxUID,
                                    receivedAt: receivedAt, callingAETitle: callingAETitle)
        // Readers of the path wait from here on, until the file is in place or the commit failed.
        materializer.expect(relative)
        // On an index other nodes share, the row ends the instance's claim: it waits for the bytes to be written
        // (and in strict mode flushed), for from then on another node may find it and act on it (replace it,
        // refuse a duplicate of it), and a failed write could no longer take it back safely.
        let overlapped = existing == nil && index?.isReadByOtherNodes != true
        do {
            try stream.submitFinal(final)
            if overlapped { try recordRow(record, whileWriting: stream) }
            do {
                let sequence = try stream.waitWritten()
                if journal.durability == .strict { try journal.waitDurable(sequence) } else { try journal.keepWithinBound(sequence) }
            } catch {
                if overlapped { try? index?.removeNow(instance: sop) }
                throw error
            }
            if !overlapped { try recordRow(record, whileWriting: nil) }
        } catch {
            materializer.withdraw(relative)
            throw error
        }
        materializer.enqueue(Materializer.Job(stream: stream, relativePath: relative,
                                              replacedPath: existing.flatMap { Self.isEDCKVLocation($0) ? nil : $0 },
                                              pending: .init(sopInstanceUID: sop, placeholder: placeholder, crc: crc)))
        return existing == nil ? .stored(path: relative) : .replaced(path: relative)
    }

    /// The index row of a journaled commit; with `stream`, its records are still being written: a failure waits
    /// for them before the stream is given up. Without, the instance is durable and the row ends its claim.
    /// The journal holds the instance until the materializer has made the row durable (`makeRowsDurable`), so
    /// the row's commit need not wait for its own flush.
    private func recordRow(_ record: InstanceRecord, whileWriting stream: JournalStream?) throws {
        guard let index else { return }
        do { try index.recordJournaled(record, endingClaim: stream == nil) } catch {
            _ = try? stream?.waitWritten()
            throw ArchiveError.outOfResources("index unavailable: \(error)")
        }
        recentRows.noted(record.attributes.sopInstanceUID)
    }

    /// The archived location of an instance: none when an early lookup found none and still holds (no row of it
    /// recorded since, or the cross-node claim that looked it up is held); else the index's row, or without an
    /// index a file at the target.
    private func existingLocation(_ sop: String, target: String, relative: String, early: EarlyLookup?) throws -> String? {
        if let early, early.sopInstanceUID == sop {
            switch early.proof {
            case .claimed: return nil
            case .noRowSince(let mark): if recentRows.noneSince(mark, of: sop, allRows: index?.recordedRowCount) { return nil }
            }
        }
        if let index {
            // A new instance, as most are: the index's UIDs in memory say so without a lookup.
            if index.certainlyAbsent(sop) { return nil }
            do { return try index.filePathNow(ofInstance: sop) } catch {
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
        }
        return Directory.exists(target) || materializer?.isPending(relative) == true ? relative : nil
    }

    /// The duplicate policy for an instance already archived: throws (reject), false (ignore), true (replace).
    public func duplicateAccepted(_ sop: String, existing: String) throws -> Bool {
        switch configuration.duplicatePolicy {
        case .reject: throw ArchiveError.duplicate("SOP Instance \(sop) already archived")
        case .ignore: return false
        case .replace: return true
        }
    }

    public var incomingDirectory: String { configuration.root + "/" + Self.incomingFolder }

    /// `claimed`, and on an index several nodes share, the instance claimed across them for the time of `body`
    /// too; while another node holds it, this waits for that node's commit (`claimAcrossNodes`). `body` is given the
    /// claim's lookup when it found no row (its commit then need not look again). A commit that records the
    /// instance's row ends the claim with it; one that does not (ignored, refused, failed) releases it here.
    public func claimedAcrossNodes(_ sop: String, relative: String,
                                   _ body: (EarlyLookup?) async throws -> CommitResult) async throws -> CommitResult {
        try await claimed(sop) {
            guard let index else { return try await body(nil) }
            let lookup = try await claimAcrossNodes(sop, index)
            do {
                let result = try await renewing(sop) { try await body(lookup) }
                if case .ignored = result { await index.release(instance: sop) }
                return result
            } catch {
                await index.release(instance: sop)
                throw error
            }
        }
    }

    /// `body`, with the instance's claim renewed while it runs (`ClaimRenewer`).
    private func renewing(_ sop: String, _ body: () async throws -> CommitResult) async throws -> CommitResult {
        guard let claims else { return try await body() }
        claims.hold(sop)
        defer { claims.release(sop) }
        return try await body()
    }

    /// Claims `sop` in the shared index. When another node is committing the same instance now, this waits for
    /// its commit whatever the policy, and the policy decides after, against the row as it then is (the commit's
    /// own lookup): deciding at once answered `ignore`'s success, or `reject`'s "duplicate", for an instance the
    /// other node could still fail to store (its disk full, its index gone), and the sender would not send it again.
    /// A node that dies holding a claim loses it at once (its session's lock goes with it); one left behind by a
    /// live node (its release failed) when its lease runs out unrenewed.
    private func claimAcrossNodes(_ sop: String, _ index: any InstanceIndex) async throws -> EarlyLookup? {
        // The index has no notification for another node's commit, so the retries back off (1 ms doubling to
        // 64 ms) rather than asking the database a thousand times a second.
        var pause: UInt64 = 1_000_000
        while true {
            let claim: InstanceClaim
            do { claim = try await index.claim(instance: sop) } catch {
                // The server may have committed the claim before the answer was lost: not left for the lease.
                await index.release(instance: sop)
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
            switch claim {
            case .claimed: return nil
            case .claimedNew: return EarlyLookup(sopInstanceUID: sop, proof: .claimed)
            case .heldElsewhere:
                try await Task.sleep(nanoseconds: pause)
                pause = min(pause * 2, 64_000_000)
            }
        }
    }

    /// The commit in place (no journal), blocking, on the incoming file's writer thread after its last write:
    /// duplicate policy, `seal` (fdatasync, answering the file's BLAKE3 hex), folder, rename, folder fsync, index
    /// row, and the replaced file's removal. Call it inside `claimedAcrossNodes`. When it throws or answers
    /// `.ignored`, the incoming file is left for its writer to discard.
    public func commitNow(placing file: IncomingFile, relative: String, attributes: InstanceAttributes, transferSyntaxUID: String,
                          callingAETitle: String, receivedAt: String, early: EarlyLookup? = nil,
                          seal: () throws -> String) throws -> CommitResult {
        let root = configuration.root
        let target = root + "/" + relative
        let sop = attributes.sopInstanceUID
        let existing = try existingLocation(sop, target: target, relative: relative, early: early)
        if let existing, try !duplicateAccepted(sop, existing: existing) { return .ignored(path: existing) }
        let fileHash = try seal()
        let folder = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
        if !Directory.exists(folder) {
            guard configuration.createDirectories else {
                throw ArchiveError.io("folder \(relative) does not exist and create_directories is off")
            }
            try Directory.create(folder)
        }
        try Directory.rename(file.path, target)
        try Directory.sync(folder)
        if let index {
            let record = InstanceRecord(attributes: attributes, filePath: relative, fileSize: file.size, fileHash: fileHash,
                                        transferSyntaxUID: transferSyntaxUID, receivedAt: receivedAt, callingAETitle: callingAETitle)
            do { try index.recordNow(record, endingClaim: true) } catch {
                // Never leave a file the index does not know: take it back out (a replaced file is gone either way).
                if existing == nil { try? Directory.remove(target) }
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
            // The index counts a row it commits at once twice (before and after its commit).
            recentRows.noted(sop, times: 2)
        }
        if let existing, existing != relative {
            try? Directory.remove(root + "/" + existing)
        }
        return existing == nil ? .stored(path: relative) : .replaced(path: relative)
    }

    /// Hands the claim to the next waiting commit of the same instance, or drops it.
    private func unclaim(_ sop: String) {
        let next = inFlight.withLockedValue { claims -> CheckedContinuation<Void, Never>? in
            guard var waiting = claims[sop], !waiting.isEmpty else {
                claims.removeValue(forKey: sop)
                return nil
            }
            let first = waiting.removeFirst()
            claims[sop] = waiting
            return first
        }
        next?.resume()
    }
}
