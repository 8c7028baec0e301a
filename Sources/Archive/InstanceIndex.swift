import Dispatch

/// One archived instance as the index records it.
public struct InstanceRecord: Sendable, Equatable {
    public var attributes: InstanceAttributes
    /// Relative to the archive root.
    public var filePath: String
    public var fileSize: UInt64
    /// BLAKE3 of the file's bytes, 64 lowercase hex digits; for an instance acknowledged from the ingest
    /// journal and not yet in place, a placeholder (`JournalChecksum.isPlaceholder`) until the materializer
    /// records its BLAKE3 (`settleHashes`).
    public var fileHash: String
    public var transferSyntaxUID: String
    /// ISO 8601, UTC.
    public var receivedAt: String
    public var callingAETitle: String

    public init(attributes: InstanceAttributes, filePath: String, fileSize: UInt64, fileHash: String,
                transferSyntaxUID: String, receivedAt: String, callingAETitle: String) {
        self.attributes = attributes
        self.filePath = filePath
        self.fileSize = fileSize
        self.fileHash = fileHash
        self.transferSyntaxUID = transferSyntaxUID
        self.receivedAt = receivedAt
        self.callingAETitle = callingAETitle
    }
}

/// A journaled instance's BLAKE3, computed as the materializer copied it into place, for the row that holds
/// `placeholder` in its stead.
public struct SettledHash: Sendable, Equatable {
    public let sopInstanceUID: String
    public let filePath: String
    public let placeholder: String
    public let hash: String

    public init(sopInstanceUID: String, filePath: String, placeholder: String, hash: String) {
        self.sopInstanceUID = sopInstanceUID
        self.filePath = filePath
        self.placeholder = placeholder
        self.hash = hash
    }
}

/// What an instance's row says of the copy it names.
public struct IndexedCopy: Sendable, Equatable {
    /// Relative to the archive root.
    public var filePath: String
    /// BLAKE3 (hex), or a journaled instance's placeholder.
    public var fileHash: String
    /// ISO 8601, UTC (`Timestamp`).
    public var receivedAt: String

    public init(filePath: String, fileHash: String, receivedAt: String) {
        self.filePath = filePath
        self.fileHash = fileHash
        self.receivedAt = receivedAt
    }
}

/// The index behind the archive (SQLite by default). `record` returns once the row is committed.
public protocol InstanceIndex: Sendable {
    /// The archived file of this SOP Instance UID, if any.
    func filePath(ofInstance sopInstanceUID: String) async throws -> String?
    /// Inserts the instance, or replaces the row of the same SOP Instance UID.
    func record(_ record: InstanceRecord) async throws
    func remove(instance sopInstanceUID: String) async throws

    /// Blocking forms, for the archive's I/O threads (never an event loop or the cooperative pool): a commit
    /// runs its duplicate check, the file's placement and its row in one trip to the file's writer thread.
    func filePathNow(ofInstance sopInstanceUID: String) throws -> String?
    func recordNow(_ record: InstanceRecord) throws
    /// `remove(instance:)` for synchronous callers (and a commit taking back a row whose instance it could not
    /// write).
    func removeNow(instance sopInstanceUID: String) throws
    /// The path, hash and reception time of the instance's row, every row queued before this call included
    /// (recovery asks whether a journaled copy is still the one its row names, and where the row's file is).
    func indexedCopyNow(ofInstance sopInstanceUID: String) throws -> IndexedCopy?
    /// Runs `place` (the rename that puts a journaled instance's file at its path) only if the instance's row still
    /// names `placeholder`, and while no other node places the same instance; answers whether it ran. Several
    /// nodes replacing one instance moments apart would otherwise each rename onto its path, in whatever order
    /// their materializers came to it. An index only this process writes runs it (its materializer places in
    /// the order of the commits).
    func placeIfCurrent(_ sopInstanceUID: String, placeholder: String, _ place: @escaping @Sendable () throws -> Void) throws -> Bool

