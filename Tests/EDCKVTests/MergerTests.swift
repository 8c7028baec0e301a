import Archive
import BLAKE3
import DICOM
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

@testable import EDCKV

/// The merger on spools written in-process: copies of study and series attributes, prefixes, duplicate
/// policies, and a merge repeated after a crash.
@Suite struct MergerTests {
    static let study = "1.2.826.0.1.3680043.10.1432.88.1"

    /// An instance of the test study: series `series` (SeriesNumber `seriesNumber`), instance `n`.
    static func instance(series: Int, seriesNumber: Int? = 1, n: Int, instanceNumber: Int?, name: String = "DOE^JOHN",
                         comment: String = "") -> DICOMFile {
        var file = SampleImage.secondaryCapture(rows: 4, columns: 4)
        var ds = file.dataSet
        ds.setString(study, for: .studyInstanceUID, vr: .UI)
        ds.setString("\(study).\(series)", for: .seriesInstanceUID, vr: .UI)
        let sop = "\(study).\(series).\(n)"
        ds.setString(sop, for: .sopInstanceUID, vr: .UI)
        if let seriesNumber { ds.setString("\(seriesNumber)", for: .seriesNumber, vr: .IS) } else { ds.remove(.seriesNumber) }
        if let instanceNumber { ds.setString("\(instanceNumber)", for: .instanceNumber, vr: .IS) } else { ds.remove(.instanceNumber) }
        ds.setString(name, for: .patientName, vr: .PN)
        if !comment.isEmpty { ds.setString(comment, for: Tag(0x0020, 0x4000), vr: .LT) }
        file.dataSet = ds
        file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
        return file
    }

    struct Store {
        let root: String
        let spool: Spool
        init() throws {
            root = try ExternalTool.temporaryDirectory("arca-dckv").path
            spool = try Spool(root: root)
        }
        func merge(_ policy: DuplicatePolicy = .reject) throws -> Merger.Report {
            let merger = Merger(root: root, policy: policy)
            let lock = try #require(try MergeLock.tryAcquire(merger.layout))
            return try merger.mergeOnce(lock)
        }
        var studyDirectory: String { root + "/20260101/" + ((try? B64UID.encode(MergerTests.study)) ?? "") }
        func exported() throws -> [String: DICOMFile] {
            var out: [String: DICOMFile] = [:]
            try StudyExporter(studyDirectory: studyDirectory).forEachInstance { out[$0] = $1 }
            return out
        }
    }

    @Test func instancesShareTheStudyAndSeriesCopies() throws {
        let store = try Store()
        let files = [Self.instance(series: 1, n: 1, instanceNumber: 1), Self.instance(series: 1, n: 2, instanceNumber: 2),
                     Self.instance(series: 2, n: 1, instanceNumber: 1, name: "DOE^JOHNNY")]
        for f in files { _ = try store.spool.store(f) }
        let report = try store.merge()
        #expect(report.merged == 3 && report.studies == 1)
        let composite = try CompositeFiles(directory: store.studyDirectory)
        #expect(Set(composite.names.keys) == [.study, .series, .instance, .nativePixels])
        // One study copy, one series copy per series.
        #expect(try composite.entries(.study).filter { $0.tag == .studyInstanceUID }.count == 1)
        #expect(try composite.entries(.series).filter { $0.tag == .seriesInstanceUID }.count == 2)
        // The instance whose patient name differs keeps its own in its i entries, and gets it back.
        let back = try store.exported()
        #expect(back.count == 3)
        for f in files {
            let sop = try #require(f.dataSet.uid(.sopInstanceUID))
            let got = try #require(back[sop])
            #expect(FormatTests.lines(got.dataSet) == FormatTests.lines(f.dataSet), "\(sop)")
        }
        #expect(Verifier().verify(store.root).findings.isEmpty)
    }

