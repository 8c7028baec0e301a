import GRDB

/// The index's writes, inside a caller's transaction. Counters are kept by increments so a write costs the
/// same with a million rows as with none; statements are cached per connection.
enum IndexStatements {
    /// Inserts the instance or replaces the row with its SOP Instance UID; patients, studies and series are
    /// created or updated (non-empty values win), counts follow.
    static func record(_ r: InstanceRecord, in db: Database) throws {
        let a = r.attributes
        let patient = try upsertPatient(a, db)
        let (study, newStudy) = try upsertStudy(a, patient: patient, db)
        if newStudy { try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE pk = ?", arguments: [patient]) }
        let (series, newSeries, modalityChanged) = try upsertSeries(a, study: study, db)
        if newSeries { try db.execute(sql: "UPDATE studies SET number_of_series = number_of_series + 1 WHERE pk = ?", arguments: [study]) }

        let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, series_pk FROM instances WHERE sop_uid = ?"),
                                        arguments: [a.sopInstanceUID])
        let values: StatementArguments = [
            series, a.sopClassUID, a.instanceNumber, r.transferSyntaxUID, r.filePath, Int64(clamping: r.fileSize),
            r.fileHash, r.receivedAt, r.callingAETitle, a.sopInstanceUID,
        ]
        if let existing {
            let oldSeries: Int64 = existing["series_pk"]
            try db.cachedStatement(sql: """
                UPDATE instances SET series_pk = ?, sop_class_uid = ?, instance_number = ?, transfer_syntax = ?, file_path = ?,
                    file_size = ?, file_hash = ?, received_at = ?, calling_ae = ? WHERE sop_uid = ?
                """).execute(arguments: values)
            if oldSeries != series {
                try adjust(series: oldSeries, by: -1, db)
                try adjust(series: series, by: 1, db)
            }
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO instances (series_pk, sop_class_uid, instance_number, transfer_syntax, file_path, file_size,
                    file_hash, received_at, calling_ae, sop_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: values)
            try adjust(series: series, by: 1, db)
        }
        if newSeries || modalityChanged { try refreshModalities(study: study, db) }
    }

    /// Removes an instance's row; its series, study and patient lose it from their counts (and go when empty).
    static func remove(_ sopInstanceUID: String, in db: Database) throws {
        guard let seriesPK = try Int64.fetchOne(db, sql: "SELECT series_pk FROM instances WHERE sop_uid = ?", arguments: [sopInstanceUID])
        else { return }
        try db.execute(sql: "DELETE FROM instances WHERE sop_uid = ?", arguments: [sopInstanceUID])
        try adjust(series: seriesPK, by: -1, db)
        guard let (studyPK, left) = try seriesCount(seriesPK, db), left == 0 else { return }
        try db.execute(sql: "DELETE FROM series WHERE pk = ?", arguments: [seriesPK])
        try db.execute(sql: "UPDATE studies SET number_of_series = number_of_series - 1 WHERE pk = ?", arguments: [studyPK])
        try refreshModalities(study: studyPK, db)
        guard let row = try Row.fetchOne(db, sql: "SELECT patient_pk, number_of_series FROM studies WHERE pk = ?", arguments: [studyPK]),
              (row["number_of_series"] as Int64) == 0 else { return }
        let patientPK: Int64 = row["patient_pk"]
        try db.execute(sql: "DELETE FROM studies WHERE pk = ?", arguments: [studyPK])
        try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies - 1 WHERE pk = ?", arguments: [patientPK])
        try db.execute(sql: "DELETE FROM patients WHERE pk = ? AND number_of_studies <= 0", arguments: [patientPK])
    }

    // MARK: - Levels

    private static func upsertPatient(_ a: InstanceAttributes, _ db: Database) throws -> Int64 {
        if let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM patients WHERE patient_id = ? AND issuer_of_patient_id = ?"),
                                       arguments: [a.patientID, a.issuerOfPatientID]) {
            try db.cachedStatement(sql: """
                UPDATE patients SET name = COALESCE(NULLIF(?, ''), name), birth_date = COALESCE(NULLIF(?, ''), birth_date),
                    sex = COALESCE(NULLIF(?, ''), sex) WHERE pk = ?
                """).execute(arguments: [a.patientName, a.patientBirthDate, a.patientSex, pk])
            return pk
        }
        try db.cachedStatement(sql: "INSERT INTO patients (patient_id, issuer_of_patient_id, name, birth_date, sex) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [a.patientID, a.issuerOfPatientID, a.patientName, a.patientBirthDate, a.patientSex])
        return db.lastInsertedRowID
    }

