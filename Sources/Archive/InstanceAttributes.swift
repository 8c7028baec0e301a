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
        patientID = ds.string(.patientID) ?? ""
        issuerOfPatientID = ds.string(.issuerOfPatientID) ?? ""
        patientName = ds.string(.patientName) ?? ""
        patientBirthDate = ds.string(.patientBirthDate) ?? ""
        patientSex = ds.string(.patientSex) ?? ""
        studyInstanceUID = ds.uid(.studyInstanceUID) ?? ""
        studyDate = ds.string(.studyDate) ?? ""
        studyTime = ds.string(.studyTime) ?? ""
        accessionNumber = ds.string(.accessionNumber) ?? ""
        studyDescription = ds.string(.studyDescription) ?? ""
        referringPhysicianName = ds.string(.referringPhysicianName) ?? ""
        studyID = ds.string(.studyID) ?? ""
        seriesInstanceUID = ds.uid(.seriesInstanceUID) ?? ""
        modality = ds.string(.modality) ?? ""
        seriesNumber = ds.int(.seriesNumber)
        seriesDescription = ds.string(.seriesDescription) ?? ""
        bodyPartExamined = ds.string(.bodyPartExamined) ?? ""
        sopClassUID = ds.uid(.sopClassUID) ?? ""
        sopInstanceUID = ds.uid(.sopInstanceUID) ?? ""
        instanceNumber = ds.int(.instanceNumber)
        seriesDate = ds.string(.seriesDate) ?? ""
        seriesTime = ds.string(.seriesTime) ?? ""
        rows = ds.int(.rows)
        columns = ds.int(.columns)
        bitsAllocated = ds.int(.bitsAllocated)
        numberOfFrames = ds.int(.numberOfFrames)
    }
}
