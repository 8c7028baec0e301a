@testable import Archive
import DICOM
import Foundation
import Testing
import TestSupport

@Suite struct SQLiteIndexTests {
    static func attributes(patient: String = "P1", issuer: String = "", study: String = "1.2.1", series: String = "1.2.1.1",
                           sop: String, modality: String = "CT") -> InstanceAttributes {
        var ds = DataSet()
        ds.setString(patient, for: .patientID, vr: .LO)
        if !issuer.isEmpty { ds.setString(issuer, for: .issuerOfPatientID, vr: .LO) }
        ds.setString("Doe^Jane", for: .patientName, vr: .PN)
        ds.setString(study, for: .studyInstanceUID, vr: .UI)
        ds.setString(series, for: .seriesInstanceUID, vr: .UI)
        ds.setString(sop, for: .sopInstanceUID, vr: .UI)
        ds.setString(modality, for: .modality, vr: .CS)
        ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
        return InstanceAttributes(ds)
    }

    static func record(_ a: InstanceAttributes) -> InstanceRecord {
        InstanceRecord(attributes: a, filePath: "\(a.studyInstanceUID)/\(a.seriesInstanceUID)/\(a.sopInstanceUID).dcm", fileSize: 10,
                       fileHash: String(repeating: "0", count: 64), transferSyntaxUID: "1.2.840.10008.1.2.1",
                       receivedAt: "2026-11-22T00:00:00Z", callingAETitle: "TEST")
    }

    static func index() throws -> (SQLiteIndex, URL) {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        return (try SQLiteIndex(archive: dir.path), dir)
    }

    /// A new index of `engine` (the cases that hold for both engines run on each).
    static func index(_ engine: IndexEngine) throws -> (any MaintainedIndex, URL) {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        return (try engine.make(in: dir), dir)
    }

    func count(_ index: SQLiteIndex, _ sql: String) throws -> [String] {
        try index.canonicalDump().filter { $0.hasPrefix(sql) }
    }

