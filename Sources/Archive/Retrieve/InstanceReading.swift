#if canImport(Glibc)
import Glibc
#endif
import DICOM
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Converts an instance's dataset between transfer syntaxes when its pixels must be decoded or encoded
/// (compressed ↔ uncompressed): the pixel pipeline plugs in here, so retrieval does not depend on it.
public protocol PixelTranscoding: Sendable {
    func canTranscode(from stored: String, to target: String) -> Bool
    /// The dataset (no meta) encoded in `target`.
    func transcode(_ dataSet: DataSet, from stored: TransferSyntax, to target: String) throws -> [UInt8]
}

/// A stored instance's dataset read for sending (C-MOVE, C-GET, WADO-RS): its bytes as stored when the
/// receiver takes its transfer syntax, re-encoded between uncompressed syntaxes otherwise, or transcoded by the
/// pixel pipeline when one is plugged in. Reads run on the thread pool a few MB per trip (one trip costs
/// 0.1–0.25 ms on these machines, so not one per PDU); a re-encoded instance is held whole while it is encoded.
public struct InstanceReading: Sendable {
    public let source: any InstanceSource
    public let transcoder: (any PixelTranscoding)?
    public let threadPool: NIOThreadPool

    public static let readPiece = 4 << 20
    static let explicitLittle = "1.2.840.10008.1.2.1", implicitLittle = "1.2.840.10008.1.2"

    public init(source: any InstanceSource, transcoder: (any PixelTranscoding)? = nil, threadPool: NIOThreadPool = .singleton) {
        self.source = source
        self.transcoder = transcoder
        self.threadPool = threadPool
    }

