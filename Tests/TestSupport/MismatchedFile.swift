import DICOM

/// Files whose meta header names one syntax while the dataset is written in another, as some writers make
/// them: what the lenient reading (`EncodingMismatch`) is tested on at every layer.
public enum MismatchedFile {
    /// The two cases Arca reads: (declared by the meta header, written in the dataset).
    public static let cases: [(declared: TransferSyntax, written: TransferSyntax)] = [
        (.explicitVRLittleEndian, .implicitVRLittleEndian), (.implicitVRLittleEndian, .explicitVRLittleEndian),
    ]

    /// A small image with a sequence whose meta header says `declared` and whose dataset is written in
    /// `written`, and its dataset as a file that says what it is reads back. `sop` names the instance.
    public static func make(declared: TransferSyntax, written: TransferSyntax, sop: String? = nil) throws -> (bytes: [UInt8], expected: DataSet) {
        var file = SampleImage.secondaryCapture(rows: 8, columns: 8)
        if let sop {
            file.dataSet.setString(sop, for: .sopInstanceUID, vr: .UI)
            file.meta.setString(sop, for: .mediaStorageSOPInstanceUID, vr: .UI)
        }
        var item = DataSet()
        item.setString("T-D0050", for: Tag(0x0008, 0x0100), vr: .SH)
        file.dataSet.setItems([item, DataSet()], for: Tag(0x0008, 0x1032))
        file.transferSyntax = written
        file.meta.setString(written.uid, for: .transferSyntaxUID, vr: .UI)
        let expected = try DICOMFile.read(try file.serialized()).dataSet
        file.meta.setString(declared.uid, for: .transferSyntaxUID, vr: .UI)
        return (try file.serialized(), expected)
    }
}
