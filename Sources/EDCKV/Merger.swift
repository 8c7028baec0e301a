import Archive
import BLAKE3
import CArcaIO
import DICOM
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The upper layer (§5): the single writer of study directories. Each pass takes the visible spooled
/// instances, merges them into their studies' composite files (duplicate policy per SOP Instance UID, unique
/// series/instance prefixes) and removes them from the spool.
///
/// A study changes in one step: its new files are written and fsynced in a hidden sibling folder, which is
/// then exchanged with the study folder (`renameat2(RENAME_EXCHANGE)`); readers see the old set or the new
/// one. Merged spool folders are first renamed hidden, then removed. Killed at any point, the next pass
/// finds either the old study and the spooled instances (and redoes the merge) or the new study and spooled
/// instances it already holds (which the duplicate rules then drop or rewrite identically): nothing is lost,
/// nothing is stored twice.
public final class Merger: Sendable {
    public let layout: StudyLayout
    public let policy: DuplicatePolicy
    /// Instances merged per study rewrite: progress is committed in steps, and the small categories of one
    /// step are what a pass holds in memory.
    public let batchSize: Int

    /// Studies that failed to merge, by study path, with what they held then (`signature`): one is not read again
    /// (its spool files hashed, its failure logged) until that changes. Retried every pass, a damaged study cost a
    /// full re-read and an error line every two seconds.
    private let failedBefore = NIOLockedValueBox<[String: Int]>([:])

    public init(root: String, policy: DuplicatePolicy = .reject, batchSize: Int = 200) {
        layout = StudyLayout(root: root)
        self.policy = policy
        self.batchSize = max(1, batchSize)
    }

    public struct Report: Sendable, Equatable {
        public var studies = 0
        public var merged = 0
        public var duplicatesDropped = 0
        public var replaced = 0
        /// Spooled instances of studies still receiving, left for a later pass.
        public var waiting = 0
        /// Studies this pass could not merge, with why: left spooled as they are, for the next pass (and an
        /// administrator) to see, while the others merge.
        public var failed: [(study: String, error: String)] = []

        public static func == (a: Report, b: Report) -> Bool {
            (a.studies, a.merged, a.duplicatesDropped, a.replaced, a.waiting) == (b.studies, b.merged, b.duplicatesDropped, b.replaced, b.waiting)
                && a.failed.map(\.study) == b.failed.map(\.study) && a.failed.map(\.error) == b.failed.map(\.error)
        }
    }