    /// Several nodes on one index (PostgreSQL): claims the instance for this node's commit, so a second node
    /// receiving it at the same moment waits for that commit, then answers by the duplicate policy, instead of
    /// placing its file over the first one's. An index only one process writes (SQLite) always grants it.
    func claim(instance sopInstanceUID: String) async throws -> InstanceClaim
    /// How many instance rows every process has recorded in this index, each counted before its commit and again
    /// after it (twice: a process killed in between has still moved the count); nil when
    /// this process cannot know (several nodes on PostgreSQL): then a row it did not record can appear at any
    /// moment, and a duplicate lookup holds only inside `claim`.
    var recordedRowCount: UInt64? { get }
    /// Other nodes answer from this index (PostgreSQL shared by several nodes): a row this process records is
    /// found at once by readers that cannot wait for this process to put the file in place.
    var isReadByOtherNodes: Bool { get }
    /// How the nodes sharing this index ask each other for instances still in their journals (nil: no other
    /// node reads it).
    var placementNotices: (any PlacementNotices)? { get }
    /// Ends a claim whose commit wrote no row (refused, ignored, failed): a commit's row
    /// (`recordNow(_:endingClaim: true)`) ends this node's claim on it in the row's own transaction.
    func release(instance sopInstanceUID: String) async
    /// How long another node waits on a claim its holder does not renew (nil: claims do not expire, as on an
    /// index one process writes). A commit's claim is renewed (`renew`) well within it for as long as it runs.
    var claimLease: Duration? { get }
    /// Restarts the lease of this node's claims on the instances.
    func renew(instances sopInstanceUIDs: [String]) async
    /// `recordNow`, from a commit that holds the instance's claim: with `endingClaim`, the row's transaction
    /// ends the claim too (one round trip less), so call it only once the instance is durable: from then on
    /// another node may find the row and act on it.
    func recordNow(_ record: InstanceRecord, endingClaim: Bool) throws
    /// `recordNow(_:endingClaim:)` for an instance an ingest journal holds durably: the row need not be durable
    /// when this returns (PostgreSQL commits it without waiting for its WAL flush), for the journal keeps the
    /// instance until a `makeRowsDurable` called after this returned has returned.
    func recordJournaled(_ record: InstanceRecord, endingClaim: Bool) throws
    /// Makes durable every row `recordJournaled` recorded before this call, before a journal forgets the
    /// instances behind them; rows the database lost meanwhile (its server crashed) are recorded again.
    func makeRowsDurable() throws
    /// Replaces each row's placeholder hash with the BLAKE3 the materializer computed. A row that no longer holds
    /// that placeholder (the instance replaced or removed since) is left as it is. Durable once the archive's file
    /// system is synced (SQLite) or when it returns (a database server).
    func settleHashes(_ hashes: [SettledHash]) throws
    /// For an index that commits journaled rows after `recordJournaled` returns (SQLite's pending rows): calls
    /// `body` with the SOP Instance UIDs of each commit's rows once they are committed. Such an index counts each
    /// journaled row in `recordedRowCount` twice, when queued and when committed. Others never call it.
    func observeJournaledCommits(_ body: @escaping @Sendable ([String]) -> Void)
    /// Whether the index certainly has no row of the instance, answered from memory without a lookup; false when
    /// it cannot tell. Only an index one machine writes knows (SQLite, once `startKnowing` has run).
    func certainlyAbsent(_ sopInstanceUID: String) -> Bool
    /// Blocking, on a thread of its own, once the server accepts instances: reads what `certainlyAbsent` needs.
    func startKnowing() throws
}

public enum InstanceClaim: Sendable, Equatable {
    /// Claimed; the commit looks the instance up (the index may have a row of it).
    case claimed
    /// Claimed, and the index had no row of it when the claim was granted. No commit can record one while the
    /// claim is held (other nodes' commits claim first; this node commits one instance at a time; a takeover,
    /// a recovery or the compressor records instances already recorded), so the commit need not look.
    case claimedNew
    /// Another node is committing this instance right now.
    case heldElsewhere
}

extension InstanceIndex {
    /// `recordNow` off the caller's thread (tests and tools; the server records on its writer threads).
    public func record(_ record: InstanceRecord) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.recordNow(record) }) }
        }
    }

    public func claim(instance sopInstanceUID: String) async throws -> InstanceClaim { .claimed }
    public func release(instance sopInstanceUID: String) async {}
    public var claimLease: Duration? { nil }
    public func renew(instances sopInstanceUIDs: [String]) async {}
    public func recordNow(_ record: InstanceRecord, endingClaim: Bool) throws { try recordNow(record) }
    public func placeIfCurrent(_ sopInstanceUID: String, placeholder: String, _ place: @escaping @Sendable () throws -> Void) throws -> Bool {
        try place()
        return true
    }
    public func recordJournaled(_ record: InstanceRecord, endingClaim: Bool) throws { try recordNow(record, endingClaim: endingClaim) }
    /// An index in the archive's own file system (SQLite): the materializer's `syncfs` makes its rows durable.
    public func makeRowsDurable() throws {}
    public func observeJournaledCommits(_ body: @escaping @Sendable ([String]) -> Void) {}
    public var recordedRowCount: UInt64? { nil }
    public var isReadByOtherNodes: Bool { false }
    public var placementNotices: (any PlacementNotices)? { nil }
    public func certainlyAbsent(_ sopInstanceUID: String) -> Bool { false }
    public func startKnowing() throws {}
}
