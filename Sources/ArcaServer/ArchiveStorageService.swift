import Archive
import BLAKE3
import DICOM
import DICOMNetwork
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The storage service behind `arca serve`: each C-STORE's dataset streams into a hidden file in the archive
/// (Part-10 header first, then the bytes exactly as received), is hashed and header-parsed on the way, and is
/// committed to the archive when its last fragment arrives.
public final class ArchiveStorageService: StorageService {
    let archive: FileArchive
    let validation: ValidationRules
    let logger: Logger
    let hooks: HookRunner?
    private let stored = NIOLockedValueBox(0)

    public init(archive: FileArchive, validation: ValidationRules = .default, hooks: HookRunner? = nil, logger: Logger) {
        self.archive = archive
        self.validation = validation
        self.hooks = hooks
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
        let file = try IncomingFile(directory: incomingDirectory)
        let sink = ArchiveSink(service: self, request: request, file: file)
        do { try sink.start(preambleAndMeta: [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + header) } catch {
            file.discard()
            throw error
        }
        return sink
    }

    func nextStoredNumber() -> Int { stored.withLockedValue { $0 += 1; return $0 } }
}

/// One instance on its way into the archive. The SCP calls a sink from one association task, one call at a
/// time (the `InstanceSink` contract), which is what makes the unchecked state safe. Fragments are written
/// (writeback started at once) and hashed on two side queues, so disk work and hashing overlap the network
/// transfer and each other; after the last fragment only the fdatasync, rename and index commit wait.
final class ArchiveSink: InstanceSink, @unchecked Sendable {
    private let service: ArchiveStorageService
    private let request: StoreRequest
    private let file: IncomingFile
    private let hasher: BackgroundHasher
    private let writer: BackgroundWriter
    private var parser: Part10Parser
    private var header = DataSetBuilder()
    private var parseError: Error?
    private var writeError: ArchiveError?
    private var done = false

    init(service: ArchiveStorageService, request: StoreRequest, file: IncomingFile) {
        self.service = service
        self.request = request
        self.file = file
        self.hasher = BackgroundHasher()
        self.writer = BackgroundWriter(file: file)
        // Routing and indexing need only the attributes before the pixel data.
        parser = Part10Parser(options: .headerOnly, fallbackSyntax: request.transferSyntax)
    }

    func start(preambleAndMeta: [UInt8]) throws {
        hasher.update(ByteBuffer(bytes: preambleAndMeta))
        try file.append(preambleAndMeta)
    }

    func write(_ fragment: ByteBuffer) async throws {
        hasher.update(fragment)
        try await writer.append(fragment)
        if parseError == nil && !parser.isStopped {
            fragment.withUnsafeReadableBytes { bytes in
                do { try parser.feed(bytes, to: &header) } catch { parseError = error }
            }
        }
    }

    func cancel() async {
        guard !done else { return }
        done = true
        _ = try? await writer.drain()
        file.discard()
    }

    func finish() async -> StoreOutcome {
        done = true
        do { try await writer.drain() } catch let error as ArchiveError {
            return refuse(error)
        } catch {
            return refuse(.io("\(error)"))
        }
        if parseError == nil {
            do { try parser.finish(&header) } catch { parseError = error }
        }
        if let parseError {
            return refuse(.unreadable("cannot parse dataset: \(parseError)"))
        }
        let attributes = InstanceAttributes(header.dataSet)
        if let problem = service.validation.check(attributes, request: request) {
            return refuse(problem)
        }
        do {
            let result = try await service.archive.commit(
                file, attributes: attributes, fileHash: BLAKE3.hex(await hasher.finalize()),
                transferSyntaxUID: request.transferSyntax.uid, callingAETitle: request.callingAETitle,
                receivedAt: Timestamp.now())
            log(attributes, result)
            service.hooks?.instanceStored(StoredInstance(attributes: attributes, result: result, request: request,
                                                         root: service.archive.configuration.root))
            return .success
        } catch let error as ArchiveError {
            return refuse(error)
        } catch {
            return refuse(.io("\(error)"))
        }
    }

    private func refuse(_ error: ArchiveError) -> StoreOutcome {
        file.discard()
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

/// Appends to an incoming file on a serial side queue. At most `limit` bytes wait in the queue: past that,
/// `append` waits, which stops reading the socket (back-pressure) while the disk is behind.
final class BackgroundWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "arca.writer")
    private let file: IncomingFile
    private let state = NIOLockedValueBox<(pending: Int, error: ArchiveError?)>((0, nil))
    private static let limit = 8 << 20

    init(file: IncomingFile) { self.file = file }

    func append(_ bytes: ByteBuffer) async throws {
        let count = bytes.readableBytes
        let (pending, error) = state.withLockedValue { s in
            s.pending += count
            return (s.pending, s.error)
        }
        if let error { throw error }
        queue.async {
            var failure: ArchiveError?
            if self.state.withLockedValue({ $0.error }) == nil {
                do { try bytes.withUnsafeReadableBytes { try self.file.append($0) } } catch let e as ArchiveError {
                    failure = e
                } catch {
                    failure = .io("\(error)")
                }
            }
            self.state.withLockedValue { s in
                s.pending -= count
                if let failure, s.error == nil { s.error = failure }
            }
        }
        if pending > Self.limit { try await drain() }
    }

    /// Waits until everything queued is written; throws the first write error.
    func drain() async throws {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
        if let error = state.withLockedValue({ $0.error }) { throw error }
    }
}

/// BLAKE3 of a stream, computed on a serial side queue so it runs on the other core while bytes keep arriving.
final class BackgroundHasher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "arca.blake3")
    /// Touched only on `queue`.
    private var state = BLAKE3()

    func update(_ bytes: ByteBuffer) {
        queue.async { bytes.withUnsafeReadableBytes { self.state.update($0) } }
    }

    func finalize() async -> [UInt8] {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.state.finalize()) }
        }
    }
}

enum Timestamp {
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
