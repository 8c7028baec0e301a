import Archive
import DICOM
import DICOMNetwork
import Foundation
import GRDB

/// The query/retrieve benchmark's two halves (scripts/bench-qr runs them):
///   qrbench generate ARCHIVE STUDIES INSTANCES_PER_STUDY   an index of that size, filled with bulk SQL in seconds
///                                                         (names, dates, modalities varied; no files: the
///                                                         queries timed read only indexed attributes)
///   qrbench find HOST PORT AEC REPEAT LEVEL KEY=VALUE...  the same C-FIND REPEAT times on one association;
///                                                         prints matches and the p50/p90/max round trip in ms
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: qrbench generate ARCHIVE STUDIES PER_STUDY | qrbench find HOST PORT AEC REPEAT LEVEL KEY=VALUE...")
    exit(2)
}

let surnames = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
                "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN",
                "LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON",
                "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES",
                "GREEN", "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS",
                "MÜLLER", "SCHMIDT", "DUBOIS", "LEFÈVRE", "ROSSI", "RUSSO", "SILVA", "SANTOS", "KOWALSKI", "NOVAK"]
let given = ["JAMES", "MARY", "JOHN", "PATRICIA", "ROBERT", "JENNIFER", "MICHAEL", "LINDA", "WILLIAM", "ELIZABETH",
             "DAVID", "BARBARA", "RICHARD", "SUSAN", "JOSEPH", "JESSICA", "THOMAS", "SARAH", "JOSÉ", "ANNA"]
let modalities = ["CT", "MR", "CR", "US", "DX", "MG", "NM", "PT", "XA", "OT"]

func generate(_ root: String, studies: Int, perStudy: Int) throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let path = root + "/" + SQLiteIndex.fileName
    _ = try SQLiteIndex(path: path)
    var config = Configuration()
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
    let queue = try DatabaseQueue(path: path, configuration: config)
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next(_ n: Int) -> Int {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
        return Int(seed % UInt64(n))
    }
    let patients = max(1, studies / 2)
    let start = Date()
    try queue.write { db in
        let insert = try db.makeStatement(sql: "INSERT INTO patients (patient_id, name, name_folded, birth_date, sex, number_of_studies) VALUES (?, ?, ?, ?, ?, 0)")
        for p in 0..<patients {
            let name = surnames[next(surnames.count)] + "^" + given[next(given.count)]
            try insert.execute(arguments: ["PID\(p)", name, TextFolding.fold(name), String(format: "19%02d%02d%02d", 20 + next(80), 1 + next(12), 1 + next(28)),
                                           next(2) == 0 ? "M" : "F"])
        }
    }
    try queue.write { db in
        let study = try db.makeStatement(sql: """
            INSERT INTO studies (study_uid, patient_pk, study_date, study_time, accession_number, description, study_id, modalities_in_study,
                sop_classes_in_study, number_of_series, number_of_instances, referring_physician_folded)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, '1.2.840.10008.5.1.4.1.1.2', 1, ?, '')
            """)
        let series = try db.makeStatement(sql: """
            INSERT INTO series (series_uid, study_pk, modality, series_number, description, number_of_instances, series_date, series_time)
            VALUES (?, ?, ?, 1, 'Series', ?, ?, ?)
            """)
        let instance = try db.makeStatement(sql: """
            INSERT INTO instances (sop_uid, series_pk, sop_class_uid, instance_number, transfer_syntax, file_path, file_size, file_hash,
                received_at, calling_ae, rows, columns, bits_allocated, number_of_frames)
            VALUES (?, ?, '1.2.840.10008.5.1.4.1.1.2', ?, '1.2.840.10008.1.2.1', ?, 525000, ?, '2026-12-02T00:00:00Z', 'BENCH', 512, 512, 16, NULL)
            """)
        let hash = String(repeating: "ab", count: 32)
        for s in 0..<studies {
            let uid = "1.2.826.0.1.3680043.10.1432.8.\(s)"
            let date = String(format: "%04d%02d%02d", 2016 + next(10), 1 + next(12), 1 + next(28))
            let time = String(format: "%02d%02d%02d", next(24), next(60), next(60))
            let modality = modalities[next(modalities.count)]
            let patient = 1 + next(patients)
            try study.execute(arguments: [uid, patient, date, time, "ACC\(s)", "Study \(s % 97)", "\(s)", modality, perStudy])
            let studyPK = db.lastInsertedRowID
            try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE pk = ?", arguments: [patient])
            try series.execute(arguments: [uid + ".1", studyPK, modality, perStudy, date, time])
            let seriesPK = db.lastInsertedRowID
            for i in 0..<perStudy {
                try instance.execute(arguments: [uid + ".1.\(i + 1)", seriesPK, i + 1, "\(uid)/\(uid).1/\(i + 1).dcm", hash])
            }
        }
    }
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "ANALYZE")
        try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
    print(String(format: "generated %d studies, %d instances in %.1f s", studies, studies * perStudy, Date().timeIntervalSince(start)))
}

