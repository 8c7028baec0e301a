import DICOM
import Testing

@Suite struct DataSetTests {
    /// Specific Character Set takes effect even when an element before it (a group length) was appended first.
    @Test func characterSetAfterGroupLength() throws {
        var ds = DataSet()
        ds.setUInt32(0, for: Tag(0x0008, 0x0000))
        ds.setString("ISO_IR 100", for: .specificCharacterSet, vr: .CS)
        ds.set(Element(tag: .patientName, vr: .PN, bytes: Array("Buc^J".utf8) + [0xE9, 0x72, 0xF4, 0x6D, 0x65, 0x20]))
        #expect(ds.string(.patientName) == "Buc^Jérôme")
    }
}
