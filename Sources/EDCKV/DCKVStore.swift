import Archive
import DICOM
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The eDCKV store of an archive, as `arca serve --store dckv` uses it: `<archive>/dckv/`, this process's
/// spool for received instances, and a merger that runs here whenever this process holds the archive's
/// merge lock (§5).
public final class DCKVStore: Sendable {
    public static let folder = FileArchive.edckvFolder
    public let root: String
    public let spool: Spool
    public let merger: Merger

    public init(archiveRoot: String, policy: DuplicatePolicy) throws {
        root = archiveRoot + "/" + Self.folder
        spool = try Spool(root: root)
        merger = Merger(root: root, policy: policy)
    }

    /// Spools the Part-10 file at `path` durably; returns its index location, relative to the archive root:
    /// `dckv/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>` (the study folder the merger keeps it in).
    public func store(partTenFileAt path: String) throws -> String {
        location(try spool.store(partTenFileAt: path))
    }

    /// Spools an instance's bytes (see `Spool.store(_:durable:)`); answers its location. `at`: the location its
    /// index row already names (`location(studyInstanceUID:studyDate:sopInstanceUID:)`, computed when the journal
    /// acknowledged it), whose study folder it goes into: the spool's own reading of the Study Date could differ
    /// from the row's (a leading NUL, another VR), and the instance placed elsewhere than its row said stopped
    /// the materializer, and every store behind it, for good.
    public func store(_ bytes: some InstanceBytes, durable: Bool = true, at location: String? = nil) throws -> String {
        let studyPath = location.map { $0.split(separator: "/").dropFirst().dropLast().joined(separator: "/") }
        return self.location(try spool.store(bytes, durable: durable, studyPath: studyPath))
    }

    /// Where an instance will be, before it is spooled (the journal acknowledges it there): the same folder
    /// the spool and the merger give it.
    public func location(studyInstanceUID: String, studyDate: String, sopInstanceUID: String) throws -> String {
        Self.folder + "/" + (try StudyLayout.studyPath(studyInstanceUID: studyInstanceUID, studyDate: studyDate))
            + "/" + (try B64UID.encode(sopInstanceUID))
    }

    /// The index location of a spooled instance: `dckv/<StudyDate>/<b64uid(study)>/<b64uid(SOP)>`.
    public func location(_ stored: Spool.Stored) -> String {
        Self.folder + "/" + stored.location
    }

    /// Merge passes every `interval` (studies quiet for `quietSeconds`) while this process holds the lock (trying to take it between passes),
    /// until the task is cancelled. Passes run on their own thread: they block on file I/O.
    /// With `election` (several nodes on one PostgreSQL index), this process merges only once elected there too.
    public func runMerger(interval: Duration, quietSeconds: Double = 0, election: (any LeaderElection)? = nil,
                          onPass: @escaping @Sendable (Result<Merger.Report, Error>) -> Void) async {
        let queue = DispatchQueue(label: "arca.dckv.merger")
        let holder = LockHolder(election: election)
        while !Task.isCancelled {
            let merger = self.merger
            let result: Result<Merger.Report, Error>? = await withCheckedContinuation { continuation in
                queue.async {
                    do {
                        guard let lock = try holder.lock(merger.layout) else { continuation.resume(returning: nil); return }
                        continuation.resume(returning: .success(try merger.mergeOnce(lock, quietSeconds: quietSeconds)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
            if let result { onPass(result) }
            try? await Task.sleep(for: interval)
        }
        queue.sync { holder.release() }
    }

    /// The lock, kept between passes once taken; with an election, only while this process is still elected
    /// (asked before every pass: a node whose index connection was lost may have lost the role to another).
    /// Used only on the merger's queue.
    private final class LockHolder: @unchecked Sendable {
        static let role = "edckv-merger"
        private var held: MergeLock?
        private let election: (any LeaderElection)?
        init(election: (any LeaderElection)?) { self.election = election }
        func lock(_ layout: StudyLayout) throws -> MergeLock? {
            if let election, try !election.tryLead(Self.role) {
                held = nil
                return nil
            }
            if held == nil { held = try MergeLock.tryAcquire(layout) }
            return held
        }
        func release() { held = nil }
    }
}
