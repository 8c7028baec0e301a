import Archive
import BLAKE3
import CoreMetrics
import DICOM
import DICOMNetwork
import EDCKV
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The storage service behind `arca serve`: each C-STORE's dataset streams into a hidden file in the archive
/// (Part-10 header first, then the bytes exactly as received), is hashed and header-parsed on the way, and is
/// committed to the archive when its last fragment arrives.
public final class ArchiveStorageService: StorageService {
    public let archive: FileArchive
    /// Pre-store checks, in order: the configured validation rules first, then any Swift checks.
    let checks: [any PreStoreCheck]
    let logger: Logger
    /// Nil when it has nothing to run: each instance from the journal would otherwise wait for its file with a
    /// callback holding its attributes (a burst of 40,000 small instances held 20 MB of them) for no hook.
    let hooks: HookRunner?
    /// The eDCKV store each instance is also spooled into when the archive has no journal (with a journal, the
    /// materializer spools it).
    let dckv: DCKVStore?
    private let stored = NIOLockedValueBox(0)
    let metrics = StoreMetrics()

    public init(archive: FileArchive, dckv: DCKVStore? = nil, validation: ValidationRules = .default,
                checks: [any PreStoreCheck] = [], hooks: HookRunner? = nil, logger: Logger) {
        self.archive = archive
        self.dckv = dckv
        self.checks = [validation] + checks
        self.hooks = hooks?.hasWork == true ? hooks : nil
        self.logger = logger
    }

    public func beginStore(_ request: StoreRequest) async throws -> any InstanceSink {
        guard UIDString.isValid(request.sopInstanceUID) else {
            throw StoreRefusal(.cannotUnderstand, "invalid Affected SOP Instance UID in the C-STORE-RQ")
        }
        guard UIDString.isValid(request.sopClassUID) else {
            throw StoreRefusal(.cannotUnderstand, "invalid Affected SOP Class UID in the C-STORE-RQ")
        }
        let header = try FileMeta.encode(FileMeta.make(
            sopClassUID: request.sopClassUID, sopInstanceUID: request.sopInstanceUID,
            transferSyntax: request.transferSyntax, sourceAETitle: request.callingAETitle))
        let incomingDirectory = archive.incomingDirectory
        // Into the ingest journal (whatever the stores: the materializer puts each instance in place); without a
        // journal, into a file committed in place.
        let destination: ArchiveSink.Destination
        if let stream = archive.journalStream() {
            destination = .journal(stream)
        } else {
            destination = .file(try IncomingFile(directory: incomingDirectory, buffers: archive.writeBuffers))
        }
        let sink = ArchiveSink(service: self, request: request, destination: destination)
        sink.start(meta: header)
        return sink
    }

    func nextStoredNumber() -> Int { stored.withLockedValue { $0 += 1; return $0 } }
}

/// One instance on its way into the archive. The SCP calls a sink from one association task, one call at a
/// time (the `InstanceSink` contract), which is what makes the unchecked state safe. Each fragment is hashed
/// here, on the association's task, while the writer's queue copies the one before into the journal (the
/// device writes from there), so hashing, copying and disk work overlap the network transfer and each other;
/// the index is asked for the instance on the writer's queue as soon as the instance is known to be large;
/// after the last fragment, one trip to the writer's queue runs the duplicate policy, the flush and the index
/// commit (no trip when the association's thread is its own: its turn of the queue is taken there). A small
/// instance (at most `holdLimit` bytes) is kept here until then and goes with that trip: the writer's thread is
/// woken once for it, not for the lookup and each fragment too.
final class ArchiveSink: InstanceSink, @unchecked Sendable {
    private let service: ArchiveStorageService
    private let request: StoreRequest
    /// Where the bytes go while they arrive.
    enum Destination {
        /// The ingest journal (the default; the materializer makes the instance a file, or with `--store dckv`
        /// spools it, and with `files,dckv` spools the file once it is in place).
        case journal(JournalStream)
        /// A file in `.incoming/`, committed in place (no journal).
        case file(IncomingFile)

