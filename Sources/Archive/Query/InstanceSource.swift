import BLAKE3
import DICOM
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Reads stored instances by their index location (a file of the archive, or an eDCKV study): what queries
/// read the attributes the index lacks from, and what retrieval sends. Blocking: call from an I/O thread.
public protocol InstanceSource: Sendable {
    /// The attributes before the pixel data.
    func header(at location: String) throws -> DataSet
    /// The instance as stored, to be sent: its transfer syntax and its dataset's bytes in pieces.
    func open(_ location: String) throws -> any StoredInstanceReader
    /// Whether the stored bytes are still those recorded (`hash`: the BLAKE3 hex the index holds).
    func isIntact(_ location: String, hash: String) throws -> Bool
    /// Blocks until an instance acknowledged from the ingest journal is in place and durable (at once for any
    /// other): then its row holds its BLAKE3, not a placeholder.
    func waitInPlace(_ location: String)
    /// Blocks until this process's materializer is done with `location` (in place, and made durable by its
    /// `syncfs`), for at most its wait's 30 s; answers whether it is. A row's placeholder becomes the BLAKE3 just
    /// before that `syncfs`, so a settled hash alone does not say the file is durable (storage commitment).
    func waitDurable(_ location: String) -> Bool
    /// A Part-10 file on disk holding the instance (the archived file, or an eDCKV instance rebuilt), for the
    /// pixel pipeline, which reads only the frames it needs, and for WADO-RS, which hands it to the kernel
    /// (`sendfile`): such a file is only ever replaced by rename, never changed in place.
    func filePath(_ location: String) throws -> String
}

extension InstanceSource {
    /// A source without an ingest journal of its own has every instance in place.
    public func waitInPlace(_ location: String) {}
    public func waitDurable(_ location: String) -> Bool { true }
}

/// A stored instance's dataset, read in order.
public protocol StoredInstanceReader: AnyObject {
    var transferSyntax: TransferSyntax { get }
    /// The file meta information (Source AE Title, SOP class and instance).
    var meta: DataSet { get }
    /// The next piece of `maxLength` bytes, fewer only for the last piece; empty at the end.
    func readChunk(maxLength: Int) throws -> [UInt8]
    /// The next piece appended to `buffer` (what is sent: a file's bytes are read straight into it).
    func readChunk(into buffer: inout ByteBuffer, maxLength: Int) throws
}

extension StoredInstanceReader {
    public func readChunk(into buffer: inout ByteBuffer, maxLength: Int) throws {
        buffer.writeBytes(try readChunk(maxLength: maxLength))
    }
}

/// Reading an instance from its index row: a row whose hash is still a placeholder (acknowledged, not yet in
/// place, perhaps by another node) is waited for first (`waitInPlace`), here rather than at each reader.
extension InstanceSource {
    public func header(of instance: ArchivedInstance) throws -> DataSet {
        try header(at: instance.location, pending: JournalChecksum.isPlaceholder(instance.hash))
    }

    /// The header at `location`, waited for first when its row's hash is a placeholder (`pending`).
    func header(at location: String, pending: Bool) throws -> DataSet {
        if pending { waitInPlace(location) }
        return try header(at: location)
    }

    public func open(_ instance: ArchivedInstance) throws -> any StoredInstanceReader {
        waitIfPending(instance)
        return try open(instance.location)
    }

    public func filePath(of instance: ArchivedInstance) throws -> String {
        waitIfPending(instance)
        return try filePath(instance.location)
    }

    func waitIfPending(_ instance: ArchivedInstance) {
        if JournalChecksum.isPlaceholder(instance.hash) { waitInPlace(instance.location) }
    }
}

/// The archive's Part-10 files, and (through `edckv`) instances kept only in the eDCKV store.
public struct ArchiveInstanceSource: InstanceSource {
    public let root: String
    public let edckv: (any InstanceSource)?
    /// An acknowledged instance still in the ingest journal is read once its file is in place (a batch takes
    /// milliseconds), so every reader sees a whole Part-10 file.
    public let materializer: Materializer?

    public init(root: String, edckv: (any InstanceSource)? = nil, materializer: Materializer? = nil) {
        self.root = root
        self.edckv = edckv
        self.materializer = materializer
    }

    public func header(at location: String) throws -> DataSet {
        if FileArchive.isEDCKVLocation(location) {
            return try store(location).header(at: location)
        }
        return try DICOMFile.read(path: try path(location), options: .headerOnly).dataSet
    }

    public func open(_ location: String) throws -> any StoredInstanceReader {
        if FileArchive.isEDCKVLocation(location) {
            return try store(location).open(location)
        }
        return try PartTenFileReader(path: try path(location))
    }

