import DICOM
import Foundation
import Testing

@testable import DICOMweb

/// The DICOM JSON model (PS3.18 F) as the encoder writes it, read back with Foundation's JSON parser: every
/// kind of value, and text that must be escaped.
@Suite struct DICOMJSONTests {
    static func parse(_ json: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        return try #require(object as? [String: Any])
    }

    static func values(_ object: [String: Any], _ key: String) -> [Any]? {
        (object[key] as? [String: Any])?["Value"] as? [Any]
    }

    @Test func everyKindOfValue() throws {
        var ds = DataSet(characterSet: SpecificCharacterSet("ISO_IR 192"))
        ds.setString("DOE^JOHN==DOH^JON", for: .patientName, vr: .PN)
        ds.setString("Grüße", for: .studyDescription, vr: .LO)
        ds.setString("12", for: .seriesNumber, vr: .IS)
        ds.setString("1.5\\-2", for: Tag(0x0028, 0x0030), vr: .DS)
        ds.setString("ORIGINAL\\\\AXIAL", for: Tag(0x0008, 0x0008), vr: .CS)
        ds.setString("say \"hi\"\\\n\t\u{1}", for: Tag(0x0020, 0x4000), vr: .LT)
        ds.set(Element(tag: .rows, vr: .US, bytes: [0x00, 0x02]))
        ds.set(Element(tag: Tag(0x0018, 0x1310), vr: .US, bytes: [1, 0, 2, 0, 3, 0, 4, 0]))
        ds.set(Element(tag: Tag(0x0020, 0x9165), vr: .AT, bytes: [0x20, 0x00, 0x32, 0x00]))
        ds.set(Element(tag: Tag(0x0009, 0x1001), vr: .OB, bytes: [1, 2, 3, 4]))
        ds.set(Element(tag: Tag(0x0009, 0x1002), vr: .OB, bytes: [UInt8](repeating: 7, count: 400)))
        ds.setString("", for: .accessionNumber, vr: .SH)
        var item = DataSet()
        item.setString("CT", for: .modality, vr: .CS)
        ds.set(Element(tag: Tag(0x0040, 0x0275), vr: .SQ, value: .sequence(SequenceValue(items: [SequenceItem(dataSet: item)]))))
        let encoder = DICOMJSONEncoder(inlineLimit: 256) { "http://x/bulk/" + DICOMJSONEncoder.key($0) }
        let json = try Self.parse(encoder.encode(ds))

        let name = try #require(Self.values(json, "00100010")?.first as? [String: String])
        #expect(name == ["Alphabetic": "DOE^JOHN", "Phonetic": "DOH^JON"])
        #expect(Self.values(json, "00081030") as? [String] == ["Grüße"])
        #expect(Self.values(json, "00200011") as? [Int] == [12])
        #expect(Self.values(json, "00280030") as? [Double] == [1.5, -2])
        let types = try #require(Self.values(json, "00080008"))
        #expect(types.count == 3 && types[0] as? String == "ORIGINAL" && types[1] is NSNull && types[2] as? String == "AXIAL")
        #expect(Self.values(json, "00204000") as? [String] == ["say \"hi\"\\\n\t\u{1}"])
        #expect(Self.values(json, "00280010") as? [Int] == [512])
        #expect(Self.values(json, "00181310") as? [Int] == [1, 2, 3, 4])
        #expect(Self.values(json, "00209165") as? [String] == ["00200032"])
        #expect((json["00091001"] as? [String: Any])?["InlineBinary"] as? String == "AQIDBA==")
        #expect((json["00091002"] as? [String: Any])?["BulkDataURI"] as? String == "http://x/bulk/00091002")
        #expect((json["00080050"] as? [String: Any])?.keys.sorted() == ["vr"])
        let items = try #require(Self.values(json, "00400275") as? [[String: Any]])
        #expect(Self.values(items[0], "00080060") as? [String] == ["CT"])
        #expect((json["00100010"] as? [String: Any])?["vr"] as? String == "PN")
    }

    @Test func aListIsAnArray() throws {
        var a = DataSet(), b = DataSet()
        a.setString("1.2.3", for: .studyInstanceUID, vr: .UI)
        b.setString("1.2.4", for: .studyInstanceUID, vr: .UI)
        let parsed = try JSONSerialization.jsonObject(with: Data(DICOMJSONEncoder().encode([a, b]).utf8)) as? [[String: Any]]
        #expect(parsed?.compactMap { Self.values($0, "0020000D")?.first as? String } == ["1.2.3", "1.2.4"])
        #expect(DICOMJSONEncoder().encode([]) == "[]")
    }