        var target: any IncomingTarget {
            switch self {
            case .journal(let s): return s
            case .file(let f): return f
            }
        }
    }
    private let destination: Destination
    private let writer: IncomingWriter
    private var parser: Part10Parser
    /// The check of every byte of the file (preamble and meta included), updated as the fragments pass: into the
    /// journal a CRC-32C (25 µs a 512 KB instance; the materializer computes the BLAKE3 later, off the
    /// acknowledgement's path: 250 µs), into a file committed in place its BLAKE3.
    private var crc = CRC32C()
    private var hasher = BLAKE3()
    private let hashesNow: Bool
    /// The header's attributes; with the eDCKV store, the order of every element checked too (`AscendingTags`).
    private var header: AscendingTags<DataSetBuilder>
    private var parseError: Error?
    private var done = false
    /// Dataset bytes received (for the metrics).
    private var received: UInt64 = 0
    /// The duplicate lookup made on the writer's queue while the bytes arrive (nil: none, or a row was found).
    private let early = NIOLockedValueBox<FileArchive.EarlyLookup?>(nil)
    /// The bytes kept back until the instance passes `holdLimit` (preamble and meta included); nil once the
    /// writer has them.
    private var held: ByteBuffer? = ByteBuffer()
    /// 64 KiB: an instance this small is received in one or a few PDUs, so there is no transfer for the writer's
    /// work to overlap, and each wake-up of its thread cost two context switches on the two cores the client
    /// shares (8 KB images: four wake-ups of the writer an instance became one). A larger instance starts the
    /// writer once it passes this, and its lookup and records then overlap the rest of the transfer.
    static let holdLimit = 64 << 10

    init(service: ArchiveStorageService, request: StoreRequest, destination: Destination) {
        self.service = service
        self.request = request
        self.destination = destination
        if case .file = destination { hashesNow = true } else { hashesNow = false }
        self.writer = IncomingWriter(target: destination.target)
        parser = Part10Parser(options: service.dckv == nil ? Self.headerOptions : Self.structureOptions,
                              fallbackSyntax: request.transferSyntax)
        header = AscendingTags(DataSetBuilder(byteBudget: ArchiveSink.headerBudget), checks: service.dckv != nil)
    }

    /// With the eDCKV store, the whole dataset must parse (the spool encodes it element by element): read to its
    /// end, every value from the pixel data on skipped as it passes, so a dataset cut short or malformed after
    /// its header is refused before it is acknowledged. Accepted, it failed in the materializer on every retry
    /// and held every instance behind it in the journal.
    static var structureOptions: ParseOptions {
        // Nested no deeper than an eDCKV key holds (`Entry.maxDepth`): the parser's 64 let 30 to 64 levels be
        // acknowledged, and the spool refused them on every retry.
        var options = ParseOptions(skipValuesFrom: .pixelData, maxDepth: Entry.maxDepth)
        options.skipValuesLongerThan = 64 << 10
        return options
    }

    /// Routing and indexing need only the short attributes before the pixel data: a longer value (a private
    /// blob, an encapsulated document, a waveform) is skipped as it passes, and the rest is held to a budget
    /// (a sender's million small elements, or a deflate stream inflating to gigabytes, were held whole).
    static var headerOptions: ParseOptions {
        var options = ParseOptions.headerOnly
        options.skipValuesLongerThan = 64 << 10
        return options
    }
    static let headerBudget = 64 << 20

    /// The file's 128-byte preamble, "DICM" and the encoded `meta`, kept back with the first fragments: nothing
    /// reaches the writer before the instance is known to be large.
    func start(meta: [UInt8]) {
        var start = ByteBuffer()
        start.reserveCapacity(132 + meta.count + 16 << 10)
        start.writeRepeatingByte(0, count: 128)
        start.writeString("DICM")
        start.writeBytes(meta)
        start.withUnsafeReadableBytes { check($0) }
        held = start
    }

