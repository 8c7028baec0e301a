import Archive
import BLAKE3
import CArcaIO
import DICOM
import Dispatch
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One instance on its way into a spool (§5), as the encoder streams it: per category a file in the hidden
/// instance folder, hashed on the way. `finish` names each file `<prefix hex>.<blake3 hex>`, makes everything
/// durable and renames the folder visible in one step; `discard` removes it.
public final class SpoolInstanceWriter: EntryOutput {
    private let spool: Spool
    private var identity: InstanceIdentity?
    private var folder = ""
    private var hidden = ""
    private var files: [Category: CategoryFile] = [:]

    /// One category's bytes: in memory while small (hashed at the end, the file then created under its final
    /// name), else in a temporary file written as they arrive (O_DIRECT, like an incoming Part-10 file, and
    /// hashed by its background writer on the way) and renamed to its hash name at the end. Used by one
    /// thread at a time (the encoder's, then one of `finish`'s).
    final class CategoryFile: @unchecked Sendable {
        let directory: String
        let category: Category
        private let buffers: AlignedBufferPool
        private var buffer: [UInt8] = []
        private var spill: DirectFile?
        private(set) var fd: Int32 = -1
        private var tempPath: String { directory + "/.tmp-" + category.letter }
        private let hasher = HasherBox()
        var lastKey: [UInt8]?
        /// Larger categories (pixel data, in practice) go to disk while the rest of the instance arrives.
        static let memoryLimit = 256 << 10

        init(directory: String, category: Category, buffers: AlignedBufferPool) {
            self.directory = directory
            self.category = category
            self.buffers = buffers
        }

        deinit { if fd >= 0 { close(fd) } }

        func put(_ bytes: UnsafeRawBufferPointer) throws {
            if spill == nil {
                if buffer.count + bytes.count <= Self.memoryLimit {
                    buffer.append(copying: bytes)
                    return
                }
                try startSpill()
            }
            try spill?.append(bytes)
        }

        /// `count` more bytes are coming (an entry and its value): spilled now if they would not fit in memory,
        /// rather than gathered in memory first and copied over.
        func expect(_ count: Int) throws {
            if spill == nil && buffer.count + count > Self.memoryLimit { try startSpill() }
        }

        private func startSpill() throws {
            let hasher = self.hasher
            spill = try DirectFile(creating: tempPath, pool: buffers) { hasher.update($0) }
            let held = buffer
            buffer = []
            try held.withUnsafeBytes { try spill?.append($0) }
        }

        /// The file under its name `<prefix hex>.<blake3 hex>`, written (not yet fsynced).
        func complete(prefix: Prefix) throws {
            if spill != nil {
                try spill?.writeAll()
                fd = spill?.takeDescriptor() ?? -1
                spill = nil
                try Directory.rename(tempPath, directory + "/" + prefix.hex + "." + hasher.hex())
            } else {
                hasher.update(buffer)
                let path = directory + "/" + prefix.hex + "." + hasher.hex()
                fd = createFile(path)
                guard fd >= 0 else { throw IncomingFile.error("create", path, errno) }
                do { try FileWriter.writeAll(fd, buffer, path: path) } catch let e as FileError { throw IncomingFile.error("write", path, e.errno) }
                _ = arca_start_writeback(fd, 0, Int64(buffer.count))
                buffer = []
            }
        }
    }

    /// The study folder decided by the caller, if any (`Spool.store(_:durable:studyPath:)`).
    private let givenStudyPath: String?

    init(spool: Spool, studyPath: String? = nil) {
        self.spool = spool
        givenStudyPath = studyPath
    }

    /// The instance's study folder: the one given, which must be its study's, else its own Study Date's.
    private func studyPath(_ identity: InstanceIdentity) throws -> String {
        let own = try StudyLayout.studyPath(studyInstanceUID: identity.studyInstanceUID, studyDate: identity.studyDate)
        guard let given = givenStudyPath else { return own }
        guard given.split(separator: "/").last == own.split(separator: "/").last, given.split(separator: "/").count == 2 else {
            throw EDCKVError("study folder \(given.prefix(80)) given for an instance of study folder \(own)")
        }
        return given
    }

    public func open(_ identity: InstanceIdentity) throws {
        self.identity = identity
        let studyPath = try studyPath(identity)
        folder = spool.directory + "/" + studyPath
        if !FS.isDirectory(folder) { try FS.createDurably(folder) }
        // A name of this writer's own: two writers of one SOP Instance UID at once (two associations, without the
        // journal) shared `.<sop>`, the second deleted the first's folder, and the first then published the
        // second's half-written one.
        hidden = folder + "/." + (try B64UID.encode(identity.sopInstanceUID)) + "." + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        guard mkdir(hidden, 0o755) == 0 else { throw IncomingFile.error("mkdir", hidden, errno) }
    }

