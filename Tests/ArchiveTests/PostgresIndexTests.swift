import BLAKE3
import DICOM
import Foundation
import NIOConcurrencyHelpers
import PostgresNIO
import Testing
import TestSupport

@testable import Archive

/// What only the PostgreSQL index does: several nodes on one database (claims, elections, concurrent first
/// opens) and the migration from SQLite. The cases both engines share run in SQLiteIndexTests and
/// QueryEngineTests on each engine.
@Suite(.enabled(if: PostgresTestServer.shouldRun, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresIndexTests {
    static func node(_ url: String, _ name: String) throws -> PostgresIndex { try PostgresIndex(url: url, node: name) }

    /// Waits (30 s at most, by the clock: a loaded test run makes each poll slow) for a condition the server
    /// reaches by itself, such as a node's closed connections gone, and their locks with them.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if try await condition() { return true }
            // Checked after the condition: a sleep that the starved cooperative pool resumed late still gets its look.
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// `psql` running `sql` in the background: another writer, whose transaction the test keeps open as long as
    /// it needs (behind a `Gate`), not for a time a loaded machine may exceed.
    final class BackgroundSQL: Sendable {
        let process: Process

        init(_ url: String, _ sql: String) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-o", "/dev/null", "-c", sql]
            try process.run()
        }

        /// Its exit status, once it has ended (waited for on a dispatch thread, not a cooperative one).
        func status() async -> Int32 {
            await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
                DispatchQueue.global().async {
                    self.process.waitUntilExit()
                    done.resume(returning: self.process.terminationStatus)
                }
            }
        }
    }

    /// An advisory lock held by a background session until `open()`: a writer's transaction ends with
    /// `pg_advisory_xact_lock(key)` (`wait`) and so stays open, its row locks held, until the test opens the gate.
    struct Gate {
        let url: String
        let key: Int
        let holder: BackgroundSQL

        init(_ url: String, key: Int) async throws {
            self.url = url
            self.key = key
            // Ended by `open()`; by its own end when a failed test never opens it.
            holder = try BackgroundSQL(url, "SELECT pg_advisory_lock(\(key)), pg_sleep(120)")
            #expect(try await PostgresIndexTests.eventually { try Self.locks(url, key, granted: true) == 1 })
        }

        /// The SQL a writer ends its transaction with, to wait for the gate.
        var wait: String { "SELECT pg_advisory_xact_lock(\(key));" }

        /// Whether a session waits at the gate.
        func waited() async throws -> Bool {
            try await PostgresIndexTests.eventually { try Self.locks(url, key, granted: false) == 1 }
        }

        func open() async throws {
            _ = try PostgresTestServer.psql(url, """
                SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = \(key)
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)
            _ = await holder.status()
        }

        static func locks(_ url: String, _ key: Int, granted: Bool) throws -> Int {
            Int(try PostgresTestServer.psql(url, """
                SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = \(granted) AND objid = \(key)
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
    }

    @Test func nodesOpeningANewDatabaseTogetherAllGetTheSchema() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let opened = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<4 {
                group.addTask {
                    try await withCheckedThrowingContinuation { c in
                        DispatchQueue.global().async { c.resume(with: Result { try Self.node(url, "n\(n)").schemaVersion() }) }
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(opened == [9, 9, 9, 9])
        #expect(try PostgresTestServer.psql(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version") == "1,2,3,4,5,6,7,8,9\n")
    }

    /// A study created, or moved to another patient, while another transaction (another node) changes that patient
    /// takes the values that transaction commits: its copy's look-up waits for the patient's writer.
    @Test func aStudyWrittenWhileItsPatientChangesTakesTheCommittedValues() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "copies")
        defer { index.close() }
        func record(_ patient: String, _ name: String, study: String) -> InstanceRecord {
            var ds = DataSet()
            ds.setString(patient, for: .patientID, vr: .LO)
            ds.setString(name, for: .patientName, vr: .PN)
            ds.setString(study, for: .studyInstanceUID, vr: .UI)
            ds.setString(study + ".1", for: .seriesInstanceUID, vr: .UI)
            ds.setString(study + ".1.1", for: .sopInstanceUID, vr: .UI)
            return InstanceRecord(attributes: InstanceAttributes(ds), filePath: study + ".dcm", fileSize: 1, fileHash: "00",
                                  transferSyntaxUID: "1.2.840.10008.1.2.1", receivedAt: "2026-12-05T00:00:00Z", callingAETitle: "T")
        }
        try index.recordBatch([record("P1", "Doe^John", study: "1.1"), record("P2", "Roe^Ann", study: "2.1"),
                               record("P3", "Poe^Ed", study: "3.1")])
        // The other writer renames P1 and P2 and keeps its transaction open until the gate opens.
        let gate = try await Gate(url, key: 4101)
        let renaming = try BackgroundSQL(url, """
            BEGIN; UPDATE patients SET name = 'Doe^Jonathan' WHERE patient_id = 'P1';
            UPDATE patients SET name = 'Roe^Richard' WHERE patient_id = 'P2'; \(gate.wait) COMMIT;
            """)
        #expect(try await gate.waited())
        // Meanwhile: a new study of P1, and study 3.1 corrected to P2. Their copies' look-ups wait for the writer.
        let correcting = try BackgroundSQL(url, """
            INSERT INTO studies (study_uid, patient_pk) VALUES ('4.1', (SELECT pk FROM patients WHERE patient_id = 'P1'));
            UPDATE studies SET patient_pk = (SELECT pk FROM patients WHERE patient_id = 'P2') WHERE study_uid = '3.1';
            """)
        #expect(try await Self.eventually {
            try PostgresTestServer.psql(url, """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE 'INSERT INTO studies%'
                """) == "1\n"
        })
        try await gate.open()
        #expect(await renaming.status() == 0)
        #expect(await correcting.status() == 0)
        #expect(try PostgresTestServer.psql(url, "SELECT study_uid || ' ' || patient_name FROM studies ORDER BY study_uid")
                == "1.1 Doe^Jonathan\n2.1 Roe^Richard\n3.1 Roe^Richard\n4.1 Doe^Jonathan\n")
    }

    /// Rows reach the reader in batches while the statement runs; a reader that stops (a C-CANCEL, a limit)
    /// ends the statement, and so does one that throws; the index answers the next statement as before.
    @Test func rowsStreamAndAStoppedReaderEndsTheStatement() async throws {
        let index = try Self.node(try PostgresTestServer.makeDatabase(), "reader")
        let sql = "SELECT n, 'row ' || n FROM generate_series(1, 20000) n"
        var seen: [Int64] = []
        try index.forEachRow(sql, []) { row in
            seen.append(row.first?.integer ?? -1)
            return seen.count < 10
        }
        #expect(seen == Array(1...10))
        struct Refused: Error {}
        #expect(throws: Refused.self) { try index.forEachRow(sql, []) { _ in throw Refused() } }
        var count = 0
        var last = ""
        try index.forEachRow(sql, []) { row in
            count += 1
            last = row.last?.text ?? ""
            return true
        }
        #expect(count == 20_000)
        #expect(last == "row 20000")
        #expect(throws: (any Error).self) { try index.forEachRow("SELECT no_such_column FROM instances", []) { _ in true } }
    }

    /// A statement whose reader stops is cancelled on the server, not read to its end: one that would send rows
    /// for hours (no LIMIT: a search whose keys are checked on the stored instances) is gone from the server's
    /// activity at once, and the connection serves the next statements.
    @Test func aStoppedStatementIsCancelledOnTheServer() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "canceller")
        // In the SELECT list, where it streams: in FROM it would be materialized whole before the first row.
        let endless = "SELECT generate_series(1, 1000000000000) AS n"
        for round in 1...3 {
            var seen = 0
            try index.forEachRow(endless, []) { _ in
                seen += 1
                return seen < 100
            }
            #expect(seen == 100)
            let running = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%generate_series(1, 1000000000000)%' AND pid <> pg_backend_pid()"
            #expect(try await Self.eventually { try PostgresTestServer.psql(url, running) == "0\n" }, "round \(round)")
            var next: [Int64] = []
            try index.forEachRow("SELECT n FROM generate_series(1, 3) n", []) { row in
                next.append(row.first?.integer ?? -1)
                return true
            }
            #expect(next == [1, 2, 3])
        }
        // A statement that fails after some rows is an error, not the end of the rows: only a stopped reader ends
        // them quietly.
        var before = 0
        #expect(throws: (any Error).self) {
            try index.forEachRow("SELECT 100 / (10 - n) FROM generate_series(1, 20) n", []) { _ in
                before += 1
                return true
            }
        }
        #expect(before < 10)
        index.close()
    }

    /// `arca_record` waits for another transaction's lock on a patient row, and waits before writing its study (no
    /// write of the studies table held while it waits). Waiting after it, it held the patient FOR SHARE (the
    /// study's trigger), and the other's count update then deadlocked with it (PostgreSQL aborted one after 1 s;
    /// the batch's row-by-row retry hid it).
    static func expectRecordWaitsBeforeWritingItsStudy(_ url: String) async throws {
        #expect(try await Self.eventually {
            try PostgresTestServer.psql(url, """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE '%arca_record%'
                """) == "1\n"
        })
        #expect(try PostgresTestServer.psql(url, """
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.datname = current_database() AND a.query LIKE '%arca_record%'
                AND l.relation = 'studies'::regclass AND l.mode = 'RowExclusiveLock'
            """) == "0\n")
    }

    /// Two transactions adding a study each to one patient: a new study's trigger reads its patient FOR SHARE,
    /// then the patient's count is updated. Both holding the share lock, each update waited for the other: a
    /// deadlock, one of them aborted after PostgreSQL's 1 s `deadlock_timeout`. `arca_record` now locks the patient
    /// row before the insert, so the second waits for the first instead.
    @Test func twoNewStudiesOfOnePatientDoNotDeadlock() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "studies")
        defer { index.close() }
        func record(_ study: String) -> InstanceRecord {
            SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P1", study: study, series: study + ".1", sop: study + ".1.1"))
        }
        try index.recordBatch([record("1.1")])
        // Another node's transaction, stopped between its new study's insert and its patient's count update.
        let gate = try await Gate(url, key: 4102)
        let other = try BackgroundSQL(url, """
            BEGIN; INSERT INTO studies (study_uid, patient_pk) VALUES ('2.1', (SELECT pk FROM patients WHERE patient_id = 'P1'));
            \(gate.wait) UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE patient_id = 'P1'; COMMIT;
            """)
        #expect(try await gate.waited())
        let recording = Task.detached { try index.recordNow(record("3.1")) }
        try await Self.expectRecordWaitsBeforeWritingItsStudy(url)
        try await gate.open()
        #expect(await other.status() == 0)
        try await recording.value
        #expect(try PostgresTestServer.psql(url, "SELECT number_of_studies FROM patients WHERE patient_id = 'P1'") == "3\n")
    }

    /// The same with a study moving to the patient (a corrected Patient ID): its trigger reads the new patient FOR
    /// SHARE before the counts change; both patient rows are now locked first, in one order.
    @Test func aStudyMovingToAPatientDoesNotDeadlockWithAnother() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "moves")
        defer { index.close() }
        func record(_ patient: String, _ study: String) -> InstanceRecord {
            SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: patient, study: study, series: study + ".1", sop: study + ".1.1"))
        }
        try index.recordBatch([record("P1", "1.1"), record("P2", "5.1"), record("P3", "6.1")])
        let gate = try await Gate(url, key: 4103)
        // Another node moving study 6.1 to P1, stopped before its count update.
        let other = try BackgroundSQL(url, """
            BEGIN; UPDATE studies SET patient_pk = (SELECT pk FROM patients WHERE patient_id = 'P1') WHERE study_uid = '6.1';
            \(gate.wait) UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE patient_id = 'P1'; COMMIT;
            """)
        #expect(try await gate.waited())
        let recording = Task.detached { try index.recordNow(record("P1", "5.1")) }  // 5.1 moves from P2 to P1
        try await Self.expectRecordWaitsBeforeWritingItsStudy(url)
        try await gate.open()
        #expect(await other.status() == 0)
        try await recording.value
        #expect(try PostgresTestServer.psql(url, "SELECT s.study_uid || ' ' || p.patient_id FROM studies s JOIN patients p ON p.pk = s.patient_pk ORDER BY s.study_uid")
                == "1.1 P1\n5.1 P1\n6.1 P1\n")
    }

    /// A NUL inside a value (trailing ones are padding) is kept out of the index: PostgreSQL refuses it in text,
    /// so the instance was refused on every try there (SQLite stored it).
    @Test func aNULInsideAValueIsKeptOutOfTheIndex() throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "nul")
        defer { index.close() }
        var ds = DataSet()
        ds.setString("P\u{0}9", for: .patientID, vr: .LO)
        ds.setString("DOE\u{0}^JOHN", for: .patientName, vr: .PN)
        ds.setString("CHEST\u{0}CT", for: .studyDescription, vr: .LO)
        ds.setString("9.1", for: .studyInstanceUID, vr: .UI)
        ds.setString("9.1.1", for: .seriesInstanceUID, vr: .UI)
        ds.setString("9.1.1.1", for: .sopInstanceUID, vr: .UI)
        let attributes = InstanceAttributes(ds)
        #expect(attributes.patientID == "P9" && attributes.patientName == "DOE^JOHN" && attributes.studyDescription == "CHESTCT")
        try index.recordNow(SQLiteIndexTests.record(attributes))
        #expect(try PostgresTestServer.psql(url, "SELECT patient_id || ' ' || name FROM patients") == "P9 DOE^JOHN\n")
    }

    /// Another node's claim is waited for whatever the duplicate policy: `ignore` answered success at once (and
    /// `reject` "duplicate") for an instance that node could still fail to store, and the sender would not send it
    /// again. Here the other node's commit fails (its claim released, no row): this node then stores it.
    @Test func anotherNodesClaimIsWaitedForUnderEveryPolicy() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        let root = try ExternalTool.temporaryDirectory("claims")
        defer { try? FileManager.default.removeItem(at: root) }
        for (n, policy) in [DuplicatePolicy.ignore, .reject, .replace].enumerated() {
            let sop = "1.9.\(n)"
            let archive = try FileArchive(configuration: FileArchive.Configuration(root: root.path, duplicatePolicy: policy, journal: nil),
                                          index: b)
            #expect(try await a.claim(instance: sop) == .claimedNew)
            let answered = NIOLockedValueBox(false)
            let committing = Task {
                defer { answered.withLockedValue { $0 = true } }
                return try await archive.claimedAcrossNodes(sop, relative: sop + ".dcm") { lookup in
                    #expect(lookup != nil, "\(policy): claimed, with no row to look up")
                    await b.release(instance: sop)
                    return .stored(path: sop + ".dcm")
                }
            }
            try await Task.sleep(for: .milliseconds(300))  // b asks while a holds it
            let waited = !answered.withLockedValue { $0 }
            await a.release(instance: sop)                  // a's commit failed: no row
            #expect(waited, "\(policy): answered while the other node still held the claim")
            #expect(try await committing.value == .stored(path: sop + ".dcm"), "\(policy)")
        }
    }

    /// A claim is a lease that its holder renews while its commit runs: a commit that outlasts the lease (a
    /// multi-gigabyte file flushed to slow storage) was taken over by the node waiting for it, and both placed the
    /// instance. A claim a live node left behind (its release failed) still runs out, unrenewed.
    @Test func aLongCommitKeepsItsClaimAndALeftClaimRunsOut() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try PostgresIndex(url: url, node: "a", claimLease: .seconds(4))
        let b = try PostgresIndex(url: url, node: "b", claimLease: .seconds(4))
        let root = try ExternalTool.temporaryDirectory("lease")
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try FileArchive(configuration: FileArchive.Configuration(root: root.path, duplicatePolicy: .reject, journal: nil),
                                      index: a)
        // A commit of more than two leases, b trying to claim the instance all along.
        let result = try await archive.claimedAcrossNodes("1.7.1", relative: "1.7.1.dcm") { _ in
            let end = ContinuousClock.now + .seconds(9)
            var answers: Set<String> = []
            while ContinuousClock.now < end {
                answers.insert("\(try await b.claim(instance: "1.7.1"))")
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(answers == ["heldElsewhere"], "b's claims during a's commit")
            return .ignored(path: "1.7.1.dcm")  // ends a's claim (no row)
        }
        #expect(result == .ignored(path: "1.7.1.dcm"))
        #expect(try await b.claim(instance: "1.7.1") == .claimedNew)
        // Left behind by a live node: taken over once its lease has run out.
        #expect(try await a.claim(instance: "1.7.2") == .claimedNew)
        #expect(try await b.claim(instance: "1.7.2") == .heldElsewhere)
        #expect(try await Self.eventually { try await b.claim(instance: "1.7.2") == .claimedNew })
    }

    @Test func aClaimIsExclusiveAcrossNodesAndADeadNodesClaimIsTakenOver() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        // Another node may record any instance at any moment: a commit looks it up inside its claim only.
        #expect(a.recordedRowCount == nil)
        #expect(try await a.claim(instance: "1.2.3") == .claimedNew)
        #expect(try await b.claim(instance: "1.2.3") == .heldElsewhere)
        await a.release(instance: "1.2.3")
        #expect(try await b.claim(instance: "1.2.3") == .claimedNew)
        await b.release(instance: "1.2.3")
        // A node that dies holding a claim: its connection (and node lock) goes, and the claim can be taken.
        let c = try Self.node(url, "c")
        #expect(try await c.claim(instance: "1.2.4") == .claimedNew)
        #expect(try await b.claim(instance: "1.2.4") == .heldElsewhere)
        c.close()
        #expect(try await Self.eventually { try await b.claim(instance: "1.2.4") == .claimedNew })
        #expect(try PostgresTestServer.psql(url, "SELECT node FROM ingest_claims WHERE sop_uid = '1.2.4'") == "b\n")
        // A node's own claim, left by an attempt whose answer was lost, is its own to take again at once (the
        // node commits one UID at a time); it waited for the lease's 60 s.
        #expect(try await b.claim(instance: "1.2.5") == .claimedNew)
        #expect(try await b.claim(instance: "1.2.5") == .claimedNew)
        #expect(try await a.claim(instance: "1.2.5") == .heldElsewhere)
        // Two live processes may not share a node name.
        #expect(throws: (any Error).self) { _ = try Self.node(url, "a") }
    }

    /// The claim looks the instance up in the same round trip, and a commit's row ends the claim: another node
    /// then finds the row (never neither the claim nor the row), and the claimant needs no release. Rows other
    /// paths write (a compressed copy's, a recovery's) end no claim.
    @Test func aCommitsRowEndsItsClaimAndTheNextClaimFindsTheRow() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        func record(_ sop: String) -> InstanceRecord {
            SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.8", series: "1.8.0", sop: sop))
        }
        func claims() throws -> String {
            try PostgresTestServer.psql(url, "SELECT string_agg(sop_uid || ' ' || node, ',' ORDER BY sop_uid) FROM ingest_claims")
        }
        #expect(try await a.claim(instance: "1.8.1") == .claimedNew)
        #expect(try await b.claim(instance: "1.8.1") == .heldElsewhere)
        // b's claim on another instance is not a's to end.
        #expect(try await b.claim(instance: "1.8.3") == .claimedNew)
        try a.recordNow(record("1.8.1"), endingClaim: true)
        #expect(try claims() == "1.8.3 b\n")
        // Granted, and the row is there: the commit looks it up and the duplicate policy decides.
        #expect(try await b.claim(instance: "1.8.1") == .claimed)
        await b.release(instance: "1.8.1")
        // Rows written outside a commit keep the claim: it is the commit's to end.
        #expect(try await a.claim(instance: "1.8.4") == .claimedNew)
        #expect(try await a.claim(instance: "1.8.5") == .claimedNew)
        try a.recordNow(record("1.8.4"))
        try a.recordBatch([record("1.8.5")])
        #expect(try claims() == "1.8.3 b,1.8.4 a,1.8.5 a\n")
        #expect(try await b.claim(instance: "1.8.4") == .heldElsewhere)
    }

    /// A journaled instance's row is committed without waiting for its WAL flush (the journal holds the instance
    /// meanwhile): seen at once by every node, made durable by `makeRowsDurable`, which records again the rows the
    /// server lost in a crash (here removed or overwritten by hand, as a crash loses them) and leaves another
    /// writer's newer row alone.
    @Test func journaledRowsAreSeenAtOnceAndThoseACrashLostAreRecordedAgain() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        defer { a.close(); b.close() }
        func record(_ sop: String, hash: String = "aa") -> InstanceRecord {
            var r = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.9", series: "1.9.0", sop: sop))
            r.fileHash = hash
            return r
        }
        func hashes() throws -> String {
            try PostgresTestServer.psql(url, "SELECT string_agg(sop_uid || '=' || file_hash, ',' ORDER BY sop_uid) FROM instances")
        }
        #expect(try await a.claim(instance: "1.9.1") == .claimedNew)
        try a.recordJournaled(record("1.9.1"), endingClaim: true)
        try a.recordJournaled(record("1.9.2"), endingClaim: false)
        #expect(a.unflushedCount == 2)
        #expect(try hashes() == "1.9.1=aa,1.9.2=aa\n")
        #expect(try PostgresTestServer.psql(url, "SELECT count(*) FROM ingest_claims") == "0\n")
        try a.makeRowsDurable()
        #expect(a.unflushedCount == 0)
        #expect(try hashes() == "1.9.1=aa,1.9.2=aa\n")
        // Rows recorded by the ordinary path are durable when they return: nothing to remember.
        try a.recordNow(record("1.9.3"), endingClaim: false)
        #expect(a.unflushedCount == 0)

        // 1.9.4 lost whole; 1.9.5 recorded twice by this node and only its first row kept; 1.9.6 replaced since
        // by another node.
        try a.recordJournaled(record("1.9.4"), endingClaim: false)
        try a.recordJournaled(record("1.9.5", hash: "b1"), endingClaim: false)
        try a.recordJournaled(record("1.9.5", hash: "b2"), endingClaim: false)
        try a.recordJournaled(record("1.9.6"), endingClaim: false)
        _ = try PostgresTestServer.psql(url, "SELECT arca_remove('1.9.4')")
        try b.recordNow(record("1.9.5", hash: "b1"))
        try b.recordNow(record("1.9.6", hash: "cc"))
        try a.makeRowsDurable()
        #expect(a.unflushedCount == 0)
        #expect(try hashes() == "1.9.1=aa,1.9.2=aa,1.9.3=aa,1.9.4=aa,1.9.5=b2,1.9.6=cc\n")
        #expect(try PostgresTestServer.psql(url, "SELECT number_of_instances FROM series") == "6\n")
    }

    /// Every node holds a burst in its journal, so a row another node committed may name a file not in place yet.
    /// A reader here, given a row with a placeholder hash, asks every node to place what it holds (NOTIFY) and reads
    /// the file once the node holding it announces its batch: long before that node's hold (a minute here) would
    /// have ended it. Its waits run on a thread of their own, as a reader's do, not on the cooperative pool.
    @Test func aReaderOnAnotherNodeGetsAHeldInstancePlacedAtOnce() async throws {
        try await PlacementNoticesTests.onThread { try Self.readAHeldInstanceFromAnotherNode() }
    }

    static func readAHeldInstanceFromAnotherNode() throws {
        try withTwoNodesHolding { root, a, b, onA, onB in
            try readAHeldInstance(root, a, b, onA, onB)
        }
    }

    /// The same for a C-FIND on the other node asking for a key the index lacks (Conversion Type): it is read
    /// from the instance, which the node holding it places when asked, not answered empty.
    @Test func aCFindOnAnotherNodeReadsAHeldInstancesAttributes() async throws {
        try await PlacementNoticesTests.onThread {
            try Self.withTwoNodesHolding { root, _, b, onA, onB in
                let stored = try MaterializerHoldTests.Fixture.store(2, in: onA)
                #expect(!FileManager.default.fileExists(atPath: root + "/" + stored.path))
                let engine = QueryEngine(index: b, source: ArchiveInstanceSource(root: root, materializer: onB.materializer))
                // The study's answer reads its representative instance (the only one) for the key.
                var keys = DataSet()
                keys.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
                keys.setString("", for: .studyInstanceUID, vr: .UI)
                keys.setString("", for: .conversionType, vr: .CS)
                let result = try engine.findNow(try Query(identifier: keys, model: .studyRoot))
                #expect(result.answers.map { $0.string(.conversionType) } == ["WSD"])
                #expect(FileManager.default.fileExists(atPath: root + "/" + stored.path))
            }
        }
    }

    /// Two nodes replacing one instance moments apart (`--duplicate replace`): b acknowledges copy 1, a replaces it
    /// with copy 2, and each holds its copy in its journal. `arca index check` meanwhile finds the row's copy in a's
    /// journal although b's (scanned after it) holds another. Whichever materializer comes to the path last, the
    /// file in place is copy 2, the one the row names: b's copy, replaced since, is dropped, not renamed over a's.
    @Test func aCopyReplacedOnAnotherNodeIsNotPutInPlaceOverTheNewerOne() async throws {
        try await PlacementNoticesTests.onThread {
            try Self.withTwoNodesHolding(duplicatePolicy: .replace) { root, a, _, onA, onB in
                let sop = "1.2.826.0.1.3680043.10.1.88"
                func copy(rows: UInt16) -> DICOMFile {
                    SampleImage.copy(rows: rows, sop: sop, study: "1.2.826.0.1.3680043.10.1.80", series: "1.2.826.0.1.3680043.10.1.81")
                }
                let first = try MaterializerHoldTests.Fixture.commit(copy(rows: 16), in: onB)
                let second = try MaterializerHoldTests.Fixture.commit(copy(rows: 17), in: onA)
                #expect(first.result == .stored(path: first.path))
                #expect(second.result == .replaced(path: first.path))
                let check = try IndexMaintenance.check(root: root, index: a)
                #expect(check.journaled == [first.path] && check.isClean)
                let materializerA = try #require(onA.materializer), materializerB = try #require(onB.materializer)
                // a places its copy first; b, coming to the path after, must not put its older copy over it.
                materializerA.drain()
                #expect(materializerA.materialized == 1)
                materializerB.drain()
                #expect(materializerB.materialized == 1)
                #expect(materializerB.superseded == 1 && materializerA.superseded == 0)
                #expect(FileManager.default.contents(atPath: root + "/" + first.path) == Data(second.bytes))
                let row = try #require(try a.allInstances().first { $0.sopInstanceUID == sop })
                #expect(row.fileHash == BLAKE3.hex(BLAKE3.hash(second.bytes)))
                #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/" + FileArchive.incomingFolder).isEmpty)
            }
        }
    }

    /// A node restarting after a crash reconciles the index with the files while another node holds a burst in its
    /// journal: the rows of those acknowledged instances (placeholders, no file yet) are kept, not removed as rows
    /// whose file is gone. A placeholder row no journal holds is kept too while another node runs (it may be
    /// writing that record now); `IngestJournalTests` shows it removed once no other server runs.
    @Test func aReconcileKeepsTheRowsOfInstancesAnotherNodeHolds() async throws {
        try await PlacementNoticesTests.onThread {
            try Self.withTwoNodesHolding { root, a, b, onA, _ in
                let stored = try MaterializerHoldTests.Fixture.store(1, in: onA)
                #expect(!FileManager.default.fileExists(atPath: root + "/" + stored.path))
                let torn = SampleImage.copy(rows: 20, sop: "1.2.826.0.1.3680043.10.1.91", study: "1.2.826.0.1.3680043.10.1.92",
                                            series: "1.2.826.0.1.3680043.10.1.93")
                let tornAttributes = InstanceAttributes(torn.dataSet)
                let tornPath = try onA.relativePath(for: tornAttributes)
                try b.recordNow(InstanceRecord(attributes: tornAttributes, filePath: tornPath, fileSize: 1000,
                                               fileHash: JournalChecksum.crc32c(7).indexHash(stream: 12345),
                                               transferSyntaxUID: "1.2.840.10008.1.2.1", receivedAt: Timestamp.now(), callingAETitle: "T"))
                let report = try IndexMaintenance.reconcile(root: root, index: b)
                #expect(report.journaled == [stored.path])
                #expect(report.inFlight == [tornPath])
                #expect(report.removed.isEmpty)
                #expect(try b.filePathNow(ofInstance: stored.sop) == stored.path)
                #expect(try b.filePathNow(ofInstance: tornAttributes.sopInstanceUID) == tornPath)
                // a puts it in place; its row takes the file's BLAKE3.
                try #require(onA.materializer).drain()
                let row = try #require(try a.allInstances().first { $0.sopInstanceUID == stored.sop })
                #expect(row.fileHash == BLAKE3.hex(BLAKE3.hash(stored.bytes)))
            }
        }
    }

    /// Two nodes on one new database and one folder, each holding its bursts for a minute.
    static func withTwoNodesHolding(duplicatePolicy: DuplicatePolicy = .reject,
                                    _ body: (String, PostgresIndex, PostgresIndex, FileArchive, FileArchive) throws -> Void) throws {
        let url = try PostgresTestServer.makeDatabase()
        let root = try ExternalTool.temporaryDirectory("arca-place").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        defer { a.close(); b.close() }
        #expect(a.placement.waitUntilListening(timeout: 30) && b.placement.waitUntilListening(timeout: 30))
        let configuration = FileArchive.Configuration(root: root, duplicatePolicy: duplicatePolicy)
        let onA = try FileArchive(configuration: configuration, index: a)
        let onB = try FileArchive(configuration: configuration, index: b)
        defer { onA.close(); onB.close() }
        let held = Materializer.Hold(quietPeriod: 60, maxHold: 60, limit: 1 << 30)
        try #require(onA.materializer).setHold(held)
        try #require(onB.materializer).setHold(held)
        try body(root, a, b, onA, onB)
    }

    static func readAHeldInstance(_ root: String, _ a: PostgresIndex, _ b: PostgresIndex, _ onA: FileArchive,
                                  _ onB: FileArchive) throws {
        let materializerA = try #require(onA.materializer), materializerB = try #require(onB.materializer)
        let stored = try MaterializerHoldTests.Fixture.store(1, in: onA)
        // Held on a: its row is there for every node, its file is not.
        #expect(try b.filePathNow(ofInstance: stored.sop) == stored.path)
        #expect(!FileManager.default.fileExists(atPath: root + "/" + stored.path))
        let row = try #require(try b.allInstances().first { $0.sopInstanceUID == stored.sop })
        #expect(JournalChecksum.isPlaceholder(row.fileHash))
        let source = ArchiveInstanceSource(root: root, materializer: materializerB)
        let path = try source.filePath(of: ArchivedInstance(sopInstanceUID: stored.sop, sopClassUID: "", transferSyntaxUID: "",
                                                            location: row.filePath, size: UInt64(row.fileSize), hash: row.fileHash))
        #expect(FileManager.default.contents(atPath: path) == Data(stored.bytes))
        #expect(materializerA.materialized == 1)
        #expect(materializerB.materialized == 0)
    }

    /// The materializer's BLAKE3 replaces a journaled row's placeholder only where the row still holds it, and the
    /// rows waiting for `makeRowsDurable` take it too: a row the server lost is recorded again with the BLAKE3.
    @Test func settledHashesReplaceOnlyTheirPlaceholders() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a")
        defer { a.close() }
        func record(_ sop: String, hash: String) -> InstanceRecord {
            var r = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.7", series: "1.7.0", sop: sop))
            r.fileHash = hash
            return r
        }
        func hashes() throws -> String {
            try PostgresTestServer.psql(url, "SELECT string_agg(sop_uid || '=' || file_hash, ',' ORDER BY sop_uid) FROM instances")
        }
        try a.recordJournaled(record("1.7.1", hash: "journal-1-a"), endingClaim: false)
        try a.recordJournaled(record("1.7.2", hash: "journal-2-b"), endingClaim: false)
        try a.recordJournaled(record("1.7.3", hash: "journal-3-c"), endingClaim: false)
        func path(_ sop: String) -> String { record(sop, hash: "").filePath }
        try a.settleHashes([
            SettledHash(sopInstanceUID: "1.7.1", filePath: path("1.7.1"), placeholder: "journal-1-a", hash: "b3one"),
            // Replaced since (another placeholder now): left as it is.
            SettledHash(sopInstanceUID: "1.7.2", filePath: path("1.7.2"), placeholder: "journal-9-z", hash: "b3stale"),
            SettledHash(sopInstanceUID: "1.7.3", filePath: path("1.7.3"), placeholder: "journal-3-c", hash: "b3three"),
        ])
        #expect(try hashes() == "1.7.1=b3one,1.7.2=journal-2-b,1.7.3=b3three\n")
        // 1.7.3 lost in a crash: recorded again, with its BLAKE3.
        _ = try PostgresTestServer.psql(url, "SELECT arca_remove('1.7.3')")
        try a.makeRowsDurable()
        #expect(try hashes() == "1.7.1=b3one,1.7.2=journal-2-b,1.7.3=b3three\n")
    }

    /// Only a batch whose every row is journaled skips the flush, and only for its own transaction.
    @Test func onlyAnAllJournaledBatchTurnsItsFlushOff() {
        let record = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.9", series: "1.9.0", sop: "1.9.5"))
        let journaled = RowToRecord(record: record, endsClaim: true, journaled: true)
        let plain = RowToRecord(record: record, endsClaim: true, journaled: false)
        let off = "set_config('synchronous_commit', 'off', true)"
        #expect(RecordBatch.query([journaled, journaled][...], node: "n").sql.contains(off))
        #expect(!RecordBatch.query([journaled, plain][...], node: "n").sql.contains(off))
        #expect(!RecordBatch.query([plain][...], node: "n").sql.contains(off))
    }

    /// A commit's batch stuck behind another writer's lock: the node stops waiting after `commitTimeout` and
    /// refuses the C-STORE, so the batch must not commit once the lock is gone. The server gives it up first
    /// (`statement_timeout` on the committing connections).
    @Test func aBatchTheNodeGaveUpOnCannotCommitAfterwards() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try PostgresIndex(url: url, node: "slow", commitTimeout: 2)
        defer { index.close() }
        let first = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.3", series: "1.3.1", sop: "1.3.1.1"))
        try index.recordBatch([first])
        // A commit in another series opens the committer's connection (the batch below is sent at once, well
        // within its 0.4 s).
        try index.recordJournaled(SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.3", series: "1.3.2", sop: "1.3.2.1")),
                                  endingClaim: false)
        // Another writer holds the series row (every new instance updates its count) until the gate opens.
        let gate = try await Gate(url, key: 4102)
        let holder = try BackgroundSQL(url, """
            BEGIN; SELECT 1 FROM series WHERE series_uid = '1.3.1' FOR UPDATE; \(gate.wait) COMMIT;
            """)
        #expect(try await gate.waited())
        let second = SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P", study: "1.3", series: "1.3.1", sop: "1.3.1.2"))
        let refused = #expect(throws: (any Error).self) { try index.recordJournaled(second, endingClaim: false) }
        // The server's own timeout (query_canceled), before the node's: the batch's rows were not tried one by one.
        #expect((refused as? PSQLError)?.serverInfo?[.sqlState] == "57014", "\(String(describing: refused))")
        // Nothing of it still runs while the row is held (whatever did would commit once the gate opens).
        #expect(try await Self.eventually {
            try PostgresTestServer.psql(url, """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'WITH ended AS%'
                  AND state <> 'idle'
                """) == "0\n"
        })
        try await gate.open()
        #expect(await holder.status() == 0)
        #expect(try PostgresTestServer.psql(url, "SELECT count(*) FROM instances WHERE sop_uid = '1.3.1.2'") == "0\n")
        #expect(try PostgresTestServer.psql(url, "SELECT number_of_instances FROM series WHERE series_uid = '1.3.1'") == "1\n")
        // The index commits as before once the other writer is done.
        try index.recordJournaled(second, endingClaim: false)
        #expect(try PostgresTestServer.psql(url, "SELECT number_of_instances FROM series WHERE series_uid = '1.3.1'") == "2\n")
    }

    /// The claim's lookup relies on READ COMMITTED's fresh snapshot per statement; under a stricter isolation
    /// level it answers "claimed, look it up" instead of vouching for the absence of a row.
    @Test func underRepeatableReadTheClaimLeavesTheLookupToTheCommit() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let database = String(url[url.index(after: try #require(url.lastIndex(of: "/")))...])
        _ = try PostgresTestServer.psql(url, "ALTER DATABASE \(database) SET default_transaction_isolation = 'repeatable read'")
        let index = try Self.node(url, "rr")
        #expect(try await index.claim(instance: "1.4.1") == .claimed)
        #expect(try await Self.node(url, "other").claim(instance: "1.4.1") == .heldElsewhere)
    }

    /// A group-commit batch is one statement of at most 1,000 rows (34 parameters each, 65,535 a statement): a
    /// longer list, as a rebuild writes, is several in one transaction.
    @Test func aListLongerThanOneStatementIsWrittenWhole() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let index = try Self.node(url, "batch")
        let records = (0..<2_345).map { i in
            SQLiteIndexTests.record(SQLiteIndexTests.attributes(patient: "P\(i % 7)", study: "1.7.\(i % 11)", series: "1.7.\(i % 11).\(i % 3)", sop: "1.7.9.\(i)"))
        }
        try index.recordBatch(records)
        #expect(try PostgresTestServer.psql(url, "SELECT count(*), count(DISTINCT series_pk) FROM instances") == "2345|33\n")
        #expect(try PostgresTestServer.psql(url, "SELECT sum(number_of_instances) FROM series") == "2345\n")
    }

    @Test func oneNodeIsElectedAndTheRolePassesOnWhenItEnds() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        #expect(try a.tryLead("edckv-merger"))
        #expect(try a.tryLead("edckv-merger"))
        #expect(try !b.tryLead("edckv-merger"))
        a.close()
        #expect(try await Self.eventually { try b.tryLead("edckv-merger") })
    }

    /// A node whose session connection is cut (the server ended it) takes its lock back on a new one, so other
    /// nodes see it alive again; a role it led went with the old connection: another node may take it, and the
    /// first then answers false until the role is free again.
    @Test func aNodeWhoseSessionIsCutTakesItsLockBackAndAsksForItsRolesAgain() async throws {
        let url = try PostgresTestServer.makeDatabase()
        let a = try Self.node(url, "a"), b = try Self.node(url, "b")
        func gone(_ node: String) throws -> String { try PostgresTestServer.psql(url, "SELECT arca_node_gone('\(node)')") }
        #expect(try a.tryLead("edckv-merger"))
        #expect(try !b.tryLead("edckv-merger"))
        #expect(try gone("a") == "f\n")
        // The backend holding node a's lock in this database (a bigint advisory key: classid the high half, objid
        // the low; other tests' databases have nodes named "a" too).
        let ended = try PostgresTestServer.psql(url, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('arca-node:a', 0)
            """)
        #expect(ended == "1\n")
        // The role went with the cut connection: b takes it, and a does not believe it still leads.
        #expect(try await Self.eventually { try b.tryLead("edckv-merger") })
        #expect(try !a.tryLead("edckv-merger"))
        // The session comes back with the node's lock, and serves claims as before.
        #expect(try await Self.eventually { try gone("a") == "f\n" })
        #expect(try await a.claim(instance: "1.5.1") == .claimedNew)
        b.close()
        #expect(try await Self.eventually { try a.tryLead("edckv-merger") })
    }

    @Test func migrateCopiesASQLiteIndexRowForRowAndNewRowsFollow() async throws {
        let dir = try ExternalTool.temporaryDirectory("arca-migrate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try SQLiteIndex(archive: dir.path)
        var records: [InstanceRecord] = []
        for i in 0..<30 {
            records.append(SQLiteIndexTests.record(SQLiteIndexTests.attributes(
                patient: "P\(i % 3)", study: "1.9.\(i % 5)", series: "1.9.\(i % 5).\(i % 2)", sop: "1.9.9.\(i)", modality: ["CT", "MR"][i % 2])))
        }
        try source.recordBatch(records)
        let url = try PostgresTestServer.makeDatabase()
        let target = try Self.node(url, "migrate")
        let report = try IndexMigration.copy(from: source, to: target)
        #expect(report.rows.map(\.count) == [3, 5, 10, 30])
        #expect(try target.canonicalDump() == source.canonicalDump())
        // The copy's keys are behind the sequences: new rows get new keys, in existing and new levels.
        let more = [SQLiteIndexTests.attributes(patient: "P0", study: "1.9.0", series: "1.9.0.0", sop: "1.9.9.100"),
                    SQLiteIndexTests.attributes(patient: "P9", study: "1.9.77", series: "1.9.77.1", sop: "1.9.9.101")]
        for a in more {
            try await target.record(SQLiteIndexTests.record(a))
            try await source.record(SQLiteIndexTests.record(a))
        }
        #expect(try target.canonicalDump() == source.canonicalDump())
        // A second migration into a filled database is refused and changes nothing.
        #expect(throws: (any Error).self) { _ = try IndexMigration.copy(from: source, to: target) }
        #expect(try target.allInstances().count == 32)
    }
}
