import DICOM

extension SampleImage {
    /// A Secondary Capture whose SOP Instance, study and series UIDs are given: two calls with other `rows` are two
    /// copies of one instance (a replacement), with bytes of their own, at the same place in the archive.
    public static func copy(rows: UInt16, sop: String, study: String, series: String) -> DICOMFile {
        var file = secondaryCapture(rows: rows, columns: 16)
        file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
        file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
        file.dataSet.setString(study, for: .studyInstanceUID, vr: .UI)
        file.dataSet.setString(series, for: .seriesInstanceUID, vr: .UI)
        return file
    }
}