    /// The instance is larger than `holdLimit`: the writer starts on what was kept back, and the instance is
    /// looked up in the index on its queue (the command named it) while the rest arrives, rather than after
    /// the last byte.
    private func startWriting(_ kept: ByteBuffer) async throws {
        held = nil
        let archive = service.archive
        if archive.looksUpEarly {
            let sop = request.sopInstanceUID, early = self.early
            writer.enqueue {
                let lookup = archive.lookUpEarly(sop)
                early.withLockedValue { $0 = lookup }
            }
        }
        try await writer.append(kept)
    }

    func write(_ fragment: ByteBuffer) async throws {
        received += UInt64(fragment.readableBytes)
        if let size = held?.readableBytes, size + fragment.readableBytes <= Self.holdLimit {
            var piece = fragment
            held?.writeBuffer(&piece)
        } else {
            if let kept = held { try await startWriting(kept) }
            // Hashed after it is queued: the writer copies it meanwhile.
            try await writer.append(fragment)
        }
        fragment.withUnsafeReadableBytes { check($0) }
        if parseError == nil && !parser.isStopped {
            fragment.withUnsafeReadableBytes { bytes in
                do { try parser.feed(bytes, to: &header) } catch { parseError = error }
            }
        }
    }

    private func check(_ bytes: UnsafeRawBufferPointer) {
        if hashesNow { hasher.update(bytes) } else { crc.update(bytes) }
    }

    func cancel() async {
        guard !done else { return }
        done = true
        await writer.discard()
    }

    func finish() async -> StoreOutcome {
        done = true
        let started = ContinuousClock.now
        let outcome = await commit()
        let metrics = service.metrics
        metrics.instances(outcome.status).increment()
        if outcome.status.isSuccess {
            metrics.commitDuration.record(duration: ContinuousClock.now - started)
            metrics.receivedBytes.increment(by: Int(clamping: received))
        }
        return outcome
    }

    /// Everything after the last fragment: the parse checked, the rules applied, the durable commit.
    private func commit() async -> StoreOutcome {
        if parseError == nil {
            do { try parser.finish(&header) } catch { parseError = error }
        }
        if let tooMuch = parseError as? HeldTooMuch {
            return await refuse(.outOfResources(tooMuch.description))
        }
        if let parseError {
            return await refuse(.unreadable("cannot parse dataset: \(parseError)"))
        }
        let attributes = InstanceAttributes(header.inner.dataSet)
        for check in service.checks {
            if let problem = check.check(attributes, request: request) { return await refuse(problem) }
        }
        do {
            let writer = self.writer
            let dckv = service.dckv
            let archive = service.archive
            let syntax = request.transferSyntax.uid, calling = request.callingAETitle
            let early = self.early
            let crc = self.crc.value, hash = hashesNow ? hasher.finalize() : []
            // What a small instance kept back goes to the writer with the commit.
            let kept = held
            held = nil
            let result: FileArchive.CommitResult
            // One trip to the writer's thread, after its last write, for the whole durable step; none when the
            // association's thread is its own to block (asked after the claim, which may wait: nothing awaited
            // between the answer and the blocking turn).
            let thread = request.thread
            switch destination {
            case .journal(let stream):
                let relative = try archive.relativePath(for: attributes)
                result = try await archive.claimedAcrossNodes(attributes.sopInstanceUID, relative: relative) { claimed in
                    try await writer.onQueue(appending: kept, onThisThread: thread.isOwn) {
                        try archive.commitNow(journaled: stream, relative: relative, attributes: attributes,
                                              transferSyntaxUID: syntax, callingAETitle: calling,
                                              receivedAt: Timestamp.now(), crc: crc,
                                              early: claimed ?? early.withLockedValue { $0 })
                    }
                }
            case .file(let file):
                let relative = try archive.relativePath(for: attributes)
                result = try await archive.claimedAcrossNodes(attributes.sopInstanceUID, relative: relative) { claimed in
                    try await writer.onQueue(appending: kept, onThisThread: thread.isOwn) {
                        try archive.commitNow(placing: file, relative: relative, attributes: attributes, transferSyntaxUID: syntax,
                                              callingAETitle: calling, receivedAt: Timestamp.now(),
                                              early: claimed ?? early.withLockedValue { $0 }) {
                            try file.seal()
                            // eDCKV too: spooled (durably) before the file is renamed into place and indexed.
                            if let dckv { _ = try dckv.store(partTenFileAt: file.path) }
                            return BLAKE3.hex(hash)
                        }
                    }
                }
            }
            if case .ignored = result { await writer.discard() }
            log(attributes, result)
            if let hooks = service.hooks {
                let stored = StoredInstance(attributes: attributes, result: result, request: request,
                                            root: service.archive.configuration.root)
                // From the journal, the file is put in place in the background: hooks run on it once it is.
                if case .journal = destination, let materializer = service.archive.materializer {
                    materializer.whenMaterialized(stored.relativePath) { hooks.instanceStored(stored) }
                } else {
                    hooks.instanceStored(stored)
                }
            }
            var stored = StoreOutcome.success
            stored.subject = .init(patientID: attributes.patientID, studyInstanceUID: attributes.studyInstanceUID)
            return stored
        } catch let error as ArchiveError {
            return await refuse(error)
        } catch {
            return await refuse(.io("\(error)"))
        }
    }