    /// An answer written from its elements (QIDO-RS's path: unpadded, in tag order) is the JSON of the dataset
    /// that holds them padded (the path of an answer that needs a character set or a sequence).
    @Test func elementsWriteAsTheirDataSet() throws {
        let texts = ["", "Doe^John", "1.2.840.10008.1.2", "A\\B", "12\\-3", "1.5", "+12", "20240115-20240131", "say \"hi\"", "a\u{1}b"]
        let vrs: [VR] = [.AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT]
        for text in texts {
            // A file meta element and a group length, which the JSON model leaves out either way.
            var elements = [Element(tag: Tag(0x0002, 0x0010), vr: .UI, bytes: Array("1.2.840.10008.1.2.1".utf8)),
                            Element(tag: Tag(0x0011, 0x0000), vr: .UL, bytes: [4, 0, 0, 0])]
            for (i, vr) in vrs.enumerated() {
                elements.append(Element(tag: Tag(0x0011, 0x1010 + UInt16(i)), vr: vr, bytes: Array(text.utf8)))
            }
            elements.append(Element(tag: Tag(0x0011, 0x1100), vr: .US, bytes: [0x00, 0x02, 0x01, 0x00]))
            elements.append(Element(tag: Tag(0x0011, 0x1101), vr: .US, bytes: []))
            var ds = DataSet()
            for e in elements {
                ds.set(Element(tag: e.tag, vr: e.vr, bytes: e.bytes.count % 2 == 1 ? e.bytes + [e.vr.paddingByte] : e.bytes))
            }
            var viaElements: [UInt8] = [], viaDataSet: [UInt8] = []
            DICOMJSONEncoder().write(elements: elements, into: &viaElements)
            DICOMJSONEncoder().write(ds, into: &viaDataSet)
            #expect(String(decoding: viaElements, as: UTF8.self) == String(decoding: viaDataSet, as: UTF8.self), "\(text)")
            _ = try Self.parse(String(decoding: viaElements, as: UTF8.self))
        }
    }

    /// Text values are written from their bytes when they are plain ASCII: wherever that path answers, it
    /// writes what decoding, splitting and trimming them as Strings writes, for every string VR; and it declines
    /// what needs escaping, a character set, or reformatting.
    @Test func asciiValuesWriteAsTheGeneralPath() throws {
        let values = ["", " ", "Doe^John", "  Doe^John  ", "Doe^John=Yamada", "1.2.840.10008.1.2\0", "1.2.3\0\0",
                      "A\\B", "\\", "A\\", " x \\ y ", "12", "+12", "-0", "007", "12\\-3", "1.5", "99999999999999999999",
                      "say \"hi\"", "tab\there", "a\0b", "\0lead", "20240115", "ISO_IR 100", "Müller", "CT\\SR"]
        let vrs: [VR] = [.AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT]
        var fast = 0
        for text in values {
            for vr in vrs {
                let bytes = Array(text.utf8) + (text.utf8.count % 2 == 1 ? [vr.paddingByte] : [])
                var viaBytes: [UInt8] = []
                let taken = DICOMJSONEncoder.writeASCIIStrings(bytes, vr, into: &viaBytes)
                var ds = DataSet()
                ds.set(Element(tag: Tag(0x0011, 0x1010), vr: vr, bytes: bytes))
                var general: [UInt8] = []
                DICOMJSONEncoder().writeDecodedStrings(ds[Tag(0x0011, 0x1010)]!, in: ds, into: &general)
                if taken {
                    fast += 1
                    #expect(String(decoding: viaBytes, as: UTF8.self) == String(decoding: general, as: UTF8.self), "\(vr) \(text)")
                } else {
                    #expect(viaBytes.isEmpty)
                }
            }
        }
        #expect(fast > values.count * vrs.count / 2)
        var out: [UInt8] = []
        #expect(!DICOMJSONEncoder.writeASCIIStrings(Array("say \"hi\"".utf8), .LO, into: &out))
        #expect(!DICOMJSONEncoder.writeASCIIStrings(Array("Müller".utf8), .PN, into: &out))
        #expect(!DICOMJSONEncoder.writeASCIIStrings(Array("1.5 ".utf8), .DS, into: &out))
        #expect(out.isEmpty)
    }
}
