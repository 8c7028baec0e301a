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
        let file = try await archive.io { try IncomingFile(directory: incomingDirectory) }
        let sink = ArchiveSink(service: self, request: request, file: file)
        await sink.start(preambleAndMeta: [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + header)
        return sink
    }

    func nextStoredNumber() -> Int { stored.withLockedValue { $0 += 1; return $0 } }
}

/// One instance on its way into the archive.
actor ArchiveSink: InstanceSink {
    private let service: ArchiveStorageService
    private let request: StoreRequest
    private let file: IncomingFile
    private var hasher = BLAKE3()
    private var parser: Part10Parser
    private var header = DataSetBuilder()
    private var parseError: Error?
    private var pending: [UInt8] = []
    private var done = false

    /// Bytes gathered before one write to the file.
    private static let flushThreshold = 1 << 20

    init(service: ArchiveStorageService, request: StoreRequest, file: IncomingFile) {
        self.service = service
        self.request = request
        self.file = file
        // Routing and indexing need only the attributes before the pixel data.
        parser = Part10Parser(options: .headerOnly, fallbackSyntax: request.transferSyntax)
        pending.reserveCapacity(Self.flushThreshold + 256 * 1024)
    }

    func start(preambleAndMeta: [UInt8]) {
        hasher.update(preambleAndMeta)
        pending.append(contentsOf: preambleAndMeta)
    }

    func write(_ fragment: ByteBuffer) async throws {
        fragment.withUnsafeReadableBytes { bytes in
            if parseError == nil && !parser.isStopped {
                do { try parser.feed(bytes, to: &header) } catch { parseError = error }
            }
            hasher.update(bytes)
            pending.append(contentsOf: bytes)
        }
        if pending.count >= Self.flushThreshold { try await flush() }
    }

    private func flush() async throws {
        let chunk = pending
        pending.removeAll(keepingCapacity: true)
        let file = self.file
        try await service.archive.io { try file.append(chunk) }
    }

    func cancel() async {
        guard !done else { return }
        done = true
        let file = self.file
        _ = try? await service.archive.io { file.discard() }
    }

    func finish() async -> StoreOutcome {
        done = true
        let file = self.file
        do {
            try await flush()
            try await service.archive.io { try file.seal() }
            if parseError == nil { try parser.finish(&header) }
        } catch let error as ArchiveError {
            return refuse(file, error)
        } catch {
            parseError = parseError ?? error
        }
        if let parseError {
            return refuse(file, .unreadable("cannot parse dataset: \(parseError)"))
        }
        let ds = header.dataSet
        let attributes = InstanceAttributes(ds)
        if let problem = service.validation.check(attributes, request: request) {
            return refuse(file, problem)
        }
        do {
            let result = try await service.archive.commit(
                file, attributes: attributes, fileHash: BLAKE3.hex(hasher.finalize()),
                transferSyntaxUID: request.transferSyntax.uid, callingAETitle: request.callingAETitle,
                receivedAt: Timestamp.now())
            log(attributes, result)
            service.hooks?.instanceStored(StoredInstance(attributes: attributes, result: result, request: request,
                                                         root: service.archive.configuration.root))
            return .success
        } catch let error as ArchiveError {
            return refuse(file, error)
        } catch {
            return refuse(file, .io("\(error)"))
        }
    }

    private func refuse(_ file: IncomingFile, _ error: ArchiveError) -> StoreOutcome {
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

enum Timestamp {
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
