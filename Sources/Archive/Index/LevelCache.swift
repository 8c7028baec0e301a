import GRDB

/// The patient, study and series rows the last records on the index's writing connection wrote, each with the
/// values it was written with. Every slice of a series repeats them, and writing the same values again changes
/// nothing (non-empty values win, counts move only for new rows), so an instance that repeats them needs no
/// statement at those levels: 6–7 of the dozen statements a row took.
///
/// The entries hold only while nothing else wrote the database: each transaction that uses them starts with
/// `begin`, which drops them when another connection committed since (`PRAGMA data_version`) or this
/// connection changed rows outside `record` (its total change count moved: a removal, a maintenance write);
/// a record that moves or replaces an instance (rows may be deleted) drops them, and so does a failed
/// transaction (`clear`, its writes were rolled back).
///
/// Touched only inside the writer connection's transactions, which GRDB runs one at a time: that connection is
/// its one owner.
final class LevelCache: @unchecked Sendable {
    struct Patient: Equatable {
        var id, issuer, name, birthDate, sex: String
        init(_ a: InstanceAttributes) {
            (id, issuer, name, birthDate, sex) = (a.patientID, a.issuerOfPatientID, a.patientName, a.patientBirthDate, a.patientSex)
        }
    }

    struct Study: Equatable {
        var patient: Int64
        var uid, date, time, accession, description, referring, studyID: String
        init(_ a: InstanceAttributes, patient: Int64) {
            self.patient = patient
            (uid, date, time, accession) = (a.studyInstanceUID, a.studyDate, a.studyTime, a.accessionNumber)
            (description, referring, studyID) = (a.studyDescription, a.referringPhysicianName, a.studyID)
        }
    }

    struct Series: Equatable {
        var study: Int64
        var uid, modality, description, bodyPart, date, time: String
        var number: Int?
        init(_ a: InstanceAttributes, study: Int64) {
            self.study = study
            (uid, modality, description, bodyPart) = (a.seriesInstanceUID, a.modality, a.seriesDescription, a.bodyPartExamined)
            (date, time, number) = (a.seriesDate, a.seriesTime, a.seriesNumber)
        }
    }

    private(set) var patient: (key: Patient, pk: Int64)?
    private(set) var study: (key: Study, pk: Int64)?
    private(set) var series: (key: Series, pk: Int64)?
    /// A SOP class known to be in the study's SOP Classes in Study.
    private(set) var sopClass: (study: Int64, uid: String)?
    /// What the database looked like after the last transaction that kept the entries.
    private var stamp: (dataVersion: Int64, changes: Int)?
    private var dataVersion: Int64?

    /// Hits and misses of the patient level since the index opened (tests).
    private(set) var hits = 0
    private(set) var misses = 0

    /// At the start of a transaction: drops the entries unless the database is as the last one left it.
    func begin(_ db: Database) throws {
        let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version"))
        dataVersion = version
        if stamp?.dataVersion != version || stamp?.changes != db.totalChangesCount { clear() }
    }

    /// At the end of a transaction that will commit: the entries hold for the next one.
    func end(_ db: Database) {
        stamp = dataVersion.map { ($0, db.totalChangesCount) }
    }

    func clear() {
        patient = nil
        study = nil
        series = nil
        sopClass = nil
        stamp = nil
    }

    func patientPK(_ key: Patient) -> Int64? {
        guard let patient, patient.key == key else {
            misses += 1
            return nil
        }
        hits += 1
        return patient.pk
    }

    func studyPK(_ key: Study) -> Int64? {
        guard let study, study.key == key else { return nil }
        return study.pk
    }

    func seriesPK(_ key: Series) -> Int64? {
        guard let series, series.key == key else { return nil }
        return series.pk
    }

    func hasSOPClass(_ uid: String, study pk: Int64) -> Bool {
        sopClass.map { $0.study == pk && $0.uid == uid } ?? false
    }

    func wrote(patient key: Patient, pk: Int64) { patient = (key, pk) }
    func wrote(study key: Study, pk: Int64) { study = (key, pk) }
    func wrote(series key: Series, pk: Int64) { series = (key, pk) }
    func listed(sopClass uid: String, study pk: Int64) { sopClass = (pk, uid) }
}
