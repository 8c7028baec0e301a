import Testing
@testable import DICOM

@Suite struct DataDictionaryTests {
    @Test func knownEntries() throws {
        let pn = try #require(DataDictionary.entry(for: .patientName))
        #expect(pn.vr == .PN && pn.vrs == [.PN] && pn.keyword == "PatientName" && pn.name == "Patient's Name")
        #expect(pn.vm == "1" && !pn.isRetired && pn.tag == .patientName)

        let pixel = try #require(DataDictionary.entry(for: .pixelData))
        #expect(pixel.vrs == [.OB, .OW] && pixel.vr == .OB && pixel.keyword == "PixelData")

        #expect(DataDictionary.entry(for: .rows)?.vrs == [.US])
        #expect(DataDictionary.vr(for: .rows) == .US)
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x1101))?.vrs == [.US, .SS])  // Red Palette Color LUT Descriptor
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x3006))?.vrs == [.US, .OW])  // LUT Data
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x0106))?.vrs == [.US, .SS])  // Smallest Image Pixel Value
        #expect(DataDictionary.entry(for: Tag(0x0008, 0x0070))?.keyword == "Manufacturer")
        #expect(DataDictionary.entry(for: Tag(0x0008, 0x0080))?.vm == "1")
        #expect(DataDictionary.entry(for: Tag(0x0008, 0x0008))?.vm == "2-n")
        #expect(DataDictionary.entry(for: Tag(0x0008, 0x1150))?.vr == .UI)
        #expect(DataDictionary.entry(for: Tag(0x0010, 0x1000))?.isRetired == true)  // Other Patient IDs
        #expect(DataDictionary.entry(for: .item)?.keyword == "Item")
        #expect(DataDictionary.entry(for: .fileMetaInformationGroupLength)?.keyword == "FileMetaInformationGroupLength")
        #expect(DataDictionary.entry(for: .commandGroupLength)?.keyword == "CommandGroupLength")
    }

    @Test func repeatingGroups() throws {
        let overlay = try #require(DataDictionary.entry(for: Tag(0x6002, 0x3000)))
        #expect(overlay.keyword == "OverlayData" && overlay.vrs == [.OB, .OW] && overlay.tag == Tag(0x6000, 0x3000))
        #expect(DataDictionary.vr(for: Tag(0x601E, 0x0010)) == .US)  // Overlay Rows

        let curve = try #require(DataDictionary.entry(for: Tag(0x5004, 0x0010)))
        #expect(curve.keyword == "NumberOfPoints" && curve.vr == .US && curve.isRetired && curve.tag == Tag(0x5000, 0x0010))

        #expect(DataDictionary.entry(for: Tag(0x7F02, 0x0010))?.keyword == "VariablePixelData")
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x0412))?.keyword == "CoefficientCoding")  // (0028,04x2)
        #expect(DataDictionary.entry(for: Tag(0x0020, 0x3105))?.keyword == "SourceImageIDs")  // (0020,31xx)
        #expect(DataDictionary.entry(for: Tag(0x1000, 0x1235))?.keyword == "ShiftTableTriplet")  // (1000,xxx5)
        #expect(DataDictionary.entry(for: Tag(0x1010, 0x1234))?.keyword == "ZonalMap")  // (1010,xxxx)
        #expect(DataDictionary.entry(forKeyword: "OverlayData")?.tag == Tag(0x6000, 0x3000))
    }

    /// The VR implicit VR data is read with, from the fast table, is the dictionary's for every standard tag:
    /// "US or SS" by the pixels' sign, "OB or OW" (and other choices with OW) as OW, else the first VR.
    @Test func implicitVRMatchesTheDictionary() {
        for entry in DataDictionary.standard.exact.values where entry.tag != .pixelData && !entry.tag.isGroupLength {
            for signed in [false, true] {
                let vrs = entry.vrs
                let expected: VR = vrs.contains(.US) && vrs.contains(.SS) ? (signed ? .SS : .US)
                    : vrs.count > 1 && vrs.contains(.OW) ? .OW : entry.vr
                #expect(DataSetParser.implicitVR(for: entry.tag, signedPixels: signed) == expected, "\(entry.tag) \(entry.keyword)")
            }
        }
        #expect(DataSetParser.implicitVR(for: Tag(0x6002, 0x3000), signedPixels: false) == .OW)  // repeating: Overlay Data
        #expect(DataSetParser.implicitVR(for: Tag(0x0029, 0x1010), signedPixels: false) == .UN)  // private
    }

    @Test func keywordLookup() {
        #expect(DataDictionary.entry(forKeyword: "PatientName")?.tag == .patientName)
        #expect(DataDictionary.entry(forKeyword: "PixelData")?.tag == .pixelData)
        #expect(DataDictionary.entry(forKeyword: "StudyInstanceUID")?.tag == .studyInstanceUID)
        #expect(DataDictionary.entry(forKeyword: "TransferSyntaxUID")?.tag == .transferSyntaxUID)
        #expect(DataDictionary.entry(forKeyword: "NoSuchKeyword") == nil)
        #expect(DataDictionary.entry(forKeyword: "") == nil)
    }

    @Test func groupLengthAndPrivateCreator() throws {
        let gl = try #require(DataDictionary.entry(for: Tag(0x0010, 0x0000)))
        #expect(gl.vr == .UL && gl.keyword == "GroupLength" && gl.tag == Tag(0x0010, 0x0000))
        #expect(DataDictionary.vr(for: Tag(0x0028, 0x0000)) == .UL)
        #expect(DataDictionary.vr(for: Tag(0x0009, 0x0000)) == .UL)

        let pc = try #require(DataDictionary.entry(for: Tag(0x0029, 0x0010)))
        #expect(pc.vr == .LO && pc.keyword == "PrivateCreator")
        #expect(DataDictionary.vr(for: Tag(0x0009, 0x00FF)) == .LO)
        #expect(DataDictionary.vr(for: Tag(0x0029, 0x1010)) == .UN)
        #expect(DataDictionary.entry(for: Tag(0x0029, 0x1010)) == nil)
    }

    @Test func unknownTagsAreUN() {
        #expect(DataDictionary.entry(for: Tag(0x0010, 0x0011)) == nil)
        #expect(DataDictionary.vr(for: Tag(0x0010, 0x0011)) == .UN)
        #expect(DataDictionary.vr(for: Tag(0x0029, 0x1110)) == .UN)
        #expect(DataDictionary.vr(for: Tag(0x6001, 0x3000)) == .UN)  // odd: private, not an overlay
        #expect(DataDictionary.vr(for: Tag(0xABCD, 0x1234)) == .UN)
    }

    @Test func privateDictionary() throws {
        let csa = try #require(DataDictionary.privateEntry(creator: "SIEMENS CSA HEADER", tag: Tag(0x0029, 0x1010)))
        #expect(csa.name == "CSA Image Header Info" && csa.vr == .OB)
        // Block-relative: any block byte, and the creator is trimmed.
        #expect(DataDictionary.privateEntry(creator: "SIEMENS CSA HEADER ", tag: Tag(0x0029, 0x1110))?.name == "CSA Image Header Info")
        #expect(DataDictionary.privateEntry(creator: "GEMS_ACQU_01", tag: Tag(0x0019, 0x10BB)) != nil)
        #expect(DataDictionary.privateEntry(creator: "No Such Creator", tag: Tag(0x0029, 0x1010)) == nil)
        #expect(DataDictionary.privateEntry(creator: "SIEMENS CSA HEADER", tag: Tag(0x0029, 0x10FE)) == nil)
        #expect(DataDictionary.privateCreators.count > 400)
    }

    @Test func entryCounts() {
        let all = DataDictionary.allEntries
        #expect(all.count > 4000)
        #expect(all.allSatisfy { !$0.vrs.isEmpty })
        // The fast VR table agrees with the entries.
        #expect(all.allSatisfy { DataDictionary.vr(for: $0.tag) == DataDictionary.entry(for: $0.tag)?.vr })
        // Only the repeating (0028,04x0-04x3) share their zero-x tag with exact entries (0028,0400-0403);
        // exact entries win.
        #expect(Set(all.map(\.tag)).count == all.count - 4)
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x0400))?.keyword == "TransformLabel")
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x0410))?.keyword == "RowsForNthOrderCoefficients")
    }

    @Test func uidLookups() throws {
        let evrle = try #require(UIDRegistry.entry(for: "1.2.840.10008.1.2.1"))
        #expect(evrle.kind == .transferSyntax && evrle.keyword == "ExplicitVRLittleEndian" && !evrle.isStorage)
        #expect(UIDRegistry.entry(for: "1.2.840.10008.1.2.1\0")?.uid == "1.2.840.10008.1.2.1")
        #expect(UIDRegistry.entry(for: "1.2.840.10008.1.2 ")?.keyword == "ImplicitVRLittleEndian")
        #expect(UIDRegistry.transferSyntaxes.contains { $0.uid == "1.2.840.10008.1.2.4.50" })
        #expect(UIDRegistry.transferSyntaxes.allSatisfy { $0.kind == .transferSyntax })

        let ct = try #require(UIDRegistry.entry(for: "1.2.840.10008.5.1.4.1.1.2"))
        #expect(ct.kind == .sopClass && ct.isStorage && ct.name == "CT Image Storage")
        #expect(UIDRegistry.isStorageSOPClass("1.2.840.10008.5.1.4.1.1.2"))
        #expect(UIDRegistry.isStorageSOPClass("1.2.840.10008.5.1.4.1.1.1.1.1"))  // Digital X-Ray - For Processing
        #expect(UIDRegistry.isStorageSOPClass("1.2.840.10008.5.1.4.1.1.6"))  // Ultrasound Image Storage (Retired)
        #expect(UIDRegistry.isStorageSOPClass("1.2.840.10008.5.1.4.1.1.66.7"))  // Label Map Segmentation (supplemental)
        #expect(!UIDRegistry.isStorageSOPClass("1.2.840.10008.1.20.1"))  // Storage Commitment Push Model
        #expect(UIDRegistry.entry(for: "1.2.840.10008.1.20.1")?.kind == .sopClass)
        #expect(!UIDRegistry.isStorageSOPClass("1.2.840.10008.1.1"))  // Verification
        #expect(!UIDRegistry.isStorageSOPClass("1.2.840.10008.4.2"))  // Storage Service Class
        #expect(!UIDRegistry.isStorageSOPClass("1.2.840.10008.1.3.10"))  // Media Storage Directory Storage
        #expect(!UIDRegistry.isStorageSOPClass("1.2.840.10008.5.1.4.1.2.2.1"))  // Study Root Q/R Find
        #expect(!UIDRegistry.isStorageSOPClass("1.2.3.4"))
        #expect(UIDRegistry.entry(for: "1.2.840.10008.3.1.1.1")?.kind == .applicationContextName)
        #expect(UIDRegistry.entry(for: "1.2.840.10008.1.2.5")?.isRetired == false)
        #expect(UIDRegistry.allEntries.count > 450)
    }

    /// 208 = pynetdicom 3.0.4's 170 `_STORAGE_CLASSES` + 9 non-patient object storage classes
    /// + 20 retired storage classes + 7 DICOS + 2 DICONDE (see `UIDEntry.isStorage`).
    @Test func storageSetSize() {
        let storage = UIDRegistry.storageSOPClasses
        #expect(storage.count == 170 + 9 + 20 + 7 + 2)
        #expect(storage.filter(\.isRetired).count == 20)
        #expect(storage.allSatisfy { $0.kind == .sopClass && $0.name.contains("Storage") && !$0.name.contains("Commitment") })
        #expect(UIDRegistry.transferSyntaxes.count >= 59)
    }
}