    @Test func prefixesAreUniqueWhenNumbersCollideOrAreMissing() throws {
        let store = try Store()
        // Two series with SeriesNumber 5; two instances with InstanceNumber 7 in one series; one without.
        for f in [Self.instance(series: 1, seriesNumber: 5, n: 1, instanceNumber: 7),
                  Self.instance(series: 1, seriesNumber: 5, n: 2, instanceNumber: 7),
                  Self.instance(series: 1, seriesNumber: 5, n: 3, instanceNumber: nil),
                  Self.instance(series: 2, seriesNumber: 5, n: 1, instanceNumber: 7),
                  Self.instance(series: 3, seriesNumber: nil, n: 1, instanceNumber: 1)] {
            _ = try store.spool.store(f)
        }
        #expect(try store.merge().merged == 5)
        let entries = try CompositeFiles(directory: store.studyDirectory).entries(.instance).filter { $0.tag == .sopInstanceUID }
        let slots = entries.compactMap(\.prefix).map { [$0.series, $0.instance] }
        #expect(Set(slots).count == 5)
        let series = Set(try CompositeFiles(directory: store.studyDirectory).entries(.series).filter { $0.tag == .seriesInstanceUID }.compactMap(\.prefix?.series))
        #expect(series.count == 3 && series.contains(Prefix.stored(5)!))
        // Artificial numbers sit below every real non-negative one.
        #expect(series.filter { $0 < 0x8000 }.allSatisfy { $0 >= Prefix.firstArtificial })
        #expect(Verifier().verify(store.root).findings.isEmpty)
        #expect(try store.exported().count == 5)
    }