    public func begin(_ c: Category, key: [UInt8], length: Int) throws {
        let file = try self.file(c)
        if let last = file.lastKey, !last.lexicographicallyPrecedes(key) {
            throw EDCKVError("category \(c): keys not ascending at \(EntryCodec.hex(key)) (elements out of order?)")
        }
        file.lastKey = key
        var header: [UInt8] = []
        Entry.encodeHeader(key: key, valueLength: length, into: &header)
        try file.expect(header.count + length)
        try header.withUnsafeBytes { try file.put($0) }
    }

    public func append(_ c: Category, _ bytes: UnsafeRawBufferPointer) throws {
        try file(c).put(bytes)
    }

    private func file(_ c: Category) throws -> CategoryFile {
        if let f = files[c] { return f }
        guard !hidden.isEmpty else { throw EDCKVError("entry before the instance's identity") }
        let f = CategoryFile(directory: hidden, category: c, buffers: spool.writeBuffers)
        files[c] = f
        return f
    }

    /// Names, fsyncs and publishes the instance: every file completed under its name (writeback started),
    /// the files and the folder fsynced together, the folder renamed visible, its parent fsynced. Not
    /// `durable`: named and published without an fsync, for a caller whose own flush covers it before anything
    /// depends on it (the ingest journal's materializer: one syncfs per batch, and the journal keeps the
    /// instance, which recovery spools again, until then).
    public func finish(durable: Bool = true) throws -> Spool.Stored {
        guard let identity else { throw EDCKVError("no instance was encoded") }
        do {
            if !durable {
                for (category, file) in files { try file.complete(prefix: identity.prefix(category)) }
                return try publish(identity)
            }
            // Each file completed (a spilled one waits for its background writes) and fsynced on a thread of
            // its own, and the folder fsynced once every file has its name: the device gets all of them at once.
            let all = files.map { (category: $0.key, file: $0.value) }
            let hidden = self.hidden
            let dirFD = openDirectory(hidden)
            guard dirFD >= 0 else { throw IncomingFile.error("open", hidden, errno) }
            defer { close(dirFD) }
            let failures = NIOLockedValueBox<[Error]>([])
            let named = DispatchGroup()
            for _ in all { named.enter() }
            DispatchQueue.concurrentPerform(iterations: all.count + 1) { i in
                guard i < all.count else {
                    // Iterations start in order, so every file's iteration is running by now.
                    named.wait()
                    if fsync(dirFD) != 0 { let e = errno; failures.withLockedValue { $0.append(IncomingFile.error("fsync", hidden, e)) } }
                    return
                }
                let (category, file) = all[i]
                do {
                    defer { named.leave() }
                    try file.complete(prefix: identity.prefix(category))
                } catch {
                    failures.withLockedValue { $0.append(error) }
                    return
                }
                if fsync(file.fd) != 0 { let e = errno; failures.withLockedValue { $0.append(IncomingFile.error("fsync", hidden, e)) } }
            }
            if let first = failures.withLockedValue({ $0.first }) { throw first }
            let stored = try publish(identity)
            try Directory.sync(folder)
            return stored
        } catch {
            discard()
            throw error
        }
    }

    /// Renames the hidden folder visible (replacing an unmerged copy of the same instance atomically).
    private func publish(_ identity: InstanceIdentity) throws -> Spool.Stored {
        do {
            files = [:]
            let sop = try B64UID.encode(identity.sopInstanceUID)
            let visible = folder + "/" + sop
            // The same instance again, not merged yet (or published by another writer a moment ago): the newer
            // copy takes its place atomically.
            var exchange = Directory.exists(visible)
            if !exchange && rename(hidden, visible) != 0 {
                let error = errno
                guard error == ENOTEMPTY || error == EEXIST else { throw IncomingFile.error("rename", visible, error) }
                exchange = true
            }
            if exchange {
                guard arca_exchange(hidden, visible) == 0 else { throw IncomingFile.error("exchange", visible, errno) }
                FS.removeTree(hidden)
            }
            let studyPath = try studyPath(identity)
            return Spool.Stored(studyPath: studyPath, sopInstanceUID: identity.sopInstanceUID,
                                path: spool.relativeDirectory + "/" + studyPath + "/" + sop, location: studyPath + "/" + sop)
        } catch {
            discard()
            throw error
        }
    }

    /// Drops what was written (a refusal, an error).
    public func discard() {
        files = [:]
        if !hidden.isEmpty { FS.removeTree(hidden) }
    }
}

/// A category's BLAKE3 state, updated in file order by whichever thread writes the bytes (the appender, or
/// the spill file's background writer: `DirectFile.writeAll` orders the two).
final class HasherBox: @unchecked Sendable {
    private var hasher = BLAKE3()
    func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bytes) }
    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { hasher.update($0) } }
    func hex() -> String { BLAKE3.hex(hasher.finalize()) }
}

private func createFile(_ path: String) -> Int32 { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
private func openDirectory(_ path: String) -> Int32 { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