    private func refuse(_ error: ArchiveError) async -> StoreOutcome {
        await writer.discard()
        let status: DIMSEStatus
        switch error {
        case .invalidUID, .unreadable: status = .cannotUnderstand
        case .rejected, .io: status = .storageFailed
        case .duplicate: status = .duplicateSOPInstance
        case .outOfResources: status = .outOfResources
        }
        service.logger.warning("[C-STORE] From: \(request.callingAETitle) refused \(request.sopInstanceUID): \(status): \(error)")
        return StoreOutcome(status: status, comment: error.description)
    }

    private func log(_ a: InstanceAttributes, _ result: FileArchive.CommitResult) {
        guard service.logger.logLevel <= .info else { return }
        let line: String
        switch result {
        case .stored(let path): line = "Stored (#\(service.nextStoredNumber())) -> \(path)"
        case .replaced(let path): line = "Replaced (#\(service.nextStoredNumber())) -> \(path)"
        case .ignored(let path): line = "Duplicate ignored -> \(path)"
        }
        service.logger.info("""
            [C-STORE] From: \(request.callingAETitle)
              Patient:  \(a.patientName)
              Study:    \(a.studyDescription.isEmpty ? a.studyInstanceUID : a.studyDescription)
              Modality: \(a.modality)
              \(line)
            """)
    }
}

/// The metrics every C-STORE updates, made once: a metric made per instance asked the factory for it each time
/// (a lock and a lookup) and formatted its status label, 20 µs of the event loop's 210 µs per 8 KB instance.
final class StoreMetrics: Sendable {
    let commitDuration = Timer(label: "arca_commit_duration_seconds")
    let receivedBytes = Counter(label: "arca_received_bytes_total")
    private let byStatus = NIOLockedValueBox<[UInt16: Counter]>([:])

    /// `arca_instances_total` for one DIMSE status (label `0x0000`, `0xA700`...).
    func instances(_ status: DIMSEStatus) -> Counter {
        byStatus.withLockedValue { counters in
            if let counter = counters[status.rawValue] { return counter }
            let counter = Counter(label: "arca_instances_total", dimensions: [("status", String(format: "0x%04X", status.rawValue))])
            counters[status.rawValue] = counter
            return counter
        }
    }
}
