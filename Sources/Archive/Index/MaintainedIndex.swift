/// What maintenance (`arca index check/rebuild/migrate`, the reconcile after an unclean stop) and the tests need
/// of an index, beyond storing and querying: both engines, SQLite and PostgreSQL, provide it.
public protocol MaintainedIndex: InstanceIndex, IndexQuerying {
    /// Records many instances in one transaction (rebuilds, imports).
    func recordBatch(_ records: [InstanceRecord]) throws
    /// Every instance row: what `check` compares with the files.
    func allInstances() throws -> [(sopInstanceUID: String, filePath: String, fileSize: Int64, fileHash: String)]
    /// Rows of every table without primary keys and timestamps, sorted, in one format for both engines: two
    /// indexes of the same archive compare equal whatever order (or engine) they were filled in.
    func canonicalDump() throws -> [String]
    /// Marks the index in use by a server; answers whether the previous run stopped cleanly.
    func beginSession() throws -> Bool
    /// Marks a clean stop: every acknowledged instance's row is committed.
    func endSession() throws
    /// Transactions committed by the group writer (for tests and benchmarks).
    var transactionCount: Int { get }
}

/// The statements and value format of `canonicalDump`.
enum CanonicalRow {
    static let statements: [(prefix: String, sql: String)] = [
        ("patient", "SELECT patient_id, issuer_of_patient_id, name, birth_date, sex, number_of_studies, name_folded FROM patients"),
        ("study", """
            SELECT s.study_uid, p.patient_id, p.issuer_of_patient_id, s.study_date, s.study_time, s.accession_number,
                   s.description, s.referring_physician, s.study_id, s.modalities_in_study, s.number_of_series,
                   s.number_of_instances, s.sop_classes_in_study, s.referring_physician_folded, s.patient_id AS patient_id_copy,
                   s.patient_issuer, s.patient_name, s.patient_name_folded, s.patient_birth_date, s.patient_sex
                   FROM studies s JOIN patients p ON p.pk = s.patient_pk
            """),
        ("series", """
            SELECT se.series_uid, st.study_uid, se.modality, se.series_number, se.description, se.body_part,
                   se.number_of_instances, se.series_date, se.series_time FROM series se JOIN studies st ON st.pk = se.study_pk
            """),
        ("instance", """
            SELECT i.sop_uid, se.series_uid, i.sop_class_uid, i.instance_number, i.transfer_syntax, i.file_path,
                   i.file_size, i.file_hash, i.calling_ae FROM instances i JOIN series se ON se.pk = i.series_pk
            """),
    ]

    /// `name:value` fields: numbers as they are, text quoted (Swift's escaping), NULL.
    static func format(_ value: IndexValue) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .text(let s): return s.debugDescription
        }
    }

    static func line(_ prefix: String, _ fields: [(String, IndexValue)]) -> String {
        prefix + " [" + fields.map { $0.0 + ":" + format($0.1) }.joined(separator: " ") + "]"
    }
}