    /// Transfer syntaxes an instance stored in `stored` can be sent in, best first: as stored, then the
    /// uncompressed little-endian ones when it converts to them.
    public func syntaxes(from stored: String) -> [String] {
        var out = [stored]
        for ts in [Self.explicitLittle, Self.implicitLittle] where canConvert(from: stored, to: ts) { out.append(ts) }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Whether `stored` can be sent as `target`.
    public func canConvert(from stored: String, to target: String) -> Bool {
        if stored == target { return true }
        guard let s = TransferSyntax(uid: stored), let t = TransferSyntax(uid: target) else { return false }
        if !s.isEncapsulated && !t.isEncapsulated && !t.isDeflated { return true }
        return transcoder?.canTranscode(from: stored, to: target) ?? false
    }

    /// Opens the instance for sending in `target`: failures to open, read or convert happen here, before
    /// anything is sent (an association cannot take back half a message). A re-encoded dataset is encoded now.
    public func prepare(_ instance: ArchivedInstance, in target: String) async throws -> PreparedDataSet {
        let source = self.source
        // Opening and the first piece (a whole CT slice) in one trip to the pool.
        let (reader, first) = try await threadPool.runIfActive { () -> (ReaderBox, ByteBuffer?) in
            let reader = try source.open(instance)
            guard reader.transferSyntax.uid == target else { return (ReaderBox(reader), nil) }
            var first = ByteBuffer()
            try reader.readChunk(into: &first, maxLength: Self.readPiece)
            return (ReaderBox(reader), first)
        }
        let stored = reader.value.transferSyntax
        if let first { return PreparedDataSet(reader: reader, first: first, meta: reader.value.meta, threadPool: threadPool) }
        guard canConvert(from: stored.uid, to: target), let syntax = TransferSyntax(uid: target) else {
            throw ArchiveError.io("cannot convert \(instance.sopInstanceUID) from \(stored.uid) to \(target)")
        }
        let transcoder = self.transcoder
        let bytes = try await threadPool.runIfActive { () -> [UInt8] in
            var all: [UInt8] = []
            while true {
                let piece = try reader.value.readChunk(maxLength: Self.readPiece)
                if piece.isEmpty { break }
                all += piece
            }
            var parser = DataSetParser(transferSyntax: stored)
            var builder = DataSetBuilder()
            try parser.feed(all, to: &builder)
            try parser.finish(&builder)
            if !stored.isEncapsulated && !syntax.isEncapsulated { return try DataSetWriter.encode(builder.dataSet, syntax: syntax) }
            guard let transcoder else { throw ArchiveError.io("no pixel transcoder for \(stored.uid) to \(target)") }
            return try transcoder.transcode(builder.dataSet, from: stored, to: target)
        }
        return PreparedDataSet(encoded: bytes, meta: reader.value.meta)
    }

    /// Calls `body` with each instance and its dataset prepared in the syntax `target` names (nil: the instance
    /// is not to be sent, e.g. no accepted context), the next instance being prepared while `body` sends the
    /// current one: a sub-operation's file is opened and read during the previous one's round trip. At most two
    /// instances are held, and a failure to prepare one is handed to `body`, not thrown. `body` returns false
    /// to stop (a cancelled retrieval).
    public func forEachPrepared(_ instances: [ArchivedInstance], in target: (ArchivedInstance) -> String?,
                                _ body: (ArchivedInstance, Result<PreparedDataSet, any Error>?) async throws -> Bool) async throws {
        try await withThrowingTaskGroup(of: Result<PreparedDataSet, any Error>?.self) { group in
            var next = 0
            func startNext() {
                guard next < instances.count else { return }
                let instance = instances[next]
                next += 1
                guard let syntax = target(instance) else { return group.addTask { nil } }
                group.addTask {
                    do { return .success(try await self.prepare(instance, in: syntax)) } catch { return .failure(error) }
                }
            }
            startNext()
            for instance in instances {
                let prepared = try await group.next() ?? nil
                startNext()
                guard try await body(instance, prepared) else { return group.cancelAll() }
            }
        }
    }

    /// The stored instances as regions of their files, opened in one trip to the pool: for a sender that hands
    /// files to the kernel (`sendfile`) rather than reading them. A file that is a Part-10 file as Arca writes
    /// them (`DataSetLocation.isPlainPartTen`, its meta naming the row's SOP class and instance: every file
    /// ingest, the compressor and the eDCKV export write) is the region whole, from its first byte
    /// (`isWholeFile`): the sender sends it as it is. Any other (a file indexed by a rebuild with a meta header
    /// naming the wrong syntax or other UIDs, with no meta, no preamble or something in its preamble) is the
    /// region of its dataset, after which the sender writes a Part-10 header of its own. One `open`, `fstat`
    /// and `pread` of the header a file. A region under `inlineLimit` is read in the same trip instead (a
    /// descriptor held per 1 KB object would let a study of small objects hold thousands open). The caller
    /// closes every region it is given (a region not closed is closed when released).
    public func regions(_ instances: ArraySlice<ArchivedInstance>) async throws -> [StoredRegion] {
        let source = self.source
        return try await threadPool.runIfActive { () -> [StoredRegion] in
            var out: [StoredRegion] = []
            out.reserveCapacity(instances.count)
            do {
                for instance in instances {
                    out.append(try Self.openRegion(instance, path: try source.filePath(of: instance)))
                }
            } catch {
                for region in out { region.close() }
                throw error
            }
            return out
        }
    }

    private static func openRegion(_ instance: ArchivedInstance, path: String) throws -> StoredRegion {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        do {
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
            let size = Int(clamping: max(0, Int64(status.st_size)))
            let location = try DICOMFile.locateDataSet(descriptor: fd, path: path)
            let whole = location.isPlainPartTen && location.meta.uid(.mediaStorageSOPInstanceUID) == instance.sopInstanceUID
                && location.meta.uid(.mediaStorageSOPClassUID) == instance.sopClassUID
            let start = whole ? 0 : Int(clamping: location.offset)
            guard start <= size else { throw DICOMParseError(.truncated, offset: UInt64(size), "\(path): the dataset starts past the end") }
            let length = size - start
            guard length < inlineLimit else {
                return StoredRegion(handle: handle, offset: start, length: length, transferSyntax: location.transferSyntax.uid,
                                    meta: location.meta, isWholeFile: whole)
            }
            var bytes = ByteBuffer()
            let read = try bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: max(1, length)) { raw in
                try FileReader.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<length]), at: start, path: path)
            }
            // Read-only: a failing close loses nothing.
            try? handle.close()
            guard read == length else { throw DICOMParseError(.truncated, offset: UInt64(start + read), "\(path): cut short") }
            return StoredRegion(bytes: bytes, transferSyntax: location.transferSyntax.uid, meta: location.meta, isWholeFile: whole)
        } catch {
            try? handle.close()
            throw error
        }
    }

    /// `regions` of `instances` in batches of `batchSize`, each batch handed to `body` in order while the next
    /// `ahead` are opened on the pool (side by side when it has the threads). One batch ahead was not enough: a
    /// batch of 8 large files is sent in well under a millisecond, and the loop then waited ~1.7 ms (strace) for
    /// the next batch's opens and the wake-up that delivers them, every batch. At most `ahead + 1` batches are open.
    public func forEachRegionBatch(_ instances: [ArchivedInstance], batchSize: Int, ahead: Int = 4,
                                   _ body: (ArraySlice<ArchivedInstance>, [StoredRegion]) async throws -> Void) async throws {
        let size = max(1, batchSize)
        try await withThrowingTaskGroup(of: (Int, [StoredRegion]).self) { group in
            // Batches are numbered as opened and handed to `body` in order, whichever open ends first.
            var next = instances.startIndex
            var opened = 0
            func openNext() {
                guard next < instances.endIndex else { return }
                let batch = instances[next..<min(instances.endIndex, next + size)]
                let number = opened
                next = batch.endIndex
                opened += 1
                group.addTask { (number, try await self.regions(batch)) }
            }
            for _ in 0...max(0, ahead) { openNext() }
            var ready: [Int: [StoredRegion]] = [:]
            var start = instances.startIndex
            var wanted = 0
            while start < instances.endIndex {
                while ready[wanted] == nil {
                    guard let (number, regions) = try await group.next() else { return }
                    ready[number] = regions
                }
                guard let regions = ready.removeValue(forKey: wanted) else { return }
                openNext()
                let batch = instances[start..<min(instances.endIndex, start + size)]
                try await body(batch, regions)
                start = batch.endIndex
                wanted += 1
            }
        }
    }

    /// Regions below this size are read, not sent as file regions.
    public static let inlineLimit = 64 << 10

    /// The stored instance's file meta information (SOP class and instance, Source AE Title).
    public func meta(of instance: ArchivedInstance) async throws -> DataSet {
        let source = self.source
        return try await threadPool.runIfActive { try source.open(instance).meta }
    }
}