    /// One pass over the spool. The caller holds the `MergeLock`. `quietSeconds`: a study whose newest
    /// spooled instance is younger waits for a later pass (while a study arrives, merging it again and again
    /// would rewrite its pixel file each time).
    public func mergeOnce(_ lock: MergeLock, quietSeconds: Double = 0) throws -> Report {
        _ = lock
        removeLeftovers()
        var report = Report()
        let pending = scanSpool()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let cutoff = (Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec)) - Int(quietSeconds * 1e9)
        for (studyPath, instances) in pending.sorted(by: { $0.key < $1.key }) {
            if quietSeconds > 0, let newest = instances.map(\.mtime).max(), newest > cutoff {
                report.waiting += instances.count
                continue
            }
            // One study that cannot merge (an instance the encoder kept no SOP Instance UID of, a stray file in
            // its folder) fails alone: its failure ended the pass, and every study sorting after it never merged.
            // Only a study that failed before is looked at again (its folder listed): the others' passes pay nothing.
            if let before = failedBefore.withLockedValue({ $0[studyPath] }), before == signature(studyPath, instances) {
                report.waiting += instances.count
                continue
            }
            do {
                for start in stride(from: 0, to: instances.count, by: batchSize) {
                    let r = try merge(studyPath: studyPath, Array(instances[start..<min(start + batchSize, instances.count)]))
                    report.merged += r.merged
                    report.duplicatesDropped += r.duplicatesDropped
                    report.replaced += r.replaced
                }
                report.studies += 1
                failedBefore.withLockedValue { $0[studyPath] = nil }
            } catch {
                report.failed.append((studyPath, "\(error)"))
                failedBefore.withLockedValue { $0[studyPath] = self.signature(studyPath, instances) }
            }
        }
        return report
    }

    /// What a study's merge would read: its spooled instances (path, time, inode) and its folder's names.
    private func signature(_ studyPath: String, _ instances: [Spooled]) -> Int {
        var h = Hasher()
        for i in instances {
            h.combine(i.path)
            h.combine(i.mtime)
            h.combine(i.inode)
        }
        h.combine(FS.list(layout.root + "/" + studyPath).sorted())
        return h.finalize()
    }

    // MARK: - Spool scan

    struct Spooled {
        var path: String
        var mtime: Int
        /// The folder's inode as scanned: a newer copy of the instance exchanged into its path meanwhile is
        /// another folder (`--duplicate replace`), which the merge must not remove with the one it read.
        var inode: UInt64 = 0
        var files: [(category: Category, prefix: Prefix, path: String)]
    }

    /// Visible spooled instances by study path (`<date>/<b64study>`), in receipt order.
    func scanSpool() -> [String: [Spooled]] {
        var out: [String: [Spooled]] = [:]
        let spool = layout.spoolRoot
        for pid in FS.list(spool) where !pid.hasPrefix(".") && FS.isDirectory(spool + "/" + pid) {
            let pidDir = spool + "/" + pid
            for date in FS.list(pidDir) where !date.hasPrefix(".") && FS.isDirectory(pidDir + "/" + date) {
                for study in FS.list(pidDir + "/" + date) where !study.hasPrefix(".") {
                    let studyDir = pidDir + "/" + date + "/" + study
                    for name in FS.list(studyDir) where !name.hasPrefix(".") {
                        let dir = studyDir + "/" + name
                        var st = stat()
                        guard lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { continue }
                        var files: [(Category, Prefix, String)] = []
                        for f in FS.list(dir) {
                            let parts = f.split(separator: ".")
                            guard parts.count == 2, let p = Prefix(hex: parts[0]) else { continue }
                            files.append((p.category, p, dir + "/" + f))
                        }
                        let mtime = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
                        out[date + "/" + study, default: []].append(Spooled(path: dir, mtime: mtime, inode: UInt64(st.st_ino), files: files))
                    }
                }
            }
        }
        for k in out.keys { out[k]?.sort { ($0.mtime, $0.path) < ($1.mtime, $1.path) } }
        return out
    }

    /// Hidden folders a killed merger left: half-built studies, old studies swapped out, spool folders
    /// already merged; and the unfinished instances of receivers that died. Every pass starts with this.
    public func removeLeftovers() {
        for date in FS.list(layout.root) where date != StudyLayout.spoolFolder && FS.isDirectory(layout.root + "/" + date) {
            for name in FS.list(layout.root + "/" + date) where name.hasPrefix(".") {
                FS.removeTree(layout.root + "/" + date + "/" + name)
            }
        }
        let spool = layout.spoolRoot
        for pid in FS.list(spool) where FS.isDirectory(spool + "/" + pid) {
            let alive = Spool.isAlive(spool + "/" + pid)
            for date in FS.list(spool + "/" + pid) {
                for study in FS.list(spool + "/" + pid + "/" + date) {
                    let dir = spool + "/" + pid + "/" + date + "/" + study
                    for name in FS.list(dir) where name.hasPrefix(".merged-") || (!alive && name.hasPrefix(".")) {
                        FS.removeTree(dir + "/" + name)
                    }
                }
            }
        }
    }

    /// A spool file's entries, once its bytes have the BLAKE3 its name (`<prefix>.<blake3>`) says. A file a power
    /// loss left empty or partly unwritten (a spool filled from the journal is not fsynced file by file) read as
    /// fewer entries, or none, and an instance was merged without its pixels while the journal's intact copy was
    /// then refused as a duplicate. The study then fails to merge, alone, until the spool is repaired (a start's
    /// recovery spools again what the journal holds).
    /// A spool file's entries, its BLAKE3 checked in the same pass (it was read twice: hashed, then parsed).
    static func verifiedEntries(_ path: String) throws -> [Entry] {
        try EntryFileReader.readAll(path: path, verifying: true).entries
    }

    /// A reader of a spool file whose BLAKE3 is checked as it reaches the end (its values copied through, never
    /// held): a damaged file fails the study's merge before its staged files are installed.
    static func verifiedReader(_ path: String) throws -> EntryFileReader {
        try EntryFileReader(path: path, verifying: true)
    }

    // MARK: - Merging one study

    struct NewInstance {
        var slot: StudyMap.InstanceSlot
        var sop: String
        /// Category → entries under the assigned prefixes (n and c read when written).
        var entries: [Category: [Entry]]
        var spooled: Spooled
    }

    func merge(studyPath: String, _ spooled: [Spooled]) throws -> Report {
        var report = Report()
        let studyDir = layout.root + "/" + studyPath
        let old: CompositeFiles? = Directory.exists(studyDir) ? try CompositeFiles(directory: studyDir) : nil
        var map = StudyMap()
        var studyEntries = try old?.entries(.study) ?? []
        var seriesEntries = try old?.entries(.series) ?? []
        var instanceEntries = try old?.entries(.instance) ?? []
        var privateEntries = try old?.entries(.privateData) ?? []
        for e in seriesEntries where e.depth == 0 && e.tag == .seriesInstanceUID {
            if let p = e.prefix { map.add(series: StudyMap.uid(e), p.series) }
        }
        for e in instanceEntries where e.depth == 0 && e.tag == .sopInstanceUID {
            if let p = e.prefix { map.add(sop: StudyMap.uid(e), .init(series: p.series, instance: p.instance)) }
        }
        var removed = Set<StudyMap.InstanceSlot>()
        var fresh: [NewInstance] = []
        var consumed: [Spooled] = []

        for s in spooled {
            consumed.append(s)
            var byCategory: [Category: [Entry]] = [:]
            for f in s.files where f.category != .nativePixels && f.category != .compressedPixels {
                byCategory[f.category] = try Self.verifiedEntries(f.path)
            }
            guard let sopEntry = byCategory[.instance]?.first(where: { $0.depth == 0 && $0.tag == .sopInstanceUID }),
                  let provisional = sopEntry.prefix else {
                throw EDCKVError("\(s.path): no SOP Instance UID in its i file")
            }
            let sop = StudyMap.uid(sopEntry)
            let seriesUID = (byCategory[.series]?.first { $0.depth == 0 && $0.tag == .seriesInstanceUID }).map(StudyMap.uid) ?? ""
            if let existing = map.instanceBySOP[sop] {
                switch policy {
                case .reject, .ignore:
                    report.duplicatesDropped += 1
                    continue
                case .replace:
                    map.remove(sop: sop)
                    if let i = fresh.firstIndex(where: { $0.sop == sop }) { fresh.remove(at: i) } else { removed.insert(existing) }
                    report.replaced += 1
                }
            }
            let series = try map.assignSeries(seriesUID, wanted: provisional.series)
            let slot = try map.assignInstance(sop, series: series, wanted: provisional.instance)
            // Study and series copies: the first instance gives them; an instance that differs keeps its own
            // values in its i entries (§2).
            var own = byCategory[.instance] ?? []
            let studyCopy = byCategory[.study] ?? []
            if studyEntries.isEmpty {
                studyEntries = studyCopy
            } else {
                own += Self.differing(studyCopy, from: studyEntries)
            }
            let seriesCopy = byCategory[.series] ?? []
            let current = seriesEntries.filter { $0.prefix?.series == series }
            if current.isEmpty {
                seriesEntries += seriesCopy.map { Self.moved($0, Prefix(category: .series, series: series)) }
            } else {
                own += Self.differing(seriesCopy, from: current)
            }
            var entries: [Category: [Entry]] = [:]
            let instancePrefix = Prefix(category: .instance, series: slot.series, instance: slot.instance)
            entries[.instance] = own.map { Self.moved($0, instancePrefix) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            entries[.privateData] = (byCategory[.privateData] ?? []).map { Self.moved($0, instancePrefix.with(category: .privateData)) }
            fresh.append(NewInstance(slot: slot, sop: sop, entries: entries, spooled: s))
            report.merged += 1
        }

        // The new composite contents of the small categories.
        func keep(_ e: Entry) -> Bool {
            guard let p = e.prefix else { return false }
            return !removed.contains(.init(series: p.series, instance: p.instance))
        }
        instanceEntries = instanceEntries.filter(keep) + fresh.flatMap { $0.entries[.instance] ?? [] }
        privateEntries = privateEntries.filter(keep) + fresh.flatMap { $0.entries[.privateData] ?? [] }
        // Series left without any instance lose their copy.
        let liveSeries = Set(map.instanceBySOP.values.map(\.series))
        seriesEntries = seriesEntries.filter { $0.prefix.map { liveSeries.contains($0.series) } ?? false }
        seriesEntries.sort { $0.key.lexicographicallyPrecedes($1.key) }
        instanceEntries.sort { $0.key.lexicographicallyPrecedes($1.key) }
        privateEntries.sort { $0.key.lexicographicallyPrecedes($1.key) }
        if map.instanceBySOP.isEmpty { studyEntries = [] }

        if report.merged > 0 || removed.count > 0 {
            let staging = layout.root + "/" + FS.parent(studyPath) + "/." + (studyPath.split(separator: "/").last.map(String.init) ?? "study") + ".merge-\(getpid())"
            FS.removeTree(staging)
            try FS.createDurably(staging)
            var writer = CompositeWriter(directory: staging)
            try writer.write(.study, studyEntries)
            try writer.write(.series, seriesEntries)
            try writer.write(.privateData, privateEntries)
            try writer.write(.instance, instanceEntries)
            for c in [Category.nativePixels, .compressedPixels] {
                try writer.stream(c, old: old?.reader(c), keep: keep, fresh: fresh.compactMap { n in
                    n.spooled.files.first { $0.category == c }.map { (path: $0.path, slot: n.slot) }
                })
            }
            try Directory.sync(staging)
            try install(staging, as: studyDir)
        }
        // Spooled instances go only once the study holds them: each renamed hidden in one step (a merger killed
        // while removing files never leaves a visible half instance), then removed. Should a rename be lost
        // in a crash, the instance is merged again and the duplicate rule drops it (or rewrites it identically).
        var hidden: [String] = []
        for s in consumed {
            let h = FS.parent(s.path) + "/.merged-" + (s.path.split(separator: "/").last.map(String.init) ?? "")
            guard rename(s.path, h) == 0 else { continue }
            // A newer copy published in its place since the scan (a receiver's exchange) is not the one merged: put
            // back for the next pass, unless a newer one still is visible. It was removed unmerged, its row naming
            // bytes that no longer existed.
            var st = stat()
            if s.inode != 0, lstat(h, &st) == 0, UInt64(st.st_ino) != s.inode, arca_rename_noreplace(h, s.path) == 0 { continue }
            hidden.append(h)
        }
        for folder in Set(consumed.map { FS.parent($0.path) }) { try? Directory.sync(folder) }
        for h in hidden { FS.removeTree(h) }
        return report
    }

    /// Swaps the staged folder in: exchange with the old study (then drop it), or a plain rename for a new one.
    private func install(_ staging: String, as studyDir: String) throws {
        let parent = FS.parent(studyDir)
        if Directory.exists(studyDir) {
            guard arca_exchange(staging, studyDir) == 0 else { throw IncomingFile.error("exchange", studyDir, errno) }
            try Directory.sync(parent)
            FS.removeTree(staging)
        } else {
            try Directory.rename(staging, studyDir)
            try Directory.sync(parent)
        }
    }

    /// The entries of `copy` whose root element differs from (or is missing in) `shared`.
    static func differing(_ copy: [Entry], from shared: [Entry]) -> [Entry] {
        func grouped(_ list: [Entry]) -> [UInt32: [ArraySlice<UInt8>]] {
            var g: [UInt32: [ArraySlice<UInt8>]] = [:]
            for e in list { g[e.rootTag.rawValue, default: []].append(e.path8 + ArraySlice(e.value)) }
            return g
        }
        let a = grouped(copy), b = grouped(shared)
        return copy.filter { e in a[e.rootTag.rawValue] != b[e.rootTag.rawValue] }
    }

    static func moved(_ e: Entry, _ p: Prefix) -> Entry {
        var e = e
        var prefix = p
        if p.category == .compressedPixels, let old = e.prefix { prefix.frame = old.frame }
        e.setPrefix(prefix)
        return e
    }
}

