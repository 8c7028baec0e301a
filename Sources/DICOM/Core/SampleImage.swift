/// The small Secondary Capture image `arca hello` writes: what a first test of a storage server sends.
public enum SampleImage {
    public static func secondaryCapture(rows: UInt16 = 64, columns: UInt16 = 64) -> DICOMFile {
        var ds = DataSet()
        let study = UIDGenerator.make()
        ds.setString("ISO_IR 192", for: .specificCharacterSet, vr: .CS)
        ds.setStrings(["ORIGINAL", "PRIMARY"], for: .imageType, vr: .CS)
        ds.setString("1.2.840.10008.5.1.4.1.1.7", for: .sopClassUID, vr: .UI)
        ds.setString(study + ".1.1", for: .sopInstanceUID, vr: .UI)
        ds.setString("20260101", for: .studyDate, vr: .DA)
        ds.setString("120000", for: .studyTime, vr: .TM)
        ds.setString("", for: .accessionNumber, vr: .SH)
        ds.setString("OT", for: .modality, vr: .CS)
        ds.setString("WSD", for: .conversionType, vr: .CS)
        ds.setString("", for: .referringPhysicianName, vr: .PN)
        ds.setString("Test Study", for: .studyDescription, vr: .LO)
        ds.setString("DOE^JOHN", for: .patientName, vr: .PN)
        ds.setString("HELLO001", for: .patientID, vr: .LO)
        ds.setString("19700101", for: .patientBirthDate, vr: .DA)
        ds.setString("M", for: .patientSex, vr: .CS)
        ds.setString(study, for: .studyInstanceUID, vr: .UI)
        ds.setString(study + ".1", for: .seriesInstanceUID, vr: .UI)
        ds.setString("1", for: .studyID, vr: .SH)
        ds.setString("1", for: .seriesNumber, vr: .IS)
        ds.setString("1", for: .instanceNumber, vr: .IS)
        ds.setUInt16(1, for: .samplesPerPixel)
        ds.setString("MONOCHROME2", for: .photometricInterpretation, vr: .CS)
        ds.setUInt16(rows, for: .rows)
        ds.setUInt16(columns, for: .columns)
        ds.setUInt16(8, for: .bitsAllocated)
        ds.setUInt16(8, for: .bitsStored)
        ds.setUInt16(7, for: .highBit)
        ds.setUInt16(0, for: .pixelRepresentation)
        // A diagonal gradient, so a viewer shows something.
        var pixels = [UInt8](repeating: 0, count: Int(rows) * Int(columns))
        for r in 0..<Int(rows) {
            for c in 0..<Int(columns) { pixels[r * Int(columns) + c] = UInt8(truncatingIfNeeded: (r + c) * 2) }
        }
        if pixels.count % 2 == 1 { pixels.append(0) }
        ds.set(Element(tag: .pixelData, vr: .OB, bytes: pixels))
        return DICOMFile(dataSet: ds)
    }
}
