import Archive
import DICOM
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Pixels
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `arca serve --compress jpeg-ls|j2k|htj2k|rle`: stored files are compressed losslessly after their durable
/// acknowledgement, one at a time in the background. Compression is slower than reception (JPEG-LS encodes a
/// 512×512 CT slice at ~26 files/s per core, against ~330/s received), so on the way in it would make every
/// sender wait; after the acknowledgement it only uses idle CPU. What is kept is proven recoverable: the pixel
/// pipeline decodes every frame of the new file and compares it with the original before it takes its name,
/// and a result that is not smaller is dropped.
///
/// The swap is made crash-safe by a marker: `.compressing` names the file first (fsynced), the new file is
/// fsynced and renamed over the old one, its folder fsynced, its index row rewritten, then the marker goes.
/// A start that finds the marker indexes that file again, so the row always describes the file on disk.
public final class StorageCompressor: PostStoreHook, Service {
    public let syntax: PixelSyntax
    let root: String
    let index: any InstanceIndex
    let logger: Logger
    let threadPool: NIOThreadPool
    private let jobs: AsyncStream<String>
    private let queue: AsyncStream<String>.Continuation
    /// Files left as received because the queue was full (compression runs at ~26 slices/s, reception at
    /// hundreds: a long burst would otherwise queue paths without bound).
    private let skipped = NIOLockedValueBox(0)
    /// Paths waiting at most.
    static let backlog = 50_000

    static let marker = ".compressing"

    public init(syntax: PixelSyntax, root: String, index: any InstanceIndex, logger: Logger, threadPool: NIOThreadPool = .singleton) {
        self.syntax = syntax
        self.root = root
        self.index = index
        self.logger = logger
        self.threadPool = threadPool
        (jobs, queue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.backlog))
    }

    /// The syntaxes `--compress` takes (none: keep what was received).
    public static func syntax(named name: String) -> PixelSyntax? {
        switch name.lowercased() {
        case "jpeg-ls", "jpegls", "jls": return PixelSyntax.named("jpeg-ls-lossless")
        case "j2k", "jpeg2000": return PixelSyntax.named("j2k-lossless")
        case "htj2k": return PixelSyntax.named("htj2k-lossless")
        case "rle": return PixelSyntax.named("rle")
        default: return nil
        }
    }

    public func instanceStored(_ instance: StoredInstance) async {
        guard case .ignored = instance.result else {
            let path = instance.relativePath
            if !FileArchive.isEDCKVLocation(path), case .dropped = queue.yield(path) {
                let n = skipped.withLockedValue { $0 += 1; return $0 }
                if n == 1 || n % 1_000 == 0 {
                    logger.notice("[COMPRESS] \(n) file(s) kept as received: \(Self.backlog) already wait to be compressed")
                }
            }
            return
        }
    }

    public func run() async throws {
        // A stop ends the work after the current file: what still waits stays as received (draining the whole
        // backlog first kept the DICOM servers, which stop after this service, from being told to stop).
        for await relative in jobs.cancelOnGracefulShutdown() {
            do { try await threadPool.runIfActive { try self.compress(relative) } } catch {
                logger.notice("[COMPRESS] \(relative) kept as received: \(error)")
            }
        }
        queue.finish()
    }

    /// Compresses one stored file in place (blocking).
    func compress(_ relative: String) throws {
        let path = root + "/" + relative
        let slash = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? root
        let staged = slash + "/.compressed-" + String(relative.split(separator: "/").last ?? "file")
        let result: Transcoder.CompressionResult
        do { result = try Transcoder.compressLosslessly(path: path, to: syntax, output: staged) } catch {
            unlink(staged)
            throw error
        }
        guard result.written else { return }
        do {
            try Self.writeMarker(relative, root: root)
            try Self.syncFile(staged)
            try Directory.rename(staged, path)
        } catch {
            // Nothing replaced yet: the staged copy and the marker go (left, the copy stayed in the study's
            // folder for good).
            unlink(staged)
            unlink(root + "/" + Self.marker)
            throw error
        }
        try Directory.sync(slash)
        try index.recordNow(try IndexMaintenance.record(root: root, relativePath: relative))
        try Directory.remove(root + "/" + Self.marker)
        logger.debug("[COMPRESS] \(relative): \(result.originalBytes) -> \(result.compressedBytes) bytes")
    }

    /// After a crash: the file named by the marker (compressed or not) is indexed as it is on disk.
    public static func recover(root: String, index: any InstanceIndex, logger: Logger) throws {
        let markerPath = root + "/" + marker
        guard let text = try? String(contentsOfFile: markerPath, encoding: .utf8) else { return }
        let relative = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !relative.isEmpty, Directory.exists(root + "/" + relative) {
            try index.recordNow(try IndexMaintenance.record(root: root, relativePath: relative))
            logger.notice("[COMPRESS] re-indexed \(relative) after an interrupted compression")
        }
        try Directory.remove(markerPath)
    }

    static func writeMarker(_ relative: String, root: String) throws {
        let path = root + "/" + marker
        try FileWriter.write(Array(relative.utf8), to: path)
        try syncFile(path)
        try Directory.sync(root)
    }

    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.io("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ArchiveError.io("fsync \(path): \(String(cString: strerror(errno)))") }
    }
}
