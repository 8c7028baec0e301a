import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Receives C-STOREs (a C-GET's sub-operations, or a small storage SCP) into a folder: each instance becomes
/// `<folder>/<SOP Instance UID>.dcm`, a Part-10 file with the bytes as received after its meta information,
/// written under a hidden name and renamed once complete. Writes run on the thread pool.
public struct FolderStoreHandler: IncomingStoreHandler {
    public let folder: String
    let threadPool: NIOThreadPool
    /// Instances received, in order (for reports).
    public let received = NIOLockedValueBox<[String]>([])

    public init(folder: String, threadPool: NIOThreadPool = .singleton) {
        self.folder = folder
        self.threadPool = threadPool
    }

    public func beginStore(_ request: StoreRequest) async throws -> any InstanceSink {
        guard UIDString.isValid(request.sopInstanceUID), UIDString.isValid(request.sopClassUID) else {
            throw StoreRefusal(.cannotUnderstand, "invalid SOP Class or Instance UID")
        }
        let header = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + (try FileMeta.encode(FileMeta.make(
            sopClassUID: request.sopClassUID, sopInstanceUID: request.sopInstanceUID, transferSyntax: request.transferSyntax,
            sourceAETitle: request.callingAETitle)))
        let final = folder + "/" + request.sopInstanceUID + ".dcm"
        // A name no one can have prepared: `.part-<UID>` was predictable, and opened with O_TRUNC through whatever
        // symbolic link another local user had left there in a shared folder.
        let temporary = folder + "/.part-" + request.sopInstanceUID + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let file = try await threadPool.runIfActive { () -> FileSink in
            let f = try FileSink(path: temporary)
            try f.write(header)
            return f
        }
        return FolderInstanceSink(file: file, temporary: temporary, final: final, sop: request.sopInstanceUID,
                                  threadPool: threadPool, received: received)
    }
}

/// One instance being written into the folder.
final class FolderInstanceSink: InstanceSink, @unchecked Sendable {
    private let file: FileSink
    private let temporary: String
    private let final: String
    private let sop: String
    private let threadPool: NIOThreadPool
    private let received: NIOLockedValueBox<[String]>

    init(file: FileSink, temporary: String, final: String, sop: String, threadPool: NIOThreadPool, received: NIOLockedValueBox<[String]>) {
        self.file = file
        self.temporary = temporary
        self.final = final
        self.sop = sop
        self.threadPool = threadPool
        self.received = received
    }

    func write(_ fragment: ByteBuffer) async throws {
        let bytes = Array(fragment.readableBytesView)
        try await threadPool.runIfActive { try self.file.write(bytes) }
    }

    func finish() async -> StoreOutcome {
        do {
            try await threadPool.runIfActive {
                try self.file.closeFile()
                guard rename(self.temporary, self.final) == 0 else { throw FileError(path: self.final, operation: "rename", errno: errno) }
            }
            received.withLockedValue { $0.append(sop) }
            return .success
        } catch {
            await cancel()
            return StoreOutcome(status: .outOfResources, comment: "\(error)")
        }
    }

    func cancel() async {
        _ = try? await threadPool.runIfActive {
            try? self.file.closeFile()
            unlink(self.temporary)
        }
    }
}

/// A file written front to back by one owner at a time.
final class FileSink: @unchecked Sendable {
    private var fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
    }

    func write(_ bytes: [UInt8]) throws {
        try FileWriter.writeAll(fd, bytes, path: path)
    }

    func closeFile() throws {
        guard fd >= 0 else { return }
        let result = close(fd)
        fd = -1
        if result != 0 { throw FileError(path: path, operation: "close", errno: errno) }
    }

    deinit { if fd >= 0 { close(fd) } }
}
