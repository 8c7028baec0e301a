import Archive
import Benchmark
import DICOM
import Foundation
import GRDB

/// Indexing rate through the real `record` path (group commit) into an empty index and into one already holding
/// 1,000,000 instances: each run records 10,000 new instances from 8 concurrent writers (and from 1, which is
/// what one association gives), with `synchronous` FULL (the default) and NORMAL. Records/s = 10,000 / time.
let recordsPerRun = 10_000

func attributes(_ n: Int, _ run: String) -> InstanceAttributes {
    var ds = DataSet()
    let study = "1.2.826.0.1.3680043.10.1432.7.\(run).\(n / 500)"
    ds.setString("PAT\(n / 2000)", for: .patientID, vr: .LO)
    ds.setString("Bench^Patient", for: .patientName, vr: .PN)
    ds.setString(study, for: .studyInstanceUID, vr: .UI)
    ds.setString(study + ".1", for: .seriesInstanceUID, vr: .UI)
    ds.setString(study + ".1.\(n)", for: .sopInstanceUID, vr: .UI)
    ds.setString("CT", for: .modality, vr: .CS)
    ds.setString("1.2.840.10008.5.1.4.1.1.2", for: .sopClassUID, vr: .UI)
    return InstanceAttributes(ds)
}

func record(_ a: InstanceAttributes) -> InstanceRecord {
    InstanceRecord(attributes: a, filePath: "\(a.studyInstanceUID)/\(a.seriesInstanceUID)/\(a.sopInstanceUID).dcm",
                   fileSize: 525_000, fileHash: String(repeating: "ab", count: 32), transferSyntaxUID: "1.2.840.10008.1.2.1",
                   receivedAt: "2026-11-22T10:00:00.000Z", callingAETitle: "STORESCU")
}

/// A fresh index folder; with `prefill`, that many synthetic instances (500 per series and study, 4 studies per
/// patient) inserted in bulk with raw SQL.
func makeIndexFile(prefill: Int) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("arca-index-bench-\(prefill)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("index.db").path
    _ = try SQLiteIndex(path: path)
    guard prefill > 0 else { return path }
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        try db.execute(sql: "INSERT INTO patients (patient_id, name, number_of_studies) WITH RECURSIVE c(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM c WHERE value < ?) SELECT 'PRE' || value, 'Pre^Filled', 4 FROM c",
                       arguments: [prefill / 2000 - 1])
    }
    let studies = prefill / 500
    try queue.write { db in
        for s in 0..<studies {
            try db.execute(sql: "INSERT INTO studies (study_uid, patient_pk, modalities_in_study, number_of_series, number_of_instances) VALUES (?, ?, 'CT', 1, 500)",
                           arguments: ["1.2.9.\(s)", s / 4 + 1])
            try db.execute(sql: "INSERT INTO series (series_uid, study_pk, modality, number_of_instances) VALUES (?, ?, 'CT', 500)",
                           arguments: ["1.2.9.\(s).1", db.lastInsertedRowID])
            let series = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO instances (sop_uid, series_pk, sop_class_uid, file_path, file_size, file_hash, received_at, calling_ae)
                SELECT '1.2.9.\(s).1.' || value, ?, '1.2.840.10008.5.1.4.1.1.2', '1.2.9.\(s)/1.2.9.\(s).1/' || value || '.dcm', 525000,
                       '\(String(repeating: "cd", count: 32))', '2026-11-22T09:00:00.000Z', 'PREFILL'
                FROM (WITH RECURSIVE c(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM c WHERE value < 500) SELECT value FROM c)
                """, arguments: [series])
        }
    }
    try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    try queue.close()
    return path
}

/// Records `recordsPerRun` instances of run `run` from `writers` concurrent tasks.
func recordRun(_ index: SQLiteIndex, writers: Int, run: String) async {
    await withTaskGroup(of: Void.self) { group in
        for w in 0..<writers {
            group.addTask {
                for i in stride(from: w, to: recordsPerRun, by: writers) {
                    do { try await index.record(record(attributes(i, run))) } catch { fatalError("record failed: \(error)") }
                }
            }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock], maxDuration: .seconds(30), maxIterations: 5)
    let prefilled: String
    do { prefilled = try makeIndexFile(prefill: 1_000_000) } catch {
        print("index setup failed: \(error)")
        return
    }
    let runs = NIOLockedCounter()
    for synchronous in [SQLiteIndex.Synchronous.full, .normal] {
        for writers in [8, 1] {
            // A fresh empty index for every iteration (warm-up included), made outside the measurement.
            let empties = (0..<8).compactMap { _ in try? SQLiteIndex(path: makeIndexFile(prefill: 0), synchronous: synchronous) }
            let used = NIOLockedCounter()
            Benchmark("Record 10000 instances, \(writers) writer(s), synchronous \(synchronous.rawValue), empty index") { _ in
                let index = empties[(used.next() - 1) % empties.count]
                await recordRun(index, writers: writers, run: "0.\(runs.next())")
            }
            // The same prefilled index for every iteration: it grows by 10,000 each (1.0 → ~1.1 million).
            guard let full = try? SQLiteIndex(path: prefilled, synchronous: synchronous) else { return }
            Benchmark("Record 10000 instances, \(writers) writer(s), synchronous \(synchronous.rawValue), 1000000 indexed") { _ in
                await recordRun(full, writers: writers, run: "1.\(runs.next())")
            }
        }
    }
}

final class NIOLockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
