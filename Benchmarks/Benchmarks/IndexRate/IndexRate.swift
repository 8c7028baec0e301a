import Archive
import Benchmark
import DICOM
import Foundation
import GRDB

/// Indexing rate through the real `record` path (8 concurrent writers, group commit, synchronous FULL) into an
/// empty index and into one already holding 1,000,000 instances. Each run records 1,000 new instances.
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

/// A fresh index; with `prefill`, that many synthetic instances (500 per series and study) inserted in bulk.
func makeIndex(prefill: Int) throws -> SQLiteIndex {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("arca-index-bench-\(prefill)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("index.db").path
    let index = try SQLiteIndex(path: path)
    guard prefill > 0 else { return index }
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        try db.execute(sql: "INSERT INTO patients (patient_id, name) WITH RECURSIVE c(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM c WHERE value < ?) SELECT 'PRE' || value, 'Pre^Filled' FROM c",
                       arguments: [prefill / 2000])
    }
    let studies = prefill / 500
    try queue.write { db in
        for s in 0..<studies {
            try db.execute(sql: "INSERT INTO studies (study_uid, patient_pk, number_of_series, number_of_instances) VALUES (?, ?, 1, 500)",
                           arguments: ["1.2.9.\(s)", s / 4 + 1])
            try db.execute(sql: "INSERT INTO series (series_uid, study_pk, modality, number_of_instances) VALUES (?, ?, 'CT', 500)",
                           arguments: ["1.2.9.\(s).1", db.lastInsertedRowID])
            let series = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO instances (sop_uid, series_pk, file_path, file_size, file_hash, received_at)
                SELECT '1.2.9.\(s).1.' || value, ?, '1.2.9.\(s)/1.2.9.\(s).1/' || value || '.dcm', 525000, 'x', '2026'
                FROM (WITH RECURSIVE c(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM c WHERE value < 500) SELECT value FROM c)
                """, arguments: [series])
        }
    }
    return index
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock], maxDuration: .seconds(10), maxIterations: 10)
    for prefill in [0, 1_000_000] {
        let index: SQLiteIndex
        do { index = try makeIndex(prefill: prefill) } catch {
            print("index setup failed: \(error)")
            return
        }
        let runs = NIOLockedCounter()
        Benchmark("Record 1000 instances, 8 writers, \(prefill) already indexed") { _ in
            let run = runs.next()
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    group.addTask {
                        for i in stride(from: w, to: 1000, by: 8) {
                            try? await index.record(record(attributes(i, "\(prefill).\(run)")))
                        }
                    }
                }
            }
        }
    }
}

final class NIOLockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