/// Writes composite files into a staging folder: entries, footer, BLAKE3 name, fsync.
struct CompositeWriter {
    let directory: String

    init(directory: String) { self.directory = directory }

    mutating func write(_ c: Category, _ entries: [Entry]) throws {
        guard !entries.isEmpty else { return }
        let bytes = try EntryCodec.encode(entries, footer: true)
        try FS.writeDurably(bytes, to: directory + "/" + StudyLayout.compositeName(c, hash: BLAKE3.hex(BLAKE3.hash(bytes))))
    }

    /// The pixel categories, streamed: the old file's entries that stay, merged in prefix order with the new
    /// instances', written and hashed in pieces. Only keys are held: every value is copied through in pieces of
    /// at most 1 MiB (a new instance's spool file was read whole, and an old entry's value at once: a 2 GB frame
    /// took 2 GB of memory to merge).
    mutating func stream(_ c: Category, old: EntryFileReader?, keep: (Entry) -> Bool,
                         fresh: [(path: String, slot: StudyMap.InstanceSlot)]) throws {
        let tmp = directory + "/.tmp-" + c.letter
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IncomingFile.error("create", tmp, errno) }
        var closed = false
        defer { if !closed { close(fd) } }
        var hasher = BLAKE3()
        var buffer: [UInt8] = []
        var last: [UInt8]? = nil
        func flush() throws {
            hasher.update(buffer)
            try FileWriter.writeAll(fd, buffer, path: tmp)
            buffer.removeAll(keepingCapacity: true)
        }
        /// One entry under `key`, its value copied from where `reader` stands.
        func emit(_ key: [UInt8], length: Int, from reader: EntryFileReader) throws {
            if let l = last, !l.lexicographicallyPrecedes(key) { throw EDCKVError("\(c.letter): keys not ascending at \(EntryCodec.hex(key))") }
            last = key
            guard length <= Int(UInt32.max) else { throw EDCKVError("\(c.letter): value too long for an entry") }
            buffer.append(UInt8(key.count))
            buffer += key
            let n = UInt32(length)
            buffer += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
            try reader.copyValue { piece in
                buffer.append(contentsOf: piece)
                if buffer.count >= 1 << 20 { try flush() }
            }
            if buffer.count >= 1 << 20 { try flush() }
        }
        func kept(_ reader: EntryFileReader?) throws -> (key: [UInt8], length: Int)? {
            while let next = try reader?.nextKey() {
                if keep(Entry(key: next.key, value: [])) { return next }
            }
            return nil
        }
        var pending = try kept(old)
        for n in fresh.sorted(by: { $0.slot < $1.slot }) {
            let prefix = Prefix(category: c, series: n.slot.series, instance: n.slot.instance)
            let reader = try Merger.verifiedReader(n.path)
            guard let first = try reader.nextKey() else { continue }
            let firstKey = Merger.moved(Entry(key: first.key, value: []), prefix).key
            while let e = pending, let old, e.key.lexicographicallyPrecedes(firstKey) {
                try emit(e.key, length: e.length, from: old)
                pending = try kept(old)
            }
            try emit(firstKey, length: first.length, from: reader)
            while let e = try reader.nextKey() {
                try emit(Merger.moved(Entry(key: e.key, value: []), prefix).key, length: e.length, from: reader)
            }
        }
        while let e = pending, let old {
            try emit(e.key, length: e.length, from: old)
            pending = try kept(old)
        }
        guard let lastKey = last else {
            close(fd); closed = true
            unlink(tmp)
            return
        }
        buffer.append(0)
        buffer.append(contentsOf: lastKey[0..<Prefix.size])
        try flush()
        guard fsync(fd) == 0 else { throw IncomingFile.error("fsync", tmp, errno) }
        close(fd); closed = true
        try Directory.rename(tmp, directory + "/" + StudyLayout.compositeName(c, hash: BLAKE3.hex(hasher.finalize())))
    }
}
