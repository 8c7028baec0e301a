import DICOM

/// The attributes of a received instance that name its file and fill the index, read from the header.
public struct InstanceAttributes: Sendable, Equatable {
    public var patientID: String
    public var issuerOfPatientID: String
    public var patientName: String
    public var patientBirthDate: String
    public var patientSex: String
    public var studyInstanceUID: String
    public var studyDate: String
    public var studyTime: String
    public var accessionNumber: String
    public var studyDescription: String
    public var referringPhysicianName: String
    public var studyID: String
    public var seriesInstanceUID: String
    public var modality: String
    public var seriesNumber: Int?
    public var seriesDescription: String
    public var bodyPartExamined: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var instanceNumber: Int?
    public var seriesDate: String
    public var seriesTime: String
    /// Image Pixel module values QIDO-RS returns at instance level (nil when absent).
    public var rows: Int?
    public var columns: Int?
    public var bitsAllocated: Int?
    public var numberOfFrames: Int?

    /// Reads them from a dataset (names decoded from their character set).
    public init(_ ds: DataSet) {
        // A NUL inside a value (trailing ones are trimmed as padding) is kept out of the index, on either engine.
        func text(_ tag: Tag) -> String { ds.string(tag)?.withoutNULs ?? "" }
        patientID = text(.patientID)
        issuerOfPatientID = text(.issuerOfPatientID)
        patientName = text(.patientName)
        patientBirthDate = text(.patientBirthDate)
        patientSex = text(.patientSex)
        studyInstanceUID = ds.uid(.studyInstanceUID) ?? ""
        studyDate = text(.studyDate)
        studyTime = text(.studyTime)
        accessionNumber = text(.accessionNumber)
        studyDescription = text(.studyDescription)
        referringPhysicianName = text(.referringPhysicianName)
        studyID = text(.studyID)
        seriesInstanceUID = ds.uid(.seriesInstanceUID) ?? ""
        modality = text(.modality)
        seriesNumber = ds.int(.seriesNumber)
        seriesDescription = text(.seriesDescription)
        bodyPartExamined = text(.bodyPartExamined)
        sopClassUID = ds.uid(.sopClassUID) ?? ""
        sopInstanceUID = ds.uid(.sopInstanceUID) ?? ""
        instanceNumber = ds.int(.instanceNumber)
        seriesDate = text(.seriesDate)
        seriesTime = text(.seriesTime)
        rows = ds.int(.rows)
        columns = ds.int(.columns)
        bitsAllocated = ds.int(.bitsAllocated)
        numberOfFrames = ds.int(.numberOfFrames)
    }
}

extension String {
    /// Without its U+0000 characters: PostgreSQL's text holds none (SQLSTATE 22021), so a value with one inside
    /// (a hostile or broken sender's) was refused on every try there while SQLite stored it.
    var withoutNULs: String { utf8.contains(0) ? filter { $0 != "\u{0}" } : self }
}