    public func filePath(_ location: String) throws -> String {
        if FileArchive.isEDCKVLocation(location) {
            return try store(location).filePath(location)
        }
        return try path(location)
    }

    /// A file is hashed again; an eDCKV instance (its bytes re-encoded into the study files) must rebuild.
    public func isIntact(_ location: String, hash: String) throws -> Bool {
        if FileArchive.isEDCKVLocation(location) {
            return try store(location).isIntact(location, hash: hash)
        }
        return BLAKE3.hex(try BLAKE3.hashFile(atPath: try path(location))) == hash
    }

    /// Waits for an instance whose row holds a placeholder hash (acknowledged, not yet in place): this node's
    /// materializer places it, or, on an index other nodes share, the node whose journal holds it, asked to place
    /// what it holds now (`PlacementNotices`), within `placementTimeout`. Only for such rows: a file missing from a
    /// settled row is missing, and its reader fails at once.
    public func waitInPlace(_ location: String) {
        materializer?.waitMaterialized(location)
        guard let notices = materializer?.notices else { return }
        let present: () -> Bool
        if FileArchive.isEDCKVLocation(location) {
            guard let edckv else { return }
            // Spooled by the node that received it (its spool, then its merged study, rebuild the file).
            present = { (try? edckv.filePath(location)) != nil }
        } else {
            let path = root + "/" + location
            present = { FileManager.default.fileExists(atPath: path) }
        }
        guard !present() else { return }
        notices.requestPlacement()
        _ = notices.wait(timeout: Self.placementTimeout, until: present)
    }

    public func waitDurable(_ location: String) -> Bool {
        guard let materializer else { return true }
        materializer.waitMaterialized(location)
        return !materializer.isPending(location)
    }

    /// A node places what it holds within `Materializer.Hold.maxHold` (5 s) even if the request never reached
    /// it; asked, within milliseconds.
    static let placementTimeout = 6.0

    /// The eDCKV store, once an instance acknowledged into the journal has been spooled.
    func store(_ location: String) throws -> any InstanceSource {
        guard let edckv else { throw ArchiveError.io("\(location): the eDCKV store is not open") }
        materializer?.waitMaterialized(location)
        return edckv
    }

    /// The absolute path of a location, refusing anything that would leave the archive.
    func path(_ location: String) throws -> String {
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw ArchiveError.io("\(location): not a location inside the archive")
        }
        materializer?.waitMaterialized(location)
        return root + "/" + location
    }
}

/// A Part-10 file's dataset, read from where its meta information ends.
public final class PartTenFileReader: StoredInstanceReader {
    public let transferSyntax: TransferSyntax
    public let meta: DataSet
    private let reader: FileReader

    public init(path: String) throws {
        // The syntax the bytes are really in (a meta header naming the other little-endian syntax is tolerated).
        let location = try DICOMFile.locateDataSet(path: path)
        self.meta = location.meta
        self.transferSyntax = location.transferSyntax
        reader = try FileReader(path: path)
        try reader.seek(to: location.offset)
    }

    public func readChunk(maxLength: Int) throws -> [UInt8] { try reader.readChunk(maxLength: maxLength) }

    public func readChunk(into buffer: inout ByteBuffer, maxLength: Int) throws {
        let wanted = min(max(1, maxLength), try reader.remaining())
        guard wanted > 0 else { return }
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { raw in
            try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<wanted]))
        }
    }
}

/// Recently read headers by location, so a query answering many rows of one series or study reads the file
/// once. Bounded by count; the oldest entry goes first.
final class HeaderCache: Sendable {
    private struct State {
        var entries: [String: DataSet] = [:]
        var order: [String] = []
    }
    private let state = NIOLockedValueBox(State())
    let capacity: Int

    init(capacity: Int = 512) { self.capacity = capacity }

    func header(_ location: String, _ load: () throws -> DataSet) throws -> DataSet {
        if let hit = state.withLockedValue({ $0.entries[location] }) { return hit }
        let ds = try load()
        state.withLockedValue { s in
            if s.entries.updateValue(ds, forKey: location) == nil { s.order.append(location) }
            while s.order.count > capacity {
                s.entries.removeValue(forKey: s.order.removeFirst())
            }
        }
        return ds
    }

    /// The header of `location` if it is cached (nothing read).
    func cached(_ location: String) -> DataSet? {
        state.withLockedValue { $0.entries[location] }
    }

    /// A stored instance changed (replaced, removed): its header is read again next time.
    func invalidate(_ location: String) {
        state.withLockedValue { s in
            if s.entries.removeValue(forKey: location) != nil { s.order.removeAll { $0 == location } }
        }
    }
}