/// A stored instance as a region of its file (the whole file, or its dataset), on a descriptor of its own: sent by the kernel from the
/// page cache (`FileRegion`), never read into memory; or, when small, its bytes. Closed by whoever sends it,
/// once sent (or not), or when released. The file must not shrink in place meanwhile (NIO would retry a
/// `sendfile` at the end of the file for ever): the archive only ever replaces files by rename, and eDCKV
/// instances are read from their `.retrieve-cache` copies, replaced the same way.
public final class StoredRegion: @unchecked Sendable {
    /// The region's bytes when it is smaller than `InstanceReading.inlineLimit` (no descriptor then).
    public let bytes: ByteBuffer?
    private let handle: NIOFileHandle?
    public let offset: Int
    public let length: Int
    public let transferSyntax: String
    public let meta: DataSet
    /// The region is the whole file, a Part-10 file as Arca writes them (sent as it is); otherwise it is the
    /// dataset alone, after the file's meta information.
    public let isWholeFile: Bool
    /// Whether the descriptor is closed (under the lock: `close` may come from the loop and from `deinit`).
    private let closed = NIOLockedValueBox(false)

    init(handle: NIOFileHandle, offset: Int, length: Int, transferSyntax: String, meta: DataSet, isWholeFile: Bool = false) {
        self.handle = handle
        self.isWholeFile = isWholeFile
        self.bytes = nil
        self.offset = offset
        self.length = length
        self.transferSyntax = transferSyntax
        self.meta = meta
    }

    init(bytes: ByteBuffer, transferSyntax: String, meta: DataSet, isWholeFile: Bool = false) {
        self.handle = nil
        self.isWholeFile = isWholeFile
        self.bytes = bytes
        self.offset = 0
        self.length = bytes.readableBytes
        self.transferSyntax = transferSyntax
        self.meta = meta
    }

    /// The file's region (nil for a small dataset held as `bytes`).
    public var fileRegion: FileRegion? {
        handle.map { FileRegion(fileHandle: $0, readerIndex: offset, endIndex: offset + length) }
    }

    public var isOpen: Bool { closed.withLockedValue { !$0 } && handle != nil }

    /// Closes the descriptor (once, whoever calls first; marked closed only once it is).
    public func close() {
        guard let handle else { return }
        closed.withLockedValue { done in
            guard !done else { return }
            do {
                try handle.close()
                done = true
            } catch {}
        }
    }

    deinit { close() }
}

/// An instance ready to be sent: its stored bytes still on disk, or its re-encoded dataset in memory. Read once,
/// by one task.
public final class PreparedDataSet: @unchecked Sendable {
    /// The stored file meta information (Source AE Title…).
    public let meta: DataSet
    private let reader: ReaderBox?
    private var first: ByteBuffer?
    private let encoded: [UInt8]?
    private let threadPool: NIOThreadPool?

    init(reader: ReaderBox, first: ByteBuffer, meta: DataSet, threadPool: NIOThreadPool) {
        self.reader = reader
        self.first = first
        self.meta = meta
        self.encoded = nil
        self.threadPool = threadPool
    }

    init(encoded: [UInt8], meta: DataSet) {
        self.reader = nil
        self.meta = meta
        self.encoded = encoded
        self.threadPool = nil
    }

    /// The dataset's bytes, in pieces of at most `InstanceReading.readPiece`: a stored file's bytes are read
    /// straight into the buffers that are sent.
    public func read(_ emit: (ByteBuffer) async throws -> Void) async throws {
        if let encoded {
            var start = 0
            while start < encoded.count {
                let end = min(encoded.count, start + InstanceReading.readPiece)
                try await emit(ByteBuffer(bytes: encoded[start..<end]))
                start = end
            }
            return
        }
        guard let reader, let threadPool else { return }
        var piece = first ?? ByteBuffer()
        first = nil
        while piece.readableBytes > 0 {
            try await emit(piece)
            // A short piece is the last one (`StoredInstanceReader`): no trip to the pool to learn it.
            if piece.readableBytes < InstanceReading.readPiece { return }
            piece = try await threadPool.runIfActive {
                var next = ByteBuffer()
                try reader.value.readChunk(into: &next, maxLength: InstanceReading.readPiece)
                return next
            }
        }
    }
}

/// A stored instance's reader handed between the task and the pool threads that read it, one at a time.
final class ReaderBox: @unchecked Sendable {
    let value: any StoredInstanceReader
    init(_ value: any StoredInstanceReader) { self.value = value }
}
