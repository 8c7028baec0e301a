@testable import Archive
import DICOM
import Foundation
import Testing
import TestSupport

/// The writer connection's `LevelCache` skips the patient, study and series statements of an instance that
/// repeats the last values written; the rows must be exactly those the same records give without it.
@Suite struct LevelCacheTests {
    typealias Fixture = SQLiteIndexTests

    /// A deterministic stream of records and removals over few patients, studies and series, with values that
    /// change now and then (empty ones too), studies and series that move, instances replaced into other series
    /// and classes: what the cache must never get wrong.
    static func operations(count: Int) -> [(record: InstanceRecord?, remove: String?)] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var result: [(record: InstanceRecord?, remove: String?)] = []
        for step in 0..<count {
            // Mostly new instances; one in eight re-sends one of a few (a replacement, maybe into another series).
            let sop = next(8) == 0 ? "1.9.\(next(40))" : "1.9.n\(step)"
            if next(20) == 0 {
                result.append((nil, next(2) == 0 ? "1.9.\(next(40))" : "1.9.n\(max(0, step - 1 - next(30)))"))
                continue
            }
            // Runs of the same series, as a modality sends them, broken by the odd change.
            let series = next(5) == 0 ? next(6) : result.count / 25 % 6
            var a = Fixture.attributes(patient: "P\(series % 3 == 2 && next(10) == 0 ? 9 : series % 3)", study: "1.9.s\(series / 2 + (next(30) == 0 ? 1 : 0))",
                                       series: "1.9.r\(series)", sop: sop, modality: ["CT", "CT", "CT", "MR", ""][next(5)])
            a.studyDescription = ["", "HEAD", "HEAD", "CHEST"][next(4)]
            a.seriesDescription = next(8) == 0 ? "" : "AX \(series)"
            a.patientName = next(12) == 0 ? "" : "Doe^Jane"
            a.patientBirthDate = ["19700101", "", "19700101"][next(3)]
            a.seriesNumber = next(6) == 0 ? nil : series
            if next(15) == 0 { a.sopClassUID = "1.2.840.10008.5.1.4.1.1.4" }
            // Every other key the cache compares changes now and then too (an issuer makes another patient).
            func now(_ usual: String, _ others: [String]) -> String { next(10) == 0 ? others[next(others.count)] : usual }
            a.issuerOfPatientID = now("", ["HOSP1", "HOSP2"])
            a.patientSex = now("F", ["", "O"])
            a.studyDate = now("2026120\(1 + series / 2)", ["", "20261130"])
            a.studyTime = now("083000", ["", "0830"])
            a.accessionNumber = now("A\(series / 2)", ["", "AX"])
            a.referringPhysicianName = now("Smith^John", ["", "SMITH^JOHN"])
            a.studyID = now("S\(series / 2)", [""])
            a.seriesDate = now("2026120\(1 + series / 2)", [""])
            a.seriesTime = now("0900", ["", "090100"])
            a.bodyPartExamined = now("HEAD", ["", "CHEST"])
            result.append((Fixture.record(a), nil))
        }
        return result
    }

    @Test func cachedRecordsGiveTheRowsOfUncachedOnes() throws {
        let (cached, cachedDir) = try Fixture.index()
        let (plain, plainDir) = try Fixture.index()
        defer {
            try? FileManager.default.removeItem(at: cachedDir)
            try? FileManager.default.removeItem(at: plainDir)
        }
        for (step, operation) in Self.operations(count: 600).enumerated() {
            if let record = operation.record {
                try cached.recordNow(record)
                try plain.recordBatch([record])  // a transaction of its own, without the cache
            } else if let sop = operation.remove {
                try cached.removeNow(instance: sop)
                try plain.removeNow(instance: sop)
            }
            if step % 50 == 49 { #expect(try cached.canonicalDump() == (try plain.canonicalDump()), "after step \(step)") }
        }
        #expect(try cached.canonicalDump() == (try plain.canonicalDump()))
        // The cache did its work: many instances repeated their patient.
        #expect(cached.levels.hits > 50, "hits \(cached.levels.hits), misses \(cached.levels.misses)")
    }

    /// Another process removes the rows the cache points at (here a second connection on the same file): the
    /// next record must create them again, not point an instance at a deleted series.
    @Test func anotherConnectionsWritesDropTheCache() throws {
        let (index, dir) = try Fixture.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = try SQLiteIndex(path: index.path)
        try index.recordNow(Fixture.record(Fixture.attributes(sop: "1.7.1")))
        try index.recordNow(Fixture.record(Fixture.attributes(sop: "1.7.2")))
        #expect(index.levels.hits == 1)
        try other.removeNow(instance: "1.7.1")
        try other.removeNow(instance: "1.7.2")
        #expect(try index.canonicalDump().isEmpty)
        try index.recordNow(Fixture.record(Fixture.attributes(sop: "1.7.3")))
        #expect(index.levels.hits == 1, "the stale entries were used")
        #expect(try index.canonicalDump() == (try SQLiteIndexTests.freshNow([Fixture.record(Fixture.attributes(sop: "1.7.3"))])))
    }

    /// The same connection's own writes outside `record` (a removal) drop it too.
    @Test func theConnectionsOwnRemovalDropsTheCache() throws {
        let (index, dir) = try Fixture.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        try index.recordNow(Fixture.record(Fixture.attributes(sop: "1.8.1")))
        try index.removeNow(instance: "1.8.1")
        try index.recordNow(Fixture.record(Fixture.attributes(sop: "1.8.2")))
        #expect(index.levels.hits == 0)
        #expect(try index.canonicalDump() == (try SQLiteIndexTests.freshNow([Fixture.record(Fixture.attributes(sop: "1.8.2"))])))
    }
}

extension SQLiteIndexTests {
    /// The rows a new SQLite index holds after `records`, each in a transaction of its own.
    static func freshNow(_ records: [InstanceRecord]) throws -> [String] {
        let (index, dir) = try Self.index()
        defer { try? FileManager.default.removeItem(at: dir) }
        for r in records { try index.recordBatch([r]) }
        return try index.canonicalDump()
    }
}
