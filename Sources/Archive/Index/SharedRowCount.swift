import CArcaIO
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many instance rows every process on one SQLite index has recorded: a counter in a small file beside the
/// database (`index.db-rows`), mapped shared, which each process adds to before and after it commits a row.
/// With the rows this process counted itself, it tells a process whether any other one recorded a row in the
/// meantime (several servers may share an archive and its index), which an early duplicate lookup needs to
/// know (`FileArchive.lookUpEarly`). Nil from `map` when the file cannot be mapped: then no lookup is made early.
final class SharedRowCount: @unchecked Sendable {
    /// A page of its own, mapped for the whole life of the index; only `arca_shared_*` touch it.
    private let counter: UnsafeMutablePointer<UInt64>
    private let mapping: UnsafeMutableRawPointer
    private static let size = 4096

    private init(mapping: UnsafeMutableRawPointer) {
        self.mapping = mapping
        counter = mapping.bindMemory(to: UInt64.self, capacity: 1)
    }

    static func map(_ path: String) -> SharedRowCount? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        // A shorter file (new, or cut by someone) is extended with zeros; the counter only ever counts on.
        guard fstat(fd, &status) == 0, status.st_size >= size || ftruncate(fd, off_t(size)) == 0 else { return nil }
        guard let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapping != MAP_FAILED else { return nil }
        return SharedRowCount(mapping: mapping)
    }

    deinit { munmap(mapping, Self.size) }

    var value: UInt64 { arca_shared_load(counter) }

    /// Before the rows are committed, and again after.
    func add(_ rows: Int) {
        guard rows > 0 else { return }
        arca_shared_add(counter, UInt64(rows))
    }
}

/// The shared count beside the rows this process added to it, read together: what tells whether another
/// process recorded a row between two readings (`SQLiteIndex.certainlyAbsent`). Added and read under one lock,
/// so a reading never sees this process's addition in one count and not in the other.
final class RowCounts: Sendable {
    let shared: SharedRowCount
    private let own = NIOLockedValueBox<UInt64>(0)

    init(shared: SharedRowCount) { self.shared = shared }

    func add(_ rows: Int) {
        own.withLockedValue { own in
            shared.add(rows)
            own += UInt64(max(rows, 0))
        }
    }

    /// This process's rows and every process's rows, as of one moment of this process.
    func read() -> (own: UInt64, all: UInt64) {
        own.withLockedValue { own in (own, shared.value) }
    }

    /// Whether only this process added rows between `mark` and now.
    func onlyOwnSince(_ mark: (own: UInt64, all: UInt64)) -> Bool {
        let now = read()
        return now.all >= mark.all && now.own >= mark.own && now.all - mark.all == now.own - mark.own
    }
}
