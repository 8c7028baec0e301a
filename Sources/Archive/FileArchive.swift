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

        public init(root: String, naming: NamingScheme = .uidHierarchical, duplicatePolicy: DuplicatePolicy = .reject,
                    createDirectories: Bool = true, fileExtension: String = ".dcm") {
            self.root = root
            self.naming = naming
            self.duplicatePolicy = duplicatePolicy
            self.createDirectories = createDirectories
            self.fileExtension = fileExtension
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
    public let writeBuffers = AlignedBufferPool()
    /// SOP Instance UIDs being committed right now, so two senders of one instance are decided one at a time.
    private let inFlight = NIOLockedValueBox<Set<String>>([])

    public static let incomingFolder = ".incoming"
    /// The eDCKV store's root inside the archive; index rows of its instances start with this folder.
    public static let edckvFolder = "dckv"

    public static func isEDCKVLocation(_ relativePath: String) -> Bool { relativePath.hasPrefix(edckvFolder + "/") }

    public init(configuration: Configuration, index: (any InstanceIndex)?) throws {
        self.configuration = configuration
        self.index = index
        try Directory.create(configuration.root + "/" + Self.incomingFolder)
        IncomingFile.removeAbandoned(in: configuration.root + "/" + Self.incomingFolder)
    }

    public var incomingDirectory: String { configuration.root + "/" + Self.incomingFolder }

    /// How the writer of an incoming file runs the durable part of a commit: on its own I/O thread, after its
    /// queued writes, it calls `body` with a `seal` that fdatasyncs the file and answers its BLAKE3 hex. The
    /// duplicate check, the seal, the placement and the index row thus cost one trip to that thread.
    public typealias DurableStep = @Sendable (_ body: @escaping @Sendable (_ seal: () throws -> String) throws -> CommitResult)
        async throws -> CommitResult

    /// Moves an incoming file into place under the duplicate policy, durably, and indexes it. When it throws or
    /// answers `.ignored`, the incoming file is left for its writer to discard.
    public func commit(_ file: IncomingFile, attributes: InstanceAttributes, transferSyntaxUID: String,
                       callingAETitle: String, receivedAt: String, durably: DurableStep) async throws -> CommitResult {
        let relative = try configuration.naming.relativePath(for: attributes, fileExtension: configuration.fileExtension)
        let sop = attributes.sopInstanceUID
        // One commit per SOP Instance UID at a time; a second concurrent sender waits its turn.
        while !claim(sop) { try await Task.sleep(nanoseconds: 1_000_000) }
        defer { unclaim(sop) }
        // Other nodes on the same index and folder: one commit per SOP Instance UID across them too.
        if let index, let decided = try await claimAcrossNodes(sop, relative: relative, index) { return decided }
        do {
            let result = try await durably { seal in
                try self.commitNow(file, relative: relative, attributes: attributes, transferSyntaxUID: transferSyntaxUID,
                                   callingAETitle: callingAETitle, receivedAt: receivedAt, seal: seal)
            }
            await index?.release(instance: sop)
            return result
        } catch {
            await index?.release(instance: sop)
            throw error
        }
    }

    /// Claims `sop` in the shared index. Nil when claimed (commit, then release); a result when the policy
    /// decides without committing because another node is committing the same instance now: `reject` refuses
    /// (0x0111, one of two simultaneous senders is told it is a duplicate), `ignore` answers success, `replace`
    /// waits for the other node's commit and then replaces its file.
    private func claimAcrossNodes(_ sop: String, relative: String, _ index: any InstanceIndex) async throws -> CommitResult? {
        while true {
            let claim: InstanceClaim
            do { claim = try await index.claim(instance: sop) } catch {
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
            if claim == .claimed { return nil }
            switch configuration.duplicatePolicy {
            case .reject: throw ArchiveError.duplicate("SOP Instance \(sop) is being archived by another node")
            case .ignore: return .ignored(path: relative)
            case .replace: try await Task.sleep(nanoseconds: 1_000_000)
            }
        }
    }

    /// The durable part of `commit`, blocking, on the file writer's thread: duplicate policy, fdatasync, folder,
    /// rename, folder fsync, index row, and the replaced file's removal.
    private func commitNow(_ file: IncomingFile, relative: String, attributes: InstanceAttributes, transferSyntaxUID: String,
                           callingAETitle: String, receivedAt: String, seal: () throws -> String) throws -> CommitResult {
        let root = configuration.root
        let target = root + "/" + relative
        let sop = attributes.sopInstanceUID
        let existing: String?
        if let index {
            do { existing = try index.filePathNow(ofInstance: sop) } catch {
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
        } else {
            existing = Directory.exists(target) ? relative : nil
        }
        if let existing {
            switch configuration.duplicatePolicy {
            case .reject: throw ArchiveError.duplicate("SOP Instance \(sop) already archived")
            case .ignore: return .ignored(path: existing)
            case .replace: break
            }
        }
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
            do { try index.recordNow(record) } catch {
                // Never leave a file the index does not know: take it back out (a replaced file is gone either way).
                if existing == nil { try? Directory.remove(target) }
                throw ArchiveError.outOfResources("index unavailable: \(error)")
            }
        }
        if let existing, existing != relative {
            try? Directory.remove(root + "/" + existing)
        }
        return existing == nil ? .stored(path: relative) : .replaced(path: relative)
    }

    private func claim(_ sop: String) -> Bool { inFlight.withLockedValue { $0.insert(sop).inserted } }
    private func unclaim(_ sop: String) { inFlight.withLockedValue { _ = $0.remove(sop) } }
}
