import GRDB

/// The index's tables, as migrations. `schema_version` records each applied version so `sqlite3` users (and
/// later versions of Arca) can see what they hold.
enum IndexSchema {
    static let currentVersion = 4

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE schema_version (
                    version INTEGER NOT NULL PRIMARY KEY,
                    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
                CREATE TABLE patients (
                    pk INTEGER PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    issuer_of_patient_id TEXT NOT NULL DEFAULT '',
                    name TEXT NOT NULL DEFAULT '',
                    birth_date TEXT NOT NULL DEFAULT '',
                    sex TEXT NOT NULL DEFAULT '',
                    number_of_studies INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (patient_id, issuer_of_patient_id));
                CREATE TABLE studies (
                    pk INTEGER PRIMARY KEY,
                    study_uid TEXT NOT NULL UNIQUE,
                    patient_pk INTEGER NOT NULL REFERENCES patients(pk),
                    study_date TEXT NOT NULL DEFAULT '',
                    study_time TEXT NOT NULL DEFAULT '',
                    accession_number TEXT NOT NULL DEFAULT '',
                    description TEXT NOT NULL DEFAULT '',
                    referring_physician TEXT NOT NULL DEFAULT '',
                    study_id TEXT NOT NULL DEFAULT '',
                    modalities_in_study TEXT NOT NULL DEFAULT '',
                    number_of_series INTEGER NOT NULL DEFAULT 0,
                    number_of_instances INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX studies_patient ON studies(patient_pk);
                CREATE TABLE series (
                    pk INTEGER PRIMARY KEY,
                    series_uid TEXT NOT NULL UNIQUE,
                    study_pk INTEGER NOT NULL REFERENCES studies(pk),
                    modality TEXT NOT NULL DEFAULT '',
                    series_number INTEGER,
                    description TEXT NOT NULL DEFAULT '',
                    body_part TEXT NOT NULL DEFAULT '',
                    number_of_instances INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX series_study ON series(study_pk);
                CREATE TABLE instances (
                    pk INTEGER PRIMARY KEY,
                    sop_uid TEXT NOT NULL UNIQUE,
                    series_pk INTEGER NOT NULL REFERENCES series(pk),
                    sop_class_uid TEXT NOT NULL DEFAULT '',
                    instance_number INTEGER,
                    transfer_syntax TEXT NOT NULL DEFAULT '',
                    file_path TEXT NOT NULL,
                    file_size INTEGER NOT NULL,
                    file_hash TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    calling_ae TEXT NOT NULL DEFAULT '');
                CREATE INDEX instances_series ON instances(series_pk);
                INSERT INTO schema_version (version) VALUES (1);
                """)
        }
        migrator.registerMigration("v2") { db in
            // Whether the server that last opened the index stopped cleanly: after a crash, files renamed into
            // place whose rows were not yet committed are indexed at the next start.
            try db.execute(sql: """
                CREATE TABLE server_state (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO schema_version (version) VALUES (2);
                """)
        }
        migrator.registerMigration("v3") { db in
            // Query/retrieve: folded person names (matched insensitive to case and accents, indexed for prefix
            // searches), the columns C-FIND and QIDO-RS return or match on, and indexes for the common searches.
            // Columns added here are NULL for rows written before: NULL means "not indexed, read the instance".
            try db.execute(sql: """
                ALTER TABLE patients ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
                ALTER TABLE studies ADD COLUMN referring_physician_folded TEXT NOT NULL DEFAULT '';
                ALTER TABLE studies ADD COLUMN sop_classes_in_study TEXT NOT NULL DEFAULT '';
                ALTER TABLE series ADD COLUMN series_date TEXT;
                ALTER TABLE series ADD COLUMN series_time TEXT;
                ALTER TABLE instances ADD COLUMN rows INTEGER;
                ALTER TABLE instances ADD COLUMN columns INTEGER;
                ALTER TABLE instances ADD COLUMN bits_allocated INTEGER;
                ALTER TABLE instances ADD COLUMN number_of_frames INTEGER;
                CREATE INDEX patients_name_folded ON patients(name_folded);
                CREATE INDEX studies_date ON studies(study_date, study_time);
                CREATE INDEX studies_accession ON studies(accession_number);
                CREATE INDEX studies_referring_folded ON studies(referring_physician_folded);
                CREATE INDEX series_modality ON series(modality);
                """)
            for row in try Row.fetchAll(db, sql: "SELECT pk, name FROM patients") {
                try db.execute(sql: "UPDATE patients SET name_folded = ? WHERE pk = ?",
                               arguments: [TextFolding.fold(row["name"]), row["pk"] as Int64])
            }
            for row in try Row.fetchAll(db, sql: "SELECT pk, referring_physician FROM studies") {
                try db.execute(sql: "UPDATE studies SET referring_physician_folded = ? WHERE pk = ?",
                               arguments: [TextFolding.fold(row["referring_physician"]), row["pk"] as Int64])
            }
            for pk in try Int64.fetchAll(db, sql: "SELECT pk FROM studies") {
                try IndexStatements.refreshSOPClasses(study: pk, db)
            }
            try db.execute(sql: "INSERT INTO schema_version (version) VALUES (3)")
        }
        // Foreign keys checked for the rows it touches only: the default whole-database check read every instance.
        migrator.registerMigration("v4", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: StudyPatientCopy.sqlite + "\nINSERT INTO schema_version (version) VALUES (4);")
        }
        return migrator
    }
}

/// Each study row keeps a copy of its patient's attributes, so a study-level search (the study list of every
/// workstation) matches and answers them from the study alone: over 10,000,000 instances the month of 8,523
/// studies took PostgreSQL 26 ms with a look-up of each study's patient, 9 ms without. Triggers keep the copies,
/// whichever statement writes: a new study takes its patient's values, a study moved to another patient (a
/// corrected Patient ID) takes the new one's, and a patient whose attributes change passes them to its studies.
/// The `patients` table stays what patient-level searches and the counts read.
enum StudyPatientCopy {
    /// The copied columns: (column of `studies`, column of `patients`).
    static let columns: [(study: String, patient: String)] = [
        ("patient_id", "patient_id"), ("patient_issuer", "issuer_of_patient_id"), ("patient_name", "name"),
        ("patient_name_folded", "name_folded"), ("patient_birth_date", "birth_date"), ("patient_sex", "sex"),
    ]

    /// `studies.a = (SELECT p.a FROM patients p WHERE p.pk = <key>), …`
    static func assignments(from key: String) -> String {
        "(" + columns.map(\.study).joined(separator: ", ") + ") = (SELECT " + columns.map { "p." + $0.patient }.joined(separator: ", ")
            + " FROM patients p WHERE p.pk = \(key))"
    }

    /// The Study Instance UIDs of studies whose copies differ from their patient's row (`arca index check`).
    static var disagreeing: String {
        "SELECT s.study_uid FROM studies s JOIN patients p ON p.pk = s.patient_pk WHERE "
            + columns.map { "s.\($0.study) <> p.\($0.patient)" }.joined(separator: " OR ") + " ORDER BY s.study_uid"
    }

    static var indexes: String {
        """
        CREATE INDEX studies_patient_name_folded ON studies(patient_name_folded);
        CREATE INDEX studies_patient_id ON studies(patient_id);
        """
    }

    /// SQLite: the columns filled for the studies there are, then kept by triggers (an AFTER trigger writes the
    /// row once more: SQLite's triggers cannot change the row being written; a new study is rare beside its
    /// instances).
    static var sqlite: String {
        let changed = columns.map { "OLD.\($0.patient) IS NOT NEW.\($0.patient)" }.joined(separator: " OR ")
        return columns.map { "ALTER TABLE studies ADD COLUMN \($0.study) TEXT NOT NULL DEFAULT '';" }.joined(separator: "\n") + """

            UPDATE studies SET \(assignments(from: "studies.patient_pk"));
            \(indexes)
            CREATE TRIGGER studies_patient_copy_new AFTER INSERT ON studies BEGIN
                UPDATE studies SET \(assignments(from: "NEW.patient_pk")) WHERE pk = NEW.pk;
            END;
            CREATE TRIGGER studies_patient_copy_moved AFTER UPDATE OF patient_pk ON studies WHEN OLD.patient_pk IS NOT NEW.patient_pk BEGIN
                UPDATE studies SET \(assignments(from: "NEW.patient_pk")) WHERE pk = NEW.pk;
            END;
            CREATE TRIGGER patients_copy_to_studies AFTER UPDATE ON patients WHEN \(changed) BEGIN
                UPDATE studies SET \(assignments(from: "NEW.pk")) WHERE patient_pk = NEW.pk;
            END;
            """
    }

    /// PostgreSQL: the same columns (compared byte-wise), filled, then kept by triggers; a BEFORE trigger sets a new
    /// or moved study's copies in the row being written, from the patient row it locks (several writers at once).
    static var postgres: String {
        let changed = columns.map { "OLD.\($0.patient) IS DISTINCT FROM NEW.\($0.patient)" }.joined(separator: " OR ")
        let into = columns.map { "NEW." + $0.study }.joined(separator: ", ")
        return columns.map { "ALTER TABLE studies ADD COLUMN \($0.study) TEXT COLLATE \"C\" NOT NULL DEFAULT '';" }.joined(separator: "\n") + """

            UPDATE studies SET \(assignments(from: "studies.patient_pk"));
            \(indexes)
            CREATE FUNCTION arca_study_patient_copy() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- FOR SHARE: a transaction changing the patient now (another node, another batch) is waited for and
                -- its values read; without the lock the study took the values before it, and that transaction's
                -- trigger could not see the study yet, so the copy stayed stale.
                SELECT \(columns.map { "p." + $0.patient }.joined(separator: ", ")) INTO \(into) FROM patients p WHERE p.pk = NEW.patient_pk
                    FOR SHARE;
                RETURN NEW;
            END $$;
            CREATE TRIGGER studies_patient_copy_new BEFORE INSERT ON studies
                FOR EACH ROW EXECUTE FUNCTION arca_study_patient_copy();
            CREATE TRIGGER studies_patient_copy_moved BEFORE UPDATE OF patient_pk ON studies
                FOR EACH ROW WHEN (OLD.patient_pk IS DISTINCT FROM NEW.patient_pk) EXECUTE FUNCTION arca_study_patient_copy();
            CREATE FUNCTION arca_patient_copy_to_studies() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE studies SET \(assignments(from: "NEW.pk")) WHERE patient_pk = NEW.pk;
                RETURN NULL;
            END $$;
            CREATE TRIGGER patients_copy_to_studies AFTER UPDATE ON patients FOR EACH ROW WHEN (\(changed))
                EXECUTE FUNCTION arca_patient_copy_to_studies();
            """
    }
}