func find(host: String, port: Int, aec: String, repeat count: Int, level: String, keys: [String]) async throws {
    let sop = "1.2.840.10008.5.1.4.1.2.2.1"
    var identifier = DataSet(characterSet: SpecificCharacterSet("ISO_IR 192"))
    identifier.setString("ISO_IR 192", for: .specificCharacterSet, vr: .CS)
    identifier.setString(level, for: .queryRetrieveLevel, vr: .CS)
    for key in keys {
        let parts = key.split(separator: "=", maxSplits: 1).map(String.init)
        guard let entry = DataDictionary.entry(forKeyword: parts[0]) else { print("unknown key \(parts[0])"); exit(2) }
        identifier.setString(parts.count > 1 ? parts[1] : "", for: entry.tag)
    }
    for tag in [Tag.studyInstanceUID, .patientName, .studyDate] where identifier[tag] == nil { identifier.setString("", for: tag) }
    let request = AssociateRequest(calledAETitle: aec, callingAETitle: "QRBENCH",
                                   presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [sop]), maxPDULength: 131_072)
    var times: [Double] = []
    var matches = 0
    // On the channel's event loop (the loop does nothing else here, and the body never blocks).
    try await ClientAssociation.withAssociation(host: host, port: port, request: request, onEventLoop: true) { association in
        for _ in 0..<count {
            var n = 0
            let t0 = ContinuousClock.now
            let final = try await association.find(identifier, sopClassUID: sop) { _ in n += 1; return true }
            let t = ContinuousClock.now - t0
            times.append(Double(t.components.seconds) * 1000 + Double(t.components.attoseconds) / 1e15)
            matches = n
            if final.status?.isSuccess != true { print("status \(final.status.map { "\($0)" } ?? "?") \(final.errorComment ?? "")") }
        }
    }
    times.sort()
    func q(_ p: Double) -> Double { times[min(times.count - 1, Int(Double(times.count) * p))] }
    print(String(format: "matches %d  p50 %.2f ms  p90 %.2f ms  max %.2f ms  (%d runs)", matches, q(0.5), q(0.9), times.last ?? 0, times.count))
}

switch arguments[1] {
case "generate" where arguments.count == 5:
    guard let studies = Int(arguments[3]), let per = Int(arguments[4]) else { exit(2) }
    try generate(arguments[2], studies: studies, perStudy: per)
case "find" where arguments.count >= 7:
    guard let port = Int(arguments[3]), let count = Int(arguments[5]) else { exit(2) }
    try await find(host: arguments[2], port: port, aec: arguments[4], repeat: count, level: arguments[6], keys: Array(arguments.dropFirst(7)))
default:
    print("usage: qrbench generate ARCHIVE STUDIES PER_STUDY | qrbench find HOST PORT AEC REPEAT LEVEL KEY=VALUE...")
    exit(2)
}