    private static func upsertStudy(_ a: InstanceAttributes, patient: Int64, _ db: Database) throws -> (Int64, Bool) {
        let fields: StatementArguments = [patient, a.studyDate, a.studyTime, a.accessionNumber, a.studyDescription,
                                          a.referringPhysicianName, a.studyID]
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, patient_pk FROM studies WHERE study_uid = ?"),
                                      arguments: [a.studyInstanceUID]) {
            let pk: Int64 = row["pk"]
            let oldPatient: Int64 = row["patient_pk"]
            try db.cachedStatement(sql: """
                UPDATE studies SET patient_pk = ?, study_date = COALESCE(NULLIF(?, ''), study_date),
                    study_time = COALESCE(NULLIF(?, ''), study_time), accession_number = COALESCE(NULLIF(?, ''), accession_number),
                    description = COALESCE(NULLIF(?, ''), description), referring_physician = COALESCE(NULLIF(?, ''), referring_physician),
                    study_id = COALESCE(NULLIF(?, ''), study_id) WHERE pk = ?
                """).execute(arguments: fields + [pk])
            if oldPatient != patient {
                // The study moved to another patient (a corrected ID): counts follow.
                try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies - 1 WHERE pk = ?", arguments: [oldPatient])
                try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE pk = ?", arguments: [patient])
            }
            return (pk, false)
        }
        try db.cachedStatement(sql: """
            INSERT INTO studies (patient_pk, study_date, study_time, accession_number, description, referring_physician, study_id, study_uid)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: fields + [a.studyInstanceUID])
        return (db.lastInsertedRowID, true)
    }

    private static func upsertSeries(_ a: InstanceAttributes, study: Int64, _ db: Database) throws -> (Int64, Bool, Bool) {
        let fields: StatementArguments = [study, a.modality, a.seriesNumber, a.seriesDescription, a.bodyPartExamined]
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, modality FROM series WHERE series_uid = ?"),
                                      arguments: [a.seriesInstanceUID]) {
            let pk: Int64 = row["pk"]
            let oldModality: String = row["modality"]
            try db.cachedStatement(sql: """
                UPDATE series SET study_pk = ?, modality = COALESCE(NULLIF(?, ''), modality), series_number = COALESCE(?, series_number),
                    description = COALESCE(NULLIF(?, ''), description), body_part = COALESCE(NULLIF(?, ''), body_part) WHERE pk = ?
                """).execute(arguments: fields + [pk])
            return (pk, false, !a.modality.isEmpty && a.modality != oldModality)
        }
        try db.cachedStatement(sql: """
            INSERT INTO series (study_pk, modality, series_number, description, body_part, series_uid) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: fields + [a.seriesInstanceUID])
        return (db.lastInsertedRowID, true, false)
    }

    private static func adjust(series: Int64, by delta: Int, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE series SET number_of_instances = number_of_instances + ? WHERE pk = ?").execute(arguments: [delta, series])
        try db.cachedStatement(sql: """
            UPDATE studies SET number_of_instances = number_of_instances + ? WHERE pk = (SELECT study_pk FROM series WHERE pk = ?)
            """).execute(arguments: [delta, series])
    }

    private static func seriesCount(_ series: Int64, _ db: Database) throws -> (Int64, Int64)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT study_pk, number_of_instances FROM series WHERE pk = ?", arguments: [series]) else { return nil }
        return (row["study_pk"], row["number_of_instances"])
    }

    /// Modalities in Study: the distinct modalities of its series, sorted, backslash-separated as DICOM lists them.
    private static func refreshModalities(study: Int64, _ db: Database) throws {
        let modalities = try String.fetchAll(db, sql: "SELECT DISTINCT modality FROM series WHERE study_pk = ? AND modality != '' ORDER BY modality",
                                             arguments: [study])
        try db.execute(sql: "UPDATE studies SET modalities_in_study = ? WHERE pk = ?", arguments: [modalities.joined(separator: "\\"), study])
    }
}