    @Test(arguments: [DuplicatePolicy.reject, .ignore, .replace])
    func duplicatePolicyAppliesPerSOPInstance(policy: DuplicatePolicy) throws {
        let store = try Store()
        _ = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1, comment: "first"))
        #expect(try store.merge(policy).merged == 1)
        _ = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1, comment: "second"))
        let r = try store.merge(policy)
        let back = try store.exported()
        #expect(back.count == 1)
        let comment = back.values.first?.dataSet.string(Tag(0x0020, 0x4000))
        switch policy {
        case .reject, .ignore:
            #expect(r.duplicatesDropped == 1 && comment == "first")
        case .replace:
            #expect(r.replaced == 1 && comment == "second")
        }
        #expect(Verifier().verify(store.root).findings.isEmpty)
        #expect(Merger(root: store.root).scanSpool().isEmpty)
    }

    @Test func aMergeRepeatedAfterACrashStoresNothingTwice() throws {
        let store = try Store()
        var kept: [(String, String)] = []
        for n in 1...4 {
            let s = try store.spool.store(Self.instance(series: 1, n: n, instanceNumber: n))
            let copy = store.root + "/copy-\(n)"
            try FileManager.default.copyItem(atPath: store.root + "/" + s.path, toPath: copy)
            kept.append((copy, store.root + "/" + s.path))
        }
        #expect(try store.merge(.replace).merged == 4)
        // As if the merger died after swapping the study in, before removing the spool: the same instances again.
        for (copy, original) in kept { try FileManager.default.moveItem(atPath: copy, toPath: original) }
        let again = try store.merge(.replace)
        #expect(again.replaced == 4)
        #expect(try Inventory.list(store.root).count == 4)
        #expect(try store.exported().count == 4)
        #expect(Verifier().verify(store.root).findings.isEmpty)
    }

    /// A 64 MB multi-frame object is spooled from its file with bounded memory: values stream through.
    @Test func aLargeObjectIsSpooledWithBoundedMemory() throws {
        let store = try Store()
        var file = Self.instance(series: 1, n: 1, instanceNumber: 1)
        file.dataSet.remove(.pixelData)
        file.dataSet.setString("256", for: Tag(0x0028, 0x0008), vr: .IS)
        let path = store.root + "/large.dcm"
        let frameBytes = 256 * 1024
        let length = 256 * frameBytes
        var head = try file.serialized()
        head += [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x57, 0, 0]  // (7FE0,0010) OW, 32-bit length
        head += [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try FileWriter.writeAll(fd, head, path: path)
        let frame = [UInt8](repeating: 0x5A, count: frameBytes)
        for _ in 0..<256 { try FileWriter.writeAll(fd, frame, path: path) }
        close(fd)

        // The peak is the process's: scripts/test runs suites one at a time, as this measurement needs.
        resetPeakResidentMemory()
        let before = residentMemoryBytes()
        let stored = try store.spool.store(partTenFileAt: path)
        let peak = peakResidentMemoryBytes() - before
        #expect(peak < 24 << 20, "peak grew by \(peak >> 20) MB while spooling a \(length >> 20) MB object")
        // Every byte arrived: the n file holds the pixel value whole.
        let names = try FileManager.default.contentsOfDirectory(atPath: store.root + "/" + stored.path)
        let n = try #require(names.first { $0.hasPrefix("04") })
        let size = try #require(try FileManager.default.attributesOfItem(atPath: store.root + "/" + stored.path + "/" + n)[.size] as? Int)
        #expect(size > length)
    }

    /// `arca index rebuild` recreates the rows of eDCKV instances, merged or still spooled, with the locations
    /// the store answers and the size and hash of what a retrieve of each sends.
    @Test func indexRowsComeFromMergedStudiesAndSpools() throws {
        let archive = try ExternalTool.temporaryDirectory("arca-dckv-rows").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let store = try DCKVStore(archiveRoot: archive, policy: .reject)
        var locations: [String: String] = [:]
        for n in 1...3 {
            if n == 3 {
                let lock = try #require(try MergeLock.tryAcquire(store.merger.layout))
                #expect(try store.merger.mergeOnce(lock).merged == 2)
            }
            let file = Self.instance(series: 1, n: n, instanceNumber: n)
            locations["\(Self.study).1.\(n)"] = store.location(try store.spool.store(file))
        }
        let rows = DCKVIndexRows.records(archiveRoot: archive)
        #expect(rows.failed.isEmpty, "\(rows.failed)")
        #expect(Dictionary(uniqueKeysWithValues: rows.records.map { ($0.attributes.sopInstanceUID, $0.filePath) }) == locations)
        let source = DCKVInstanceSource(archiveRoot: archive)
        for row in rows.records {
            let sent = try FileReader.readAll(path: try source.filePath(row.filePath))
            #expect(row.fileSize == UInt64(sent.count) && row.fileHash == BLAKE3.hex(sent.withUnsafeBytes { BLAKE3.hash($0) }))
            #expect(row.attributes.studyInstanceUID == Self.study && row.attributes.patientName == "DOE^JOHN")
        }
    }

    /// With an election (several nodes on one PostgreSQL index), the merger asks before every pass: a node that
    /// lost the role (its index connection went, another node took it) lets go of the merge lock and stops.
    @Test func aMergerThatLosesItsElectionLetsGoOfTheLock() async throws {
        let archive = try ExternalTool.temporaryDirectory("arca-dckv-election").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let store = try DCKVStore(archiveRoot: archive, policy: .reject)
        final class Election: LeaderElection, @unchecked Sendable {
            private let lock = NSLock()
            private var leading = true
            var leads: Bool {
                get { lock.withLock { leading } }
                set { lock.withLock { leading = newValue } }
            }
            func tryLead(_ role: String) throws -> Bool { leads }
        }
        let election = Election()
        let (passes, pass) = AsyncStream.makeStream(of: Void.self)
        let merger = Task { await store.runMerger(interval: .milliseconds(10), election: election) { _ in pass.yield() } }
        defer { merger.cancel() }
        var iterator = passes.makeAsyncIterator()
        _ = await iterator.next()
        #expect(try MergeLock.tryAcquire(store.merger.layout) == nil)
        election.leads = false
        var freed = false
        for _ in 0..<200 where !freed {
            freed = try MergeLock.tryAcquire(store.merger.layout) != nil
            if !freed { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(freed)
    }

    @Test func onlyOneMergerHoldsTheLock() throws {
        let store = try Store()
        let layout = StudyLayout(root: store.root)
        let first = try MergeLock.tryAcquire(layout)
        #expect(first != nil)
        #expect(try MergeLock.tryAcquire(layout) == nil)
        _ = first
    }

    /// A study that cannot merge (here a stray file in its folder) fails alone, named in the report; the
    /// studies after it merge. Its failure ended the pass, and every study sorting after it never merged again.
    @Test func aStudyThatCannotMergeFailsAlone() throws {
        let store = try Store()
        func instance(of study: String, n: Int) -> DICOMFile {
            var file = Self.instance(series: 1, n: n, instanceNumber: n)
            let sop = "\(study).1.\(n)"
            file.dataSet.setString(study, for: .studyInstanceUID, vr: .UI)
            file.dataSet.setString("\(study).1", for: .seriesInstanceUID, vr: .UI)
            file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
            file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
            return file
        }
        let studies = [Self.study, Self.study + "9"]
        for study in studies { _ = try store.spool.store(instance(of: study, n: 1)) }
        #expect(try store.merge().merged == 2)
        for study in studies { _ = try store.spool.store(instance(of: study, n: 2)) }
        let folders = try studies.map { try "20260101/" + B64UID.encode($0) }.sorted()
        try "notes".write(toFile: store.root + "/" + folders[0] + "/notes.txt", atomically: true, encoding: .utf8)
        let report = try store.merge()
        #expect(report.merged == 1 && report.studies == 1, "\(report)")
        #expect(report.failed.map(\.study) == [folders[0]], "\(report.failed)")
        #expect(report.failed.first?.error.contains("not a composite file name") == true, "\(report.failed)")
        // Not read again, nor reported, until what it holds changes (it cost a full re-read and a log line every
        // pass); once the stray file goes, it merges.
        let merger = Merger(root: store.root)
        let lock = try #require(try MergeLock.tryAcquire(merger.layout))
        #expect(try merger.mergeOnce(lock).failed.count == 1)
        let again = try merger.mergeOnce(lock)
        #expect(again.failed.isEmpty && again.waiting == 1, "\(again)")
        _ = lock
        // Listed without it (an index rebuild recorded no eDCKV instance at all), the failure named.
        let listing = Inventory.listing(store.root)
        #expect(listing.failed.map(\.path) == [store.root + "/" + folders[0]], "\(listing.failed)")
        #expect(listing.items.filter { $0.place == .study }.count == 2)  // the other study's two instances
        // `arca dckv verify` names it too: the folder was taken for no study and skipped, "all good".
        let verified = Verifier().verify(store.root)
        #expect(verified.findings.contains { $0.problem.contains("not a composite file name") }, "\(verified.findings)")
        try FileManager.default.removeItem(atPath: store.root + "/" + folders[0] + "/notes.txt")
        #expect(try merger.mergeOnce(lock).merged == 1)
    }

    /// A receiver is alive while it holds its folder's lock, on whichever host shares the archive: judged by its
    /// PID on the merger's host, a receiver of another node looked dead, and the merger deleted the instance it
    /// was writing. Two receivers of one PID (two hosts) take folders of their own.
    @Test func aLiveReceiverOfAnotherHostKeepsItsUnfinishedInstance() throws {
        let root = try ExternalTool.temporaryDirectory("arca-dckv-live").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let elsewhere = Int32.max - 7  // no process here has it
        var other: Spool? = try Spool(root: root, pid: elsewhere)
        let folder = try #require(other?.directory)
        let unfinished = folder + "/20260101/STUDY/.SOP"
        try FileManager.default.createDirectory(atPath: unfinished, withIntermediateDirectories: true)
        let same = try Spool(root: root, pid: elsewhere)
        #expect(same.directory == folder + "-1")
        Merger(root: root).removeLeftovers()
        #expect(FileManager.default.fileExists(atPath: unfinished))
        other = nil  // its process ends: the lock goes with it
        Merger(root: root).removeLeftovers()
        #expect(!FileManager.default.fileExists(atPath: unfinished))
    }

    /// Two writers of one SOP Instance UID at once (two associations without the journal) each write a folder of
    /// their own: they shared `.<sop>`, the second deleted the first's, and the first then failed or published the
    /// second's half-written folder. The copy published last is the one merged.
    @Test func twoWritersOfOneInstanceDoNotMeet() throws {
        let store = try Store()
        let first = Self.instance(series: 1, n: 1, instanceNumber: 1, comment: "FIRST")
        let second = Self.instance(series: 1, n: 1, instanceNumber: 1, comment: "SECOND")
        let w1 = SpoolInstanceWriter(spool: store.spool)
        var e1 = StreamingEncoder(output: w1, syntax: first.transferSyntax)
        try InstanceEncoder.feed(first, to: &e1)
        let w2 = SpoolInstanceWriter(spool: store.spool)
        var e2 = StreamingEncoder(output: w2, syntax: second.transferSyntax)
        try InstanceEncoder.feed(second, to: &e2)
        _ = try e2.finish()
        _ = try w2.finish()
        _ = try e1.finish()
        _ = try w1.finish()
        #expect(try store.merge(.replace).merged == 1)
        let back = try store.exported()
        #expect(back.values.first?.dataSet.string(Tag(0x0020, 0x4000)) == "FIRST")
    }

    /// A replacement that changes only the pixels is what a retrieve then reads: the cache of rebuilt files was
    /// named after the study's `i` file alone, which such a replacement leaves as it was, and served the old bytes.
    @Test func aReplacementOfThePixelsAloneIsRetrieved() throws {
        let archive = try ExternalTool.temporaryDirectory("arca-dckv-cache").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let root = archive + "/" + DCKVStore.folder
        let spool = try Spool(root: root)
        let source = DCKVInstanceSource(archiveRoot: archive)
        var file = Self.instance(series: 1, n: 1, instanceNumber: 1)
        guard case .bytes(let pixels)? = file.dataSet[.pixelData]?.value else { Issue.record("no pixel data"); return }
        var location = ""
        for fill: UInt8 in [0x11, 0x22] {
            file.dataSet.set(Element(tag: .pixelData, vr: file.dataSet[.pixelData]?.vr ?? .OW, bytes: [UInt8](repeating: fill, count: pixels.count)))
            location = DCKVStore.folder + "/" + (try spool.store(file).location)
            let merger = Merger(root: root, policy: .replace)
            _ = try merger.mergeOnce(try #require(try MergeLock.tryAcquire(merger.layout)))
            let back = try DICOMFile.read(path: try source.filePath(location))
            guard case .bytes(let read)? = back.dataSet[.pixelData]?.value else { Issue.record("no pixel data back"); return }
            #expect(read.allSatisfy { $0 == fill }, "\(fill): \(read.prefix(4))")
        }
    }

    /// A spool file whose bytes are not those its name hashes (a power loss left it empty) is not merged: read as
    /// no entries, the instance was merged without its pixels.
    @Test func aSpoolFileCutShortIsNotMerged() throws {
        let store = try Store()
        let stored = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1))
        let folder = store.root + "/" + stored.path
        let pixels = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix("04") })  // the n file
        #expect(truncate(folder + "/" + pixels, 0) == 0)
        let report = try store.merge()
        #expect(report.merged == 0 && report.failed.count == 1, "\(report)")
        #expect(report.failed.first?.error.contains("BLAKE3") == true, "\(report.failed)")
        #expect(FileManager.default.fileExists(atPath: folder))
    }

    /// A flipped byte inside a spool file's values (its entries still parse) fails the study's merge, whether the
    /// file is read whole (i) or streamed through (n): the BLAKE3 is now checked in the pass that reads it, and
    /// the staged study is never installed.
    @Test(arguments: ["03", "04"]) func aSpoolFileWithAFlippedByteIsNotMerged(category: String) throws {
        let store = try Store()
        let stored = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1))
        let folder = store.root + "/" + stored.path
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix(category) })
        var bytes = try #require(FileManager.default.contents(atPath: folder + "/" + name))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: folder + "/" + name))
        let report = try store.merge()
        #expect(report.merged == 0 && report.failed.count == 1, "\(report)")
        #expect(report.failed.first?.error.contains("BLAKE3") == true, "\(report.failed)")
        #expect(FileManager.default.fileExists(atPath: folder))
    }

    /// A spooled folder that is no longer the one the merge read (a newer copy exchanged into its path by a
    /// receiver, `--duplicate replace`) is put back for the next pass, not removed with the merged one.
    @Test func aCopyPublishedDuringTheMergeIsKeptForTheNext() throws {
        let store = try Store()
        let stored = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1))
        let merger = Merger(root: store.root, policy: .replace)
        let lock = try #require(try MergeLock.tryAcquire(merger.layout))
        _ = lock
        var (studyPath, spooled) = try #require(merger.scanSpool().first)
        spooled[0].inode &+= 1  // as if the folder at that path had been exchanged since the scan
        #expect(try merger.merge(studyPath: studyPath, spooled).merged == 1)
        #expect(FileManager.default.fileExists(atPath: store.root + "/" + stored.path))
        spooled[0].inode &-= 1
        _ = try merger.merge(studyPath: studyPath, spooled)
        #expect(!FileManager.default.fileExists(atPath: store.root + "/" + stored.path))
    }

    /// `arca dckv dump --preview -1` trapped in `prefix`.
    @Test func aNegativePreviewShowsNoValue() {
        // Prefix, (0010,0010), "PN", repertoire 0.
        let entry = Entry(key: [UInt8](repeating: 0, count: 8) + [0x00, 0x10, 0x00, 0x10, 0x50, 0x4E, 0, 0], value: Array("DOE^JOHN".utf8))
        #expect(EntryDumper.value(entry, preview: -1) == "[…]")
    }

    @Test func verifyFindsARenamedOrDamagedFile() throws {
        let store = try Store()
        _ = try store.spool.store(Self.instance(series: 1, n: 1, instanceNumber: 1))
        _ = try store.merge()
        let composite = try CompositeFiles(directory: store.studyDirectory)
        let path = try #require(composite.path(.instance))
        var bytes = try FileReader.readAll(path: path)
        bytes[bytes.count - EntryCodec.footerSize - 1] ^= 0xFF  // the last value byte
        try FileWriter.write(bytes, to: path)
        let r = Verifier().verify(store.root)
        #expect(r.findings.contains { $0.problem.contains("BLAKE3") }, "\(r.findings)")
    }

    /// A Part-10 file whose meta header names the other little-endian syntax than its dataset is written in
    /// is spooled from its bytes, merged, and exported as its dataset in a file that agrees with itself.
    @Test func aFileWhoseMetaHeaderNamesTheWrongSyntaxIsSpooledAndExported() throws {
        let store = try Store()
        let dir = try ExternalTool.temporaryDirectory("arca-dckv-mismatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        var expected: [String: DataSet] = [:]
        for (n, c) in MismatchedFile.cases.enumerated() {
            let (bytes, dataSet) = try MismatchedFile.make(declared: c.declared, written: c.written, sop: "1.2.3.9.\(n)")
            let path = dir.appendingPathComponent("m\(n).dcm").path
            try FileWriter.write(bytes, to: path)
            _ = try store.spool.store(partTenFileAt: path)
            expected["1.2.3.9.\(n)"] = dataSet
        }
        #expect(try store.merge().merged == 2)
        for (sop, dataSet) in expected {
            let study = try #require(dataSet.uid(.studyInstanceUID))
            var back: [String: DICOMFile] = [:]
            try StudyExporter(studyDirectory: store.root + "/20260101/" + B64UID.encode(study)).forEachInstance { back[$0] = $1 }
            let got = try #require(back[sop])
            #expect(FormatTests.lines(got.dataSet) == FormatTests.lines(dataSet), "\(sop)")
            let reread = try DICOMFile.read(try got.serialized())
            #expect(reread.encodingMismatch == nil && reread.dataSet.string(.patientName) == "DOE^JOHN", "\(sop)")
        }
    }

}
