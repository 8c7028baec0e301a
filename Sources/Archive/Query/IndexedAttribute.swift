import DICOM

/// An attribute the index holds as a column (or computes from columns), with the table alias it lives on:
/// `p` patients, `st` studies, `se` series, `i` instances. Everything else is read from a stored instance.
struct IndexedAttribute: Sendable {
    enum Kind: Sendable {
        /// A string column matched literally.
        case text
        /// A person name: `column` holds it as received, `folded` its folded form (see `TextFolding`).
        case personName(folded: String)
        /// A DA / TM column (YYYYMMDD, HHMMSS[.F]).
        case date, time
        /// A UID column.
        case uid
        /// An integer column (IS, US): matched by number.
        case integer
        /// A backslash-separated list computed per study (Modalities in Study, SOP Classes in Study): matched
        /// when any value of the list matches, through `exists` (a correlated subquery over the rows it lists).
        case list(exists: String, itemColumn: String)
        /// A count kept by the index: returned, never matched (PS3.4 lists these as return keys).
        case count
    }

    let tag: Tag
    let vr: VR
    let level: QueryLevel
    /// The SQL expression of the value.
    let column: String
    let kind: Kind
    /// NULL in this column means "not indexed for this row" (rows written before the column existed): the
    /// instance is read to match and answer.
    let nullable: Bool
    /// A patient attribute's copy on the study row (`StudyPatientCopy`), which searches of the study level and
    /// below read instead of joining `patients`; a person name's folded copy is this column + `_folded`.
    let studyCopy: String?

    init(_ tag: Tag, _ vr: VR, _ level: QueryLevel, _ column: String, _ kind: Kind, nullable: Bool = false,
         studyCopy: String? = nil) {
        self.tag = tag
        self.vr = vr
        self.level = level
        self.column = column
        self.kind = kind
        self.nullable = nullable
        self.studyCopy = studyCopy
    }

    /// The attribute read from its copy on the study row; nil when it has none.
    var onStudyRow: IndexedAttribute? {
        guard let studyCopy else { return nil }
        var kind = self.kind
        if case .personName = kind { kind = .personName(folded: studyCopy + "_folded") }
        return IndexedAttribute(tag, vr, level, studyCopy, kind, nullable: nullable)
    }

    static let all: [IndexedAttribute] = [
        // Patient
        IndexedAttribute(.patientName, .PN, .patient, "p.name", .personName(folded: "p.name_folded"), studyCopy: "st.patient_name"),
        IndexedAttribute(.patientID, .LO, .patient, "p.patient_id", .text, studyCopy: "st.patient_id"),
        IndexedAttribute(.issuerOfPatientID, .LO, .patient, "p.issuer_of_patient_id", .text, studyCopy: "st.patient_issuer"),
        IndexedAttribute(.patientBirthDate, .DA, .patient, "p.birth_date", .date, studyCopy: "st.patient_birth_date"),
        IndexedAttribute(.patientSex, .CS, .patient, "p.sex", .text, studyCopy: "st.patient_sex"),
        IndexedAttribute(.numberOfPatientRelatedStudies, .IS, .patient, "p.number_of_studies", .count),
        IndexedAttribute(.numberOfPatientRelatedSeries, .IS, .patient,
                         "(SELECT COALESCE(SUM(xs.number_of_series), 0) FROM studies xs WHERE xs.patient_pk = p.pk)", .count),
        IndexedAttribute(.numberOfPatientRelatedInstances, .IS, .patient,
                         "(SELECT COALESCE(SUM(xs.number_of_instances), 0) FROM studies xs WHERE xs.patient_pk = p.pk)", .count),
        // Study
        IndexedAttribute(.studyInstanceUID, .UI, .study, "st.study_uid", .uid),
        IndexedAttribute(.studyDate, .DA, .study, "st.study_date", .date),
        IndexedAttribute(.studyTime, .TM, .study, "st.study_time", .time),
        IndexedAttribute(.accessionNumber, .SH, .study, "st.accession_number", .text),
        IndexedAttribute(.studyID, .SH, .study, "st.study_id", .text),
        IndexedAttribute(.studyDescription, .LO, .study, "st.description", .text),
        IndexedAttribute(.referringPhysicianName, .PN, .study, "st.referring_physician", .personName(folded: "st.referring_physician_folded")),
        IndexedAttribute(.modalitiesInStudy, .CS, .study, "st.modalities_in_study",
                         .list(exists: "SELECT 1 FROM series xm WHERE xm.study_pk = st.pk AND ", itemColumn: "xm.modality")),
        IndexedAttribute(.sopClassesInStudy, .UI, .study, "st.sop_classes_in_study",
                         .list(exists: "SELECT 1 FROM series xm JOIN instances xi ON xi.series_pk = xm.pk WHERE xm.study_pk = st.pk AND ",
                               itemColumn: "xi.sop_class_uid")),
        IndexedAttribute(.numberOfStudyRelatedSeries, .IS, .study, "st.number_of_series", .count),
        IndexedAttribute(.numberOfStudyRelatedInstances, .IS, .study, "st.number_of_instances", .count),
        // Everything the archive holds is on line (PS3.4 C.4.1.1.3.2).
        IndexedAttribute(.instanceAvailability, .CS, .study, "'ONLINE'", .text),
        // Series
        IndexedAttribute(.seriesInstanceUID, .UI, .series, "se.series_uid", .uid),
        IndexedAttribute(.modality, .CS, .series, "se.modality", .text),
        IndexedAttribute(.seriesNumber, .IS, .series, "se.series_number", .integer),
        IndexedAttribute(.seriesDescription, .LO, .series, "se.description", .text),
        IndexedAttribute(.bodyPartExamined, .CS, .series, "se.body_part", .text),
        IndexedAttribute(.seriesDate, .DA, .series, "se.series_date", .date, nullable: true),
        IndexedAttribute(.seriesTime, .TM, .series, "se.series_time", .time, nullable: true),
        IndexedAttribute(.numberOfSeriesRelatedInstances, .IS, .series, "se.number_of_instances", .count),
        // Instance
        IndexedAttribute(.sopInstanceUID, .UI, .image, "i.sop_uid", .uid),
        IndexedAttribute(.sopClassUID, .UI, .image, "i.sop_class_uid", .uid),
        IndexedAttribute(.instanceNumber, .IS, .image, "i.instance_number", .integer),
        IndexedAttribute(.rows, .US, .image, "i.rows", .integer, nullable: true),
        IndexedAttribute(.columns, .US, .image, "i.columns", .integer, nullable: true),
        IndexedAttribute(.bitsAllocated, .US, .image, "i.bits_allocated", .integer, nullable: true),
        IndexedAttribute(.numberOfFrames, .IS, .image, "i.number_of_frames", .integer, nullable: true),
    ]

    private static let byTag: [Tag: IndexedAttribute] = Dictionary(all.map { ($0.tag, $0) }, uniquingKeysWith: { a, _ in a })

    static func lookup(_ tag: Tag) -> IndexedAttribute? { byTag[tag] }
}

extension QueryModel {
    /// The attributes the index holds at `level` and the levels above it: what an answer carries without
    /// reading a stored instance (QIDO-RS `includefield=all`).
    public func indexedTags(atOrAbove level: QueryLevel) -> [Tag] {
        IndexedAttribute.all.filter { self.level(of: $0.level) <= level }.map(\.tag)
    }
}