    /// An acknowledged row must survive a power loss: the committing connection fsyncs the WAL at every
    /// commit (GRDB would otherwise leave it at NORMAL in WAL mode).
    @Test func commitsAreSynchronousFull() throws {
        let (index, dir) = try Self.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try index.writerSynchronousLevel() == 2)
        let normal = try SQLiteIndex(path: dir.path + "/normal.db", synchronous: .normal)
        #expect(try normal.writerSynchronousLevel() == 1)
    }

    /// The writer's commits leave the WAL's checkpoints to the checkpointer until the WAL passes `limit` pages
    /// (a checkpoint inside an acknowledgement's commit held it and every row behind it for the copies and two
    /// fsyncs), and the WAL still starts over (the writer checkpoints what is left past `limit`), so it stays
    /// bounded instead of growing with the rows; the rows read back whole after the index is closed and reopened.
    @Test func theWALIsCheckpointedBesideTheWriter() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.path + "/index.db"
        let rows = 3000
        let dump: [String]
        weak var gone: SQLiteIndex?
        weak var checkpointer: WALCheckpointer?
        do {
            let index = try SQLiteIndex(path: path, synchronous: .normal)
            gone = index
            checkpointer = index.checkpointer
            // Each row in its own commit: ~6 WAL pages each, so ~18,000 pages, twice `limit` (~74 MB of WAL if it
            // never started over). Distinct studies, so every level is written.
            for n in 0..<rows {
                try index.recordNow(Self.record(Self.attributes(patient: "P\(n % 50)", study: "1.2.\(n)", series: "1.2.\(n).1",
                                                                sop: "1.2.\(n).1.1")))
            }
            index.checkpointer.settle()
            #expect(index.checkpointer.checkpoints.made >= 2)
            #expect(index.checkpointer.checkpoints.framesCopied > 0)
            #expect(index.checkpointer.restarts >= 1)
            let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            // Never far past `limit`: commits may land while the checkpointer holds the lock the writer's own
            // checkpoint needs, so allow a second `limit`'s worth rather than a tight bound.
            #expect(wal < 2 * Int(WALCheckpointer.limit) * 4120, "WAL of \(wal) bytes")
            // Each row counted before its commit and after it.
            #expect(index.recordedRowCount == UInt64(2 * rows))
            #expect(try index.filePathNow(ofInstance: "1.2.2999.1.1") == "1.2.2999/1.2.2999.1/1.2.2999.1.1.dcm")
            dump = try index.canonicalDump()
        }
        // The index is gone, and so is its checkpointer (the writer's hook gave its reference back).
        #expect(gone == nil)
        #expect(checkpointer == nil)
        let reopened = try SQLiteIndex(path: path, synchronous: .normal)
        #expect(try reopened.canonicalDump() == dump)
    }

    /// A rebuild's index is renamed into place with no checkpoint of ours left on it (a checkpoint running there
    /// made the rebuild's TRUNCATE busy, and its connection kept the WAL from being folded in at close).
    @Test func stoppedCheckpointsLeaveNoConnection() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.path + "/index.db"
        weak var checkpointer: WALCheckpointer?
        do {
            let index = try SQLiteIndex(path: path, synchronous: .normal)
            checkpointer = index.checkpointer
            for n in 0..<400 {
                try index.recordNow(Self.record(Self.attributes(study: "1.3.\(n)", series: "1.3.\(n).1", sop: "1.3.\(n).1.1")))
            }
            index.checkpointer.settle()
            #expect(index.checkpointer.checkpoints.made >= 1)
            #expect(index.checkpointer.checkpoints.framesCopied > 0)
            #expect(index.checkpointer.hasConnection)
            index.stopCheckpoints()
            index.stopCheckpoints()  // idempotent
            #expect(!index.checkpointer.hasConnection)
            #expect(try index.truncateWAL())
            try index.pool.close()
        }
        #expect(checkpointer == nil)
    }

    /// A pool closed without stopping the checkpoints first (the writer's hook went with its connection) still
    /// gives the checkpointer back when the index goes.
    @Test func aClosedWriterGivesTheCheckpointerBack() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        defer { try? FileManager.default.removeItem(at: dir) }
        weak var checkpointer: WALCheckpointer?
        do {
            let index = try SQLiteIndex(path: dir.path + "/index.db", synchronous: .normal)
            checkpointer = index.checkpointer
            try index.recordNow(Self.record(Self.attributes(sop: "1.4.1")))
            try index.pool.close()
        }
        #expect(checkpointer == nil)
    }

    /// Several servers opening one new archive at once all get a migrated index (their migrations used to
    /// race: "table schema_version already exists").
    @Test func concurrentOpensOfANewIndexAllSucceed() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-index")
        defer { try? FileManager.default.removeItem(at: dir) }
        for round in 0..<5 {
            let path = dir.path + "/index-\(round).db"
            let failures = NSLock()
            nonisolated(unsafe) var errors: [String] = []
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do { _ = try SQLiteIndex(path: path) } catch {
                    failures.lock(); errors.append("\(error)"); failures.unlock()
                }
            }
            #expect(errors.isEmpty, "\(errors)")
        }
    }

    @Test(arguments: IndexEngine.embedded) func countsFollowRecordReplaceAndRemove(engine: IndexEngine) async throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await index.record(Self.record(Self.attributes(sop: "1.2.1.1.1")))
        try await index.record(Self.record(Self.attributes(sop: "1.2.1.1.2")))
        try await index.record(Self.record(Self.attributes(series: "1.2.1.2", sop: "1.2.1.2.1", modality: "SR")))
        var dump = try index.canonicalDump()
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("modalities_in_study:\"CT\\\\SR\"") && $0.contains("number_of_series:2") && $0.contains("number_of_instances:3") }, "\(dump)")
        // Replacing an instance into another series moves its count.
        try await index.record(Self.record(Self.attributes(series: "1.2.1.2", sop: "1.2.1.1.2", modality: "SR")))
        dump = try index.canonicalDump()
        #expect(dump.contains { $0.contains("series_uid:\"1.2.1.1\"") && $0.contains("number_of_instances:1") }, "\(dump)")
        #expect(dump.contains { $0.contains("series_uid:\"1.2.1.2\"") && $0.contains("number_of_instances:2") }, "\(dump)")
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("number_of_instances:3") })
        // Removing every instance of a series removes the series.
        try await index.remove(instance: "1.2.1.1.1")
        dump = try index.canonicalDump()
        #expect(!dump.contains { $0.contains("series_uid:\"1.2.1.1\"") }, "\(dump)")
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("number_of_series:1") && $0.contains("number_of_instances:2") && $0.contains("modalities_in_study:\"SR\"") }, "\(dump)")
        #expect(try await index.filePath(ofInstance: "1.2.1.1.2") == "1.2.1/1.2.1.2/1.2.1.1.2.dcm")
        #expect(try await index.filePath(ofInstance: "1.2.1.1.1") == nil)
    }

    @Test(arguments: IndexEngine.embedded) func samePatientIDFromTwoIssuersIsTwoPatients(engine: IndexEngine) async throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await index.record(Self.record(Self.attributes(patient: "12345", issuer: "HOSPITAL_A", study: "1.3.1", series: "1.3.1.1", sop: "1.3.1.1.1")))
        try await index.record(Self.record(Self.attributes(patient: "12345", issuer: "HOSPITAL_B", study: "1.3.2", series: "1.3.2.1", sop: "1.3.2.1.1")))
        let patients = try index.canonicalDump().filter { $0.hasPrefix("patient ") }
        #expect(patients.count == 2, "\(patients)")
    }

    @Test(arguments: IndexEngine.embedded) func concurrentRecordsAllLandAndShareTransactions(engine: IndexEngine) async throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await index.record(Self.record(Self.attributes(series: "1.4.\(i % 5)", sop: "1.4.9.\(i)"))) }
            }
            try await group.waitForAll()
        }
        #expect(try index.allInstances().count == 200)
        // How many transactions they shared depends on how many threads the global queue ran at once (on two
        // loaded cores, sometimes one at a time): `groupCommitTakesEveryQueuedRecord` tests the batching.
        #expect(index.transactionCount <= 200)
        #expect(try index.canonicalDump().contains { $0.hasPrefix("study ") && $0.contains("number_of_instances:200") && $0.contains("number_of_series:5") })
    }

    /// While one transaction runs, every record queued behind it goes into the next one, whatever the timing.
    @Test func groupCommitTakesEveryQueuedRecord() throws {
        let group = GroupCommit<InstanceRecord>()
        let leaderWriting = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let lock = NSLock()
        nonisolated(unsafe) var batches: [Int] = []
        let write: @Sendable ([InstanceRecord]) -> [Result<Void, Error>] = { batch in
            lock.lock(); batches.append(batch.count); lock.unlock()
            return batch.map { _ in .success(()) }
        }
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            try? group.commit(Self.record(Self.attributes(sop: "1.6.0")), batchLimit: 100) { batch in
                leaderWriting.signal()
                release.wait()
                return write(batch)
            }
        }
        leaderWriting.wait()
        for i in 1...9 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                try? group.commit(Self.record(Self.attributes(sop: "1.6.\(i)")), batchLimit: 100, write: write)
            }
        }
        let deadline = Date(timeIntervalSinceNow: 30)
        while group.queued < 9 && Date() < deadline { usleep(1000) }
        #expect(group.queued == 9)
        release.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        lock.lock(); let sizes = batches; lock.unlock()
        #expect(sizes == [1, 9])
        #expect(group.transactions == 2)
    }

    /// The blocking form used by the archive's I/O threads: callers on many threads at once each return once
    /// their row is committed, sharing transactions.
    @Test(arguments: IndexEngine.embedded) func blockingRecordsFromManyThreadsAllLandAndShareTransactions(engine: IndexEngine) throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        let failures = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<25 {
                let sop = "1.5.9.\(thread).\(i)"
                do {
                    try index.recordNow(Self.record(Self.attributes(series: "1.5.\(thread)", sop: sop)))
                    // Committed on return: visible to a reader at once.
                    if try index.filePathNow(ofInstance: sop) == nil { throw CocoaError(.fileNoSuchFile) }
                } catch {
                    failures.lock(); errors.append("\(sop): \(error)"); failures.unlock()
                }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(try index.allInstances().count == 200)
        #expect(try index.canonicalDump().contains { $0.hasPrefix("study ") && $0.contains("number_of_instances:200") && $0.contains("number_of_series:8") })
    }

    @Test(arguments: IndexEngine.embedded) func rebuildGivesTheSameRowsAndCheckFindsProblems(rebuildingInto engine: IndexEngine) async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-rebuild")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.path
        let live = try SQLiteIndex(archive: root)
        for i in 0..<12 {
            var file = SampleImage.secondaryCapture(rows: 8, columns: 8)
            file.dataSet.setString("PAT\(i % 3)", for: .patientID, vr: .LO)
            file.dataSet.setString(["CT", "MR"][i % 2], for: .modality, vr: .CS)
            file.meta = FileMeta.make(sopClassUID: file.dataSet.uid(.sopClassUID) ?? "", sopInstanceUID: file.dataSet.uid(.sopInstanceUID) ?? "",
                                      transferSyntax: .explicitVRLittleEndian, sourceAETitle: "MODALITY")
            let a = InstanceAttributes(file.dataSet)
            let rel = try NamingScheme.uidHierarchical.relativePath(for: a)
            try Directory.create(root + "/" + (rel as NSString).deletingLastPathComponent)
            try FileWriter.write(try file.serialized(), to: root + "/" + rel)
            try await live.record(try IndexMaintenance.record(root: root, relativePath: rel))
        }
        let liveRows = try live.canonicalDump()
        let elsewhere = try ExternalTool.temporaryDirectory("arca-rebuilt")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let rebuilt = try engine.make(in: elsewhere.appendingPathComponent(engine.rawValue))
        let report = try IndexMaintenance.rebuild(root: root, into: rebuilt)
        #expect(report.indexed == 12 && report.failed.isEmpty)
        #expect(try rebuilt.canonicalDump() == liveRows, "\(engine)")
        #expect(try IndexMaintenance.check(root: root, index: rebuilt).isClean, "\(engine)")
        #expect(try IndexMaintenance.check(root: root, index: live).isClean)

        let files = IndexMaintenance.archivedFiles(root: root)
        try FileManager.default.removeItem(atPath: root + "/" + files[0])                       // row without file
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/" + files[1]))              // size mismatch
        var bytes = try FileReader.readAll(path: root + "/" + files[2])
        bytes[bytes.count - 1] ^= 0xFF
        try FileWriter.write(bytes, to: root + "/" + files[2])                                  // hash mismatch
        try FileWriter.write(try SampleImage.secondaryCapture().serialized(), to: root + "/stray.dcm")  // file without row
        let check = try IndexMaintenance.check(root: root, index: live)
        #expect(check.rowsWithoutFiles == [files[0]])
        #expect(check.sizeMismatches == [files[1]])
        #expect(check.hashMismatches == [files[2]])
        #expect(check.filesWithoutRows == ["stray.dcm"])
    }

    /// Records into a fresh index: what a rebuild from the final files would give.
    static func fresh(_ records: [InstanceRecord], _ engine: IndexEngine = .sqlite) async throws -> [String] {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        for r in records { try await index.record(r) }
        return try index.canonicalDump()
    }

    @Test(arguments: IndexEngine.embedded) func movesLeaveNoEmptyLevelsAndMatchAFreshIndex(engine: IndexEngine) async throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        // An instance replaced into another series of another study of another patient: the old series, study
        // and patient are left empty and go.
        try await index.record(Self.record(Self.attributes(patient: "OLD", study: "1.5.1", series: "1.5.1.1", sop: "1.5.9.1")))
        try await index.record(Self.record(Self.attributes(patient: "NEW", study: "1.5.2", series: "1.5.2.1", sop: "1.5.9.1", modality: "MR")))
        #expect(try index.canonicalDump() == (try await Self.fresh([
            Self.record(Self.attributes(patient: "NEW", study: "1.5.2", series: "1.5.2.1", sop: "1.5.9.1", modality: "MR"))], engine)))

        // A series re-sent under another study takes its instances along; a study re-sent under a corrected
        // Patient ID moves with its counts.
        // The SR's class stays with its study and the CT's goes with its series (SOP Classes in Study).
        var first = [Self.attributes(patient: "A", study: "1.6.1", series: "1.6.1.1", sop: "1.6.9.1"),
                     Self.attributes(patient: "A", study: "1.6.1", series: "1.6.1.1", sop: "1.6.9.2"),
                     Self.attributes(patient: "A", study: "1.6.1", series: "1.6.1.2", sop: "1.6.9.3", modality: "SR")]
        let srClass = "1.2.840.10008.5.1.4.1.1.88.11", ctClass = first[0].sopClassUID
        first[2].sopClassUID = srClass
        for a in first { try await index.record(Self.record(a)) }
        var moved = [Self.attributes(patient: "A", study: "1.6.2", series: "1.6.1.1", sop: "1.6.9.1"),
                     Self.attributes(patient: "A", study: "1.6.2", series: "1.6.1.1", sop: "1.6.9.2"),
                     Self.attributes(patient: "B", study: "1.6.1", series: "1.6.1.2", sop: "1.6.9.3", modality: "SR")]
        moved[2].sopClassUID = srClass
        try await index.record(Self.record(moved[0]))
        var dump = try index.canonicalDump()
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("study_uid:\"1.6.2\"") && $0.contains("number_of_series:1")
                                && $0.contains("number_of_instances:2") && $0.contains("modalities_in_study:\"CT\"")
                                && $0.contains("sop_classes_in_study:\"\(ctClass)\"") }, "\(dump)")
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("study_uid:\"1.6.1\"") && $0.contains("number_of_series:1")
                                && $0.contains("number_of_instances:1") && $0.contains("modalities_in_study:\"SR\"")
                                && $0.contains("sop_classes_in_study:\"\(srClass)\"") }, "\(dump)")
        for a in moved.dropFirst() { try await index.record(Self.record(a)) }
        dump = try index.canonicalDump()
        let expected = try await Self.fresh([Self.record(Self.attributes(patient: "NEW", study: "1.5.2", series: "1.5.2.1", sop: "1.5.9.1", modality: "MR"))]
                                            + moved.map(Self.record), engine)
        #expect(dump == expected)
        // The same rows as SQLite's: one engine can stand in for the other.
        #expect(dump == (try await Self.fresh([Self.record(Self.attributes(patient: "NEW", study: "1.5.2", series: "1.5.2.1", sop: "1.5.9.1", modality: "MR"))]
                                              + moved.map(Self.record))))
        // An instance re-sent into another study's series empties its old series, which goes: its old study, kept
        // by another series, no longer lists its class (the study was looked up through the deleted series).
        var mixed = [Self.attributes(patient: "C", study: "1.7.1", series: "1.7.1.1", sop: "1.7.9.1"),
                     Self.attributes(patient: "C", study: "1.7.1", series: "1.7.1.2", sop: "1.7.9.2", modality: "SR")]
        mixed[1].sopClassUID = srClass
        for a in mixed { try await index.record(Self.record(a)) }
        try await index.record(Self.record(Self.attributes(patient: "C", study: "1.7.2", series: "1.7.2.1", sop: "1.7.9.1")))
        dump = try index.canonicalDump()
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("study_uid:\"1.7.1\"") && $0.contains("number_of_instances:1")
                                && $0.contains("sop_classes_in_study:\"\(srClass)\"") }, "\(dump)")
        #expect(dump.contains { $0.hasPrefix("study ") && $0.contains("study_uid:\"1.7.2\"") && $0.contains("sop_classes_in_study:\"\(ctClass)\"") },
                "\(dump)")
        // Removing everything leaves nothing behind.
        for sop in ["1.5.9.1", "1.6.9.1", "1.6.9.2", "1.6.9.3", "1.7.9.1", "1.7.9.2"] { try await index.remove(instance: sop) }
        #expect(try index.canonicalDump().isEmpty)
    }

    @Test(.needs(.sqlite3), arguments: IndexEngine.embedded) func aBatchWithABadRowFailsOnlyThatRow(engine: IndexEngine) async throws {
        let (index, dir) = try Self.index(engine)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A trigger stands in for any per-row failure (a constraint, a full disk for that page…).
        switch engine {
        case .sqlite:
            try engine.execute("CREATE TRIGGER refuse BEFORE INSERT ON instances WHEN NEW.sop_uid = '1.7.9.13' BEGIN SELECT RAISE(ABORT, 'refused'); END;", on: index)
        case .postgres:
            try engine.execute("""
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                IF NEW.sop_uid = '1.7.9.13' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse BEFORE INSERT ON instances FOR EACH ROW EXECUTE FUNCTION refuse();
                """, on: index)
        }
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<40 {
                group.addTask {
                    do { try await index.record(Self.record(Self.attributes(series: "1.7.1", sop: "1.7.9.\(i)"))); return false } catch { return true }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 1)
        #expect(try index.allInstances().count == 39)
        #expect(try index.canonicalDump().contains { $0.hasPrefix("study ") && $0.contains("number_of_instances:39") })
    }

    /// An index written before the studies kept their patient's attributes (schema 3) gets them when a server opens
    /// it: the copies filled from `patients`, then kept by the triggers.
    @Test(.needs(.sqlite3)) func anIndexOfSchemaThreeGetsItsStudiesPatientCopies() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-v3")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.path + "/" + SQLiteIndex.fileName
        do { _ = try SQLiteIndex(archive: dir.path) }
        // Back to schema 3 as it was, with a patient and a study written then.
        let copies = StudyPatientCopy.columns.map(\.study)
        _ = try ExternalTool.run("/usr/bin/sqlite3", [path, """
            DROP TRIGGER studies_patient_copy_new; DROP TRIGGER studies_patient_copy_moved; DROP TRIGGER patients_copy_to_studies;
            DROP INDEX studies_patient_name_folded; DROP INDEX studies_patient_id;
            \(copies.map { "ALTER TABLE studies DROP COLUMN \($0);" }.joined(separator: " "))
            DELETE FROM schema_version WHERE version = 4; DELETE FROM grdb_migrations WHERE identifier = 'v4';
            INSERT INTO patients (pk, patient_id, name, name_folded, birth_date, sex, number_of_studies)
                VALUES (1, 'P9', 'Old^Row', 'OLD^ROW', '19500101', 'F', 1);
            INSERT INTO studies (pk, study_uid, patient_pk, number_of_series) VALUES (1, '9.1', 1, 1);
            """])
        let index = try SQLiteIndex(archive: dir.path)
        let rows = try ExternalTool.run("/usr/bin/sqlite3", [path, """
            SELECT \(copies.joined(separator: ", ")) FROM studies; SELECT max(version) FROM schema_version;
            """]).stdout
        #expect(rows == "P9||Old^Row|OLD^ROW|19500101|F\n4\n", "\(rows)")
        // Kept from then on: the patient's new name reaches the study.
        try index.recordBatch([Self.record(Self.attributes(patient: "P9", study: "9.1", series: "9.1.1", sop: "9.1.1.1"))])
        let renamed = try ExternalTool.run("/usr/bin/sqlite3", [path, "SELECT patient_name, patient_name_folded FROM studies"]).stdout
        #expect(renamed == "Doe^Jane|DOE^JANE\n", "\(renamed)")
        // A copy changed behind the index's back is a problem `arca index check` names.
        #expect(try IndexMaintenance.check(root: dir.path, index: index, quick: true).staleStudyCopies == [])
        _ = try ExternalTool.run("/usr/bin/sqlite3", [path, "UPDATE studies SET patient_sex = 'O' WHERE study_uid = '9.1'"])
        let report = try IndexMaintenance.check(root: dir.path, index: index, quick: true)
        #expect(report.staleStudyCopies == ["9.1"] && !report.isClean)
    }

    @Test(.needs(.sqlite3)) func namesAreStoredAsUTF8AndAMissingIndexIsRebuiltInPlace() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-inplace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.path
        var file = SampleImage.secondaryCapture(rows: 8, columns: 8)
        file.dataSet.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
        file.dataSet.set(Element(tag: .patientName, vr: .PN, bytes: Array("M\u{FC}ller^J\u{FC}rgen ".unicodeScalars.map { UInt8($0.value) })))
        let a = InstanceAttributes(file.dataSet)
        let rel = try NamingScheme.uidHierarchical.relativePath(for: a)
        try Directory.create(root + "/" + (rel as NSString).deletingLastPathComponent)
        try FileWriter.write(try file.serialized(), to: root + "/" + rel)
        do {
            let live = try SQLiteIndex(archive: root)
            try await live.record(try IndexMaintenance.record(root: root, relativePath: rel))
        }
        // The seed's recipe: index.db deleted (its -wal and -shm may stay), then rebuilt from the files.
        try FileManager.default.removeItem(atPath: root + "/index.db")
        let report = try IndexMaintenance.rebuildInPlace(root: root)
        #expect(report.indexed == 1 && report.failed.isEmpty)
        let rows = try ExternalTool.run("/usr/bin/sqlite3", [root + "/index.db", "SELECT name FROM patients; SELECT max(version) FROM schema_version;"]).stdout
        #expect(rows == "Müller^Jürgen\n4\n", "\(rows)")
        #expect(try IndexMaintenance.check(root: root, index: SQLiteIndex(archive: root)).isClean)
        // A second rebuild over an existing index gives the same rows.
        let before = try SQLiteIndex(archive: root).canonicalDump()
        _ = try IndexMaintenance.rebuildInPlace(root: root)
        #expect(try SQLiteIndex(archive: root).canonicalDump() == before)
    }

    /// Files whose meta header names the other little-endian syntax than their dataset is in are indexed
    /// (with the syntax the bytes are in), listed as warnings in the report, and left as they are.
    @Test func aRebuildIndexesFilesWhoseMetaHeaderNamesTheWrongSyntax() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-rebuild-mismatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.path
        var written: [String: [UInt8]] = [:]
        for (n, c) in MismatchedFile.cases.enumerated() {
            let (bytes, _) = try MismatchedFile.make(declared: c.declared, written: c.written, sop: "1.2.3.9.\(n)")
            let rel = "m\(n).dcm"
            try FileWriter.write(bytes, to: root + "/" + rel)
            written[rel] = bytes
            #expect(try IndexMaintenance.record(root: root, relativePath: rel).transferSyntaxUID == c.written.uid)
        }
        let report = try IndexMaintenance.rebuildInPlace(root: root)
        #expect(report.indexed == 2 && report.failed.isEmpty, "\(report.failed)")
        #expect(report.warnings.map(\.path).sorted() == ["m0.dcm", "m1.dcm"])
        #expect(report.warnings.allSatisfy { $0.warning.contains("meta header says") }, "\(report.warnings)")
        for (rel, bytes) in written { #expect(try FileReader.readAll(path: root + "/" + rel) == bytes) }
        #expect(try IndexMaintenance.check(root: root, index: SQLiteIndex(archive: root)).isClean)
    }

    /// Two files of one instance (a stray copy) make one row: the rebuild counts rows, not files, and says the
    /// copies are there ("Indexed 2" was said of one row, without a word of the copy).
    @Test func aRebuildCountsInstancesAndSaysWhereTwoFilesHoldOne() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-rebuild-copies")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try SampleImage.secondaryCapture(rows: 8, columns: 8).serialized()
        try FileWriter.write(bytes, to: dir.path + "/a.dcm")
        try Directory.create(dir.path + "/copies")
        try FileWriter.write(bytes, to: dir.path + "/copies/a.dcm")
        let report = try IndexMaintenance.rebuildInPlace(root: dir.path)
        #expect(report.indexed == 1, "\(report.indexed)")
        #expect(report.warnings.contains { $0.warning.contains("1 file(s) hold an instance another file holds too") }, "\(report.warnings)")
        // A file where a folder is asked for is no folder (mkdir's EEXIST was taken for one).
        #expect(throws: (any Error).self) { try Directory.create(dir.path + "/a.dcm") }
    }

    /// Two servers on one SQLite index each keep their own clean-stop flag: the second's start is not taken for a
    /// crash of the first (which made it reconcile while the first was committing), and a server that dies while
    /// the other stops cleanly is still seen by the next start in its place.
    @Test func serversSharingAnIndexEachTellTheirOwnUncleanStop() throws {
        let dir = try ExternalTool.temporaryDirectory("arca-sessions")
        defer { try? FileManager.default.removeItem(at: dir) }
        var first: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        var second: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        #expect(try first?.beginSession() == true)
        #expect(try second?.beginSession() == true)  // the first is running, not crashed
        first = nil                                   // the first dies without a clean stop
        try second?.endSession()                      // the second stops cleanly
        second = nil
        var next: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        #expect(try next?.beginSession() == false)    // in the dead one's place: its stop was not clean
        var other: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        #expect(try other?.beginSession() == true)    // in the second's place: it stopped cleanly
        try next?.endSession()
        try other?.endSession()
        next = nil
        other = nil
        var after: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        #expect(try after?.beginSession() == true)    // both stopped cleanly
        // A server in slot 1 dies while the one in slot 0 stops cleanly; the next start takes slot 0, and still sees it.
        var inSlot1: SQLiteIndex? = try SQLiteIndex(archive: dir.path)
        #expect(try inSlot1?.beginSession() == true)
        inSlot1 = nil
        try after?.endSession()
        after = nil
        let alone = try SQLiteIndex(archive: dir.path)
        #expect(try !alone.beginSession())
        try alone.endSession()
        #expect(try alone.beginSession())             // the dead one's flag was reconciled for, once
    }

    @Test(arguments: IndexEngine.embedded) func afterAnUncleanStopReconcileIndexesTheFilesWithoutRows(engine: IndexEngine) async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-reconcile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.path
        let index = try engine.make(in: dir)
        #expect(try index.beginSession())          // a new index: nothing to reconcile
        var paths: [String] = []
        for _ in 0..<3 {
            let file = SampleImage.secondaryCapture(rows: 8, columns: 8)
            let rel = try NamingScheme.uidHierarchical.relativePath(for: InstanceAttributes(file.dataSet))
            try Directory.create(root + "/" + (rel as NSString).deletingLastPathComponent)
            try FileWriter.write(try file.serialized(), to: root + "/" + rel)
            paths.append(rel)
        }
        // The first two were indexed; the server died before the third's row (and after the second's file went).
        for rel in paths.prefix(2) { try await index.record(try IndexMaintenance.record(root: root, relativePath: rel)) }
        try FileManager.default.removeItem(atPath: root + "/" + paths[1])
        #expect(try !index.beginSession())         // still marked running: the last stop was not clean
        let report = try IndexMaintenance.reconcile(root: root, index: index)
        #expect(report.indexed == [paths[2]] && report.removed == [paths[1]] && report.skipped.isEmpty)
        #expect(try IndexMaintenance.check(root: root, index: index).isClean)
        try index.endSession()
        #expect(try index.beginSession())
    }
}
