import GRDB

/// The index's writes, inside a caller's transaction. Counters are kept by increments so a write costs the
/// same with a million rows as with none; statements are cached per connection.
enum IndexStatements {
    /// Inserts the instance or replaces the row with its SOP Instance UID; patients, studies and series are
    /// created or updated (non-empty values win), counts follow. A study or series that moves (a corrected
    /// Patient ID, a replaced instance in another series) takes its counts along, and a level left empty is
    /// removed, so the rows are those a rebuild from the files would give.
    ///
    /// With `levels` (the writing connection's `LevelCache`, inside a transaction it began), levels whose values
    /// repeat the last ones written are not touched.
    static func record(_ r: InstanceRecord, in db: Database, levels: LevelCache? = nil) throws {
        let a = r.attributes
        let patientKey = LevelCache.Patient(a)
        let patient: Int64
        if let pk = levels?.patientPK(patientKey) { patient = pk } else {
            patient = try upsertPatient(a, db)
            levels?.wrote(patient: patientKey, pk: patient)
        }
        let studyKey = LevelCache.Study(a, patient: patient)
        let study: Int64
        if let pk = levels?.studyPK(studyKey) { study = pk } else {
            let (pk, moved) = try upsertStudy(a, patient: patient, db)
            study = pk
            // A study that moved may have deleted its old patient: no entry of another level can be trusted.
            if moved { levels?.clear() } else { levels?.wrote(study: studyKey, pk: study) }
        }
        let seriesKey = LevelCache.Series(a, study: study)
        let series: Int64, refreshModalities: Bool
        if let pk = levels?.seriesPK(seriesKey) { (series, refreshModalities) = (pk, false) } else {
            let (pk, refresh, moved) = try upsertSeries(a, study: study, db)
            (series, refreshModalities) = (pk, refresh)
            if moved { levels?.clear() } else { levels?.wrote(series: seriesKey, pk: series) }
        }

        let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT series_pk, sop_class_uid FROM instances WHERE sop_uid = ?"),
                                   arguments: [a.sopInstanceUID])
        let oldSeries: Int64? = old?["series_pk"]
        let oldSOPClass: String? = old?["sop_class_uid"]
        // Read before the move may prune the old series: looked up after, an emptied series named no study, and
        // the old study kept listing the class it no longer held.
        let oldStudy = try oldSeries.flatMap { try Int64.fetchOne(db, sql: "SELECT study_pk FROM series WHERE pk = ?", arguments: [$0]) }
        let values: StatementArguments = [
            series, a.sopClassUID, a.instanceNumber, r.transferSyntaxUID, r.filePath, Int64(clamping: r.fileSize),
            r.fileHash, r.receivedAt, r.callingAETitle, a.rows, a.columns, a.bitsAllocated, a.numberOfFrames, a.sopInstanceUID,
        ]
        if let oldSeries {
            try db.cachedStatement(sql: """
                UPDATE instances SET series_pk = ?, sop_class_uid = ?, instance_number = ?, transfer_syntax = ?, file_path = ?,
                    file_size = ?, file_hash = ?, received_at = ?, calling_ae = ?, rows = ?, columns = ?, bits_allocated = ?,
                    number_of_frames = ? WHERE sop_uid = ?
                """).execute(arguments: values)
            if oldSeries != series {
                try adjust(series: oldSeries, by: -1, db)
                try adjust(series: series, by: 1, db)
                try pruneSeries(oldSeries, db)
            }
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO instances (series_pk, sop_class_uid, instance_number, transfer_syntax, file_path, file_size,
                    file_hash, received_at, calling_ae, rows, columns, bits_allocated, number_of_frames, sop_uid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: values)
            try adjust(series: series, by: 1, db)
        }
        if refreshModalities { try Self.refreshModalities(study: study, db) }
        if let oldSeries, oldSeries != series || oldSOPClass != a.sopClassUID {
            // The instance moved or changed class: the lists of the studies involved are recomputed.
            try refreshSOPClasses(study: study, db)
            if let oldStudy, oldStudy != study { try refreshSOPClasses(study: oldStudy, db) }
        } else if levels?.hasSOPClass(a.sopClassUID, study: study) != true {
            try addSOPClass(a.sopClassUID, study: study, db)
            levels?.listed(sopClass: a.sopClassUID, study: study)
        }
        // A replacement may have emptied and deleted its old series, study or patient.
        if oldSeries != nil { levels?.clear() }
    }

    /// Removes an instance's row; its series, study and patient lose it from their counts (and go when empty).
    static func remove(_ sopInstanceUID: String, in db: Database) throws {
        guard let seriesPK = try Int64.fetchOne(db, sql: "SELECT series_pk FROM instances WHERE sop_uid = ?", arguments: [sopInstanceUID])
        else { return }
        let studyPK = try Int64.fetchOne(db, sql: "SELECT study_pk FROM series WHERE pk = ?", arguments: [seriesPK])
        try db.execute(sql: "DELETE FROM instances WHERE sop_uid = ?", arguments: [sopInstanceUID])
        try adjust(series: seriesPK, by: -1, db)
        try pruneSeries(seriesPK, db)
        if let studyPK { try refreshSOPClasses(study: studyPK, db) }
    }

    /// Deletes a series without instances; its study loses it (and goes when it has no series left).
    private static func pruneSeries(_ pk: Int64, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT study_pk, number_of_instances FROM series WHERE pk = ?", arguments: [pk]),
              (row["number_of_instances"] as Int64) <= 0 else { return }
        let studyPK: Int64 = row["study_pk"]
        try db.execute(sql: "DELETE FROM series WHERE pk = ?", arguments: [pk])
        try db.execute(sql: "UPDATE studies SET number_of_series = number_of_series - 1 WHERE pk = ?", arguments: [studyPK])
        try refreshModalities(study: studyPK, db)
        try pruneStudy(studyPK, db)
    }

    /// Deletes a study without series; its patient loses it (and goes when it has no studies left).
    private static func pruneStudy(_ pk: Int64, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT patient_pk, number_of_series FROM studies WHERE pk = ?", arguments: [pk]),
              (row["number_of_series"] as Int64) <= 0 else { return }
        let patientPK: Int64 = row["patient_pk"]
        try db.execute(sql: "DELETE FROM studies WHERE pk = ?", arguments: [pk])
        try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies - 1 WHERE pk = ?", arguments: [patientPK])
        try prunePatient(patientPK, db)
    }

    private static func prunePatient(_ pk: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM patients WHERE pk = ? AND number_of_studies <= 0", arguments: [pk])
    }

    // MARK: - Levels
    // An instance usually repeats its patient's, study's and series' values: their rows are written only when a
    // value changes, so a commit dirties the instance's pages and the counters, not every level's.

    private static func upsertPatient(_ a: InstanceAttributes, _ db: Database) throws -> Int64 {
        if let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM patients WHERE patient_id = ? AND issuer_of_patient_id = ?"),
                                       arguments: [a.patientID, a.issuerOfPatientID]) {
            try db.cachedStatement(sql: """
                UPDATE patients SET name = COALESCE(NULLIF(?1, ''), name), birth_date = COALESCE(NULLIF(?2, ''), birth_date),
                    sex = COALESCE(NULLIF(?3, ''), sex), name_folded = COALESCE(NULLIF(?5, ''), name_folded)
                WHERE pk = ?4 AND (name IS NOT COALESCE(NULLIF(?1, ''), name) OR birth_date IS NOT COALESCE(NULLIF(?2, ''), birth_date)
                    OR sex IS NOT COALESCE(NULLIF(?3, ''), sex))
                """).execute(arguments: [a.patientName, a.patientBirthDate, a.patientSex, pk, TextFolding.fold(a.patientName)])
            return pk
        }
        try db.cachedStatement(sql: "INSERT INTO patients (patient_id, issuer_of_patient_id, name, birth_date, sex, name_folded) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [a.patientID, a.issuerOfPatientID, a.patientName, a.patientBirthDate, a.patientSex, TextFolding.fold(a.patientName)])
        return db.lastInsertedRowID
    }

    /// The study's pk; a new study counts for its patient, and a study that moved to another patient (a
    /// corrected Patient ID or issuer) leaves the old one, which goes when it has no studies left.
    private static func upsertStudy(_ a: InstanceAttributes, patient: Int64, _ db: Database) throws -> (pk: Int64, moved: Bool) {
        let fields: StatementArguments = [patient, a.studyDate, a.studyTime, a.accessionNumber, a.studyDescription,
                                          a.referringPhysicianName, a.studyID]
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, patient_pk FROM studies WHERE study_uid = ?"),
                                      arguments: [a.studyInstanceUID]) {
            let pk: Int64 = row["pk"]
            let oldPatient: Int64 = row["patient_pk"]
            try db.cachedStatement(sql: """
                UPDATE studies SET patient_pk = ?1, study_date = COALESCE(NULLIF(?2, ''), study_date),
                    study_time = COALESCE(NULLIF(?3, ''), study_time), accession_number = COALESCE(NULLIF(?4, ''), accession_number),
                    description = COALESCE(NULLIF(?5, ''), description), referring_physician = COALESCE(NULLIF(?6, ''), referring_physician),
                    study_id = COALESCE(NULLIF(?7, ''), study_id),
                    referring_physician_folded = COALESCE(NULLIF(?9, ''), referring_physician_folded)
                WHERE pk = ?8 AND (patient_pk IS NOT ?1 OR study_date IS NOT COALESCE(NULLIF(?2, ''), study_date)
                    OR study_time IS NOT COALESCE(NULLIF(?3, ''), study_time) OR accession_number IS NOT COALESCE(NULLIF(?4, ''), accession_number)
                    OR description IS NOT COALESCE(NULLIF(?5, ''), description)
                    OR referring_physician IS NOT COALESCE(NULLIF(?6, ''), referring_physician) OR study_id IS NOT COALESCE(NULLIF(?7, ''), study_id))
                """).execute(arguments: fields + [pk, TextFolding.fold(a.referringPhysicianName)])
            if oldPatient != patient {
                try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies - 1 WHERE pk = ?", arguments: [oldPatient])
                try db.execute(sql: "UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE pk = ?", arguments: [patient])
                try prunePatient(oldPatient, db)
                return (pk, true)
            }
            return (pk, false)
        }
        try db.cachedStatement(sql: """
            INSERT INTO studies (patient_pk, study_date, study_time, accession_number, description, referring_physician, study_id, study_uid,
                referring_physician_folded)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: fields + [a.studyInstanceUID, TextFolding.fold(a.referringPhysicianName)])
        let pk = db.lastInsertedRowID
        try db.cachedStatement(sql: "UPDATE patients SET number_of_studies = number_of_studies + 1 WHERE pk = ?").execute(arguments: [patient])
        return (pk, false)
    }

    /// The series' pk, and whether the study's Modalities in Study may have changed. A new series counts for its
    /// study; a series that moved to another study takes its instances along, and the old study goes when empty.
    private static func upsertSeries(_ a: InstanceAttributes, study: Int64, _ db: Database) throws -> (pk: Int64, refreshModalities: Bool, moved: Bool) {
        let fields: StatementArguments = [study, a.modality, a.seriesNumber, a.seriesDescription, a.bodyPartExamined, a.seriesDate, a.seriesTime]
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, study_pk, modality, number_of_instances FROM series WHERE series_uid = ?"),
                                      arguments: [a.seriesInstanceUID]) {
            let pk: Int64 = row["pk"]
            let oldStudy: Int64 = row["study_pk"]
            let oldModality: String = row["modality"]
            let instances: Int64 = row["number_of_instances"]
            try db.cachedStatement(sql: """
                UPDATE series SET study_pk = ?1, modality = COALESCE(NULLIF(?2, ''), modality), series_number = COALESCE(?3, series_number),
                    description = COALESCE(NULLIF(?4, ''), description), body_part = COALESCE(NULLIF(?5, ''), body_part),
                    series_date = COALESCE(NULLIF(?6, ''), series_date, ''), series_time = COALESCE(NULLIF(?7, ''), series_time, '')
                WHERE pk = ?8 AND (study_pk IS NOT ?1 OR modality IS NOT COALESCE(NULLIF(?2, ''), modality)
                    OR series_number IS NOT COALESCE(?3, series_number) OR description IS NOT COALESCE(NULLIF(?4, ''), description)
                    OR body_part IS NOT COALESCE(NULLIF(?5, ''), body_part) OR series_date IS NOT COALESCE(NULLIF(?6, ''), series_date, '')
                    OR series_time IS NOT COALESCE(NULLIF(?7, ''), series_time, ''))
                """).execute(arguments: fields + [pk])
            if oldStudy != study {
                try db.execute(sql: """
                    UPDATE studies SET number_of_series = number_of_series - 1, number_of_instances = number_of_instances - ? WHERE pk = ?
                    """, arguments: [instances, oldStudy])
                try db.execute(sql: """
                    UPDATE studies SET number_of_series = number_of_series + 1, number_of_instances = number_of_instances + ? WHERE pk = ?
                    """, arguments: [instances, study])
                try refreshModalities(study: oldStudy, db)
                // The series' instances took their classes along: both studies' lists follow them.
                try refreshSOPClasses(study: oldStudy, db)
                try refreshSOPClasses(study: study, db)
                try pruneStudy(oldStudy, db)
                return (pk, true, true)
            }
            return (pk, !a.modality.isEmpty && a.modality != oldModality, false)
        }
        try db.cachedStatement(sql: """
            INSERT INTO series (study_pk, modality, series_number, description, body_part, series_date, series_time, series_uid)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: fields + [a.seriesInstanceUID])
        let pk = db.lastInsertedRowID
        try db.cachedStatement(sql: "UPDATE studies SET number_of_series = number_of_series + 1 WHERE pk = ?").execute(arguments: [study])
        return (pk, true, false)
    }

    private static func adjust(series: Int64, by delta: Int, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE series SET number_of_instances = number_of_instances + ? WHERE pk = ?").execute(arguments: [delta, series])
        try db.cachedStatement(sql: """
            UPDATE studies SET number_of_instances = number_of_instances + ? WHERE pk = (SELECT study_pk FROM series WHERE pk = ?)
            """).execute(arguments: [delta, series])
    }

    /// SOP Classes in Study: the distinct SOP classes of its instances, sorted, backslash-separated.
    static func refreshSOPClasses(study: Int64, _ db: Database) throws {
        let classes = try String.fetchAll(db, sql: """
            SELECT DISTINCT i.sop_class_uid FROM instances i JOIN series se ON se.pk = i.series_pk
            WHERE se.study_pk = ? AND i.sop_class_uid != '' ORDER BY i.sop_class_uid
            """, arguments: [study])
        try db.execute(sql: "UPDATE studies SET sop_classes_in_study = ? WHERE pk = ?", arguments: [classes.joined(separator: "\\"), study])
    }

    /// A new instance's class joins its study's list unless already there (no scan: the list is short).
    private static func addSOPClass(_ uid: String, study: Int64, _ db: Database) throws {
        guard !uid.isEmpty, let current = try String.fetchOne(db.cachedStatement(sql: "SELECT sop_classes_in_study FROM studies WHERE pk = ?"),
                                                            arguments: [study]) else { return }
        var classes = current.isEmpty ? [] : current.split(separator: "\\").map(String.init)
        guard !classes.contains(uid) else { return }
        classes.append(uid)
        classes.sort()
        try db.cachedStatement(sql: "UPDATE studies SET sop_classes_in_study = ? WHERE pk = ?").execute(arguments: [classes.joined(separator: "\\"), study])
    }

    /// Modalities in Study: the distinct modalities of its series, sorted, backslash-separated as DICOM lists them.
    private static func refreshModalities(study: Int64, _ db: Database) throws {
        let modalities = try String.fetchAll(db, sql: "SELECT DISTINCT modality FROM series WHERE study_pk = ? AND modality != '' ORDER BY modality",
                                             arguments: [study])
        try db.execute(sql: "UPDATE studies SET modalities_in_study = ? WHERE pk = ?", arguments: [modalities.joined(separator: "\\"), study])
    }
}
