/// A DICOM attribute tag: group and element, ordered as DICOM orders them.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ group: UInt16, _ element: UInt16) {
        self.rawValue = UInt32(group) << 16 | UInt32(element)
    }

    @inlinable public var group: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }
    @inlinable public var element: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// Odd groups are private (PS3.5 7.8); groups 1, 3, 5, 7 and FFFF are not usable as private groups.
    @inlinable public var isPrivate: Bool { group & 1 == 1 && group > 0x0007 && group != 0xFFFF }
    /// A private creator element (gggg,0010-00FF).
    @inlinable public var isPrivateCreator: Bool { isPrivate && element >= 0x0010 && element <= 0x00FF }
    /// Group length elements (gggg,0000).
    @inlinable public var isGroupLength: Bool { element == 0 }
    @inlinable public var isFileMeta: Bool { group == 0x0002 }
    /// Item, Item Delimitation and Sequence Delimitation tags (FFFE,E000/E00D/E0DD).
    @inlinable public var isDelimiter: Bool { group == 0xFFFE }

    @inlinable public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `(0010,0010)` as dcmdump prints it, lowercase hex.
    public var description: String {
        "(" + Self.hex4(group) + "," + Self.hex4(element) + ")"
    }

    static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}

extension Tag {
    public static let item = Tag(0xFFFE, 0xE000)
    public static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)
    public static let pixelData = Tag(0x7FE0, 0x0010)
    public static let floatPixelData = Tag(0x7FE0, 0x0008)
    public static let doubleFloatPixelData = Tag(0x7FE0, 0x0009)
    public static let dataSetTrailingPadding = Tag(0xFFFC, 0xFFFC)

    public static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    public static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    public static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    public static let transferSyntaxUID = Tag(0x0002, 0x0010)
    public static let implementationClassUID = Tag(0x0002, 0x0012)
    public static let implementationVersionName = Tag(0x0002, 0x0013)
    public static let sourceApplicationEntityTitle = Tag(0x0002, 0x0016)

    public static let specificCharacterSet = Tag(0x0008, 0x0005)
    public static let imageType = Tag(0x0008, 0x0008)
    public static let sopClassUID = Tag(0x0008, 0x0016)
    public static let sopInstanceUID = Tag(0x0008, 0x0018)
    public static let studyDate = Tag(0x0008, 0x0020)
    public static let seriesDate = Tag(0x0008, 0x0021)
    public static let contentDate = Tag(0x0008, 0x0023)
    public static let studyTime = Tag(0x0008, 0x0030)
    public static let seriesTime = Tag(0x0008, 0x0031)
    public static let contentTime = Tag(0x0008, 0x0033)
    public static let accessionNumber = Tag(0x0008, 0x0050)
    public static let modality = Tag(0x0008, 0x0060)
    public static let conversionType = Tag(0x0008, 0x0064)
    public static let referringPhysicianName = Tag(0x0008, 0x0090)
    public static let studyDescription = Tag(0x0008, 0x1030)
    public static let seriesDescription = Tag(0x0008, 0x103E)
    public static let modalitiesInStudy = Tag(0x0008, 0x0061)

    public static let patientName = Tag(0x0010, 0x0010)
    public static let patientID = Tag(0x0010, 0x0020)
    public static let issuerOfPatientID = Tag(0x0010, 0x0021)
    public static let patientBirthDate = Tag(0x0010, 0x0030)
    public static let patientSex = Tag(0x0010, 0x0040)

    public static let bodyPartExamined = Tag(0x0018, 0x0015)

    public static let studyInstanceUID = Tag(0x0020, 0x000D)
    public static let seriesInstanceUID = Tag(0x0020, 0x000E)
    public static let studyID = Tag(0x0020, 0x0010)
    public static let seriesNumber = Tag(0x0020, 0x0011)
    public static let instanceNumber = Tag(0x0020, 0x0013)

    public static let samplesPerPixel = Tag(0x0028, 0x0002)
    public static let photometricInterpretation = Tag(0x0028, 0x0004)
    public static let planarConfiguration = Tag(0x0028, 0x0006)
    public static let numberOfFrames = Tag(0x0028, 0x0008)
    public static let rows = Tag(0x0028, 0x0010)
    public static let columns = Tag(0x0028, 0x0011)
    public static let bitsAllocated = Tag(0x0028, 0x0100)
    public static let bitsStored = Tag(0x0028, 0x0101)
    public static let highBit = Tag(0x0028, 0x0102)
    public static let pixelRepresentation = Tag(0x0028, 0x0103)

    // Command set (PS3.7 E.1)
    public static let commandGroupLength = Tag(0x0000, 0x0000)
    public static let affectedSOPClassUID = Tag(0x0000, 0x0002)
    public static let requestedSOPClassUID = Tag(0x0000, 0x0003)
    public static let commandField = Tag(0x0000, 0x0100)
    public static let messageID = Tag(0x0000, 0x0110)
    public static let messageIDBeingRespondedTo = Tag(0x0000, 0x0120)
    public static let moveDestination = Tag(0x0000, 0x0600)
    public static let priority = Tag(0x0000, 0x0700)
    public static let commandDataSetType = Tag(0x0000, 0x0800)
    public static let status = Tag(0x0000, 0x0900)
    public static let offendingElement = Tag(0x0000, 0x0901)
    public static let errorComment = Tag(0x0000, 0x0902)
    public static let errorID = Tag(0x0000, 0x0903)
    public static let affectedSOPInstanceUID = Tag(0x0000, 0x1000)
    public static let requestedSOPInstanceUID = Tag(0x0000, 0x1001)
    public static let moveOriginatorApplicationEntityTitle = Tag(0x0000, 0x1030)
    public static let moveOriginatorMessageID = Tag(0x0000, 0x1031)
    public static let eventTypeID = Tag(0x0000, 0x1002)
    public static let actionTypeID = Tag(0x0000, 0x1008)
    public static let numberOfRemainingSubOperations = Tag(0x0000, 0x1020)
    public static let numberOfCompletedSubOperations = Tag(0x0000, 0x1021)
    public static let numberOfFailedSubOperations = Tag(0x0000, 0x1022)
    public static let numberOfWarningSubOperations = Tag(0x0000, 0x1023)

    // Query/Retrieve and Storage Commitment (PS3.4 C, J)
    public static let queryRetrieveLevel = Tag(0x0008, 0x0052)
    public static let retrieveAETitle = Tag(0x0008, 0x0054)
    public static let instanceAvailability = Tag(0x0008, 0x0056)
    public static let failedSOPInstanceUIDList = Tag(0x0008, 0x0058)
    public static let sopClassesInStudy = Tag(0x0008, 0x0062)
    public static let referencedSOPClassUID = Tag(0x0008, 0x1150)
    public static let referencedSOPInstanceUID = Tag(0x0008, 0x1155)
    public static let failureReason = Tag(0x0008, 0x1197)
    public static let failedSOPSequence = Tag(0x0008, 0x1198)
    public static let referencedSOPSequence = Tag(0x0008, 0x1199)
    public static let transactionUID = Tag(0x0008, 0x1195)
    public static let retrieveURL = Tag(0x0008, 0x1190)
    public static let timezoneOffsetFromUTC = Tag(0x0008, 0x0201)
    public static let otherPatientIDs = Tag(0x0010, 0x1000)
    public static let numberOfPatientRelatedStudies = Tag(0x0020, 0x1200)
    public static let numberOfPatientRelatedSeries = Tag(0x0020, 0x1202)
    public static let numberOfPatientRelatedInstances = Tag(0x0020, 0x1204)
    public static let numberOfStudyRelatedSeries = Tag(0x0020, 0x1206)
    public static let numberOfStudyRelatedInstances = Tag(0x0020, 0x1208)
    public static let numberOfSeriesRelatedInstances = Tag(0x0020, 0x1209)
}
