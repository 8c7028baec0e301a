/// Command Field (0000,0100) values (PS3.7 E.1).
public struct CommandField: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let cStoreRQ = CommandField(rawValue: 0x0001)
    public static let cStoreRSP = CommandField(rawValue: 0x8001)
    public static let cGetRQ = CommandField(rawValue: 0x0010)
    public static let cGetRSP = CommandField(rawValue: 0x8010)
    public static let cFindRQ = CommandField(rawValue: 0x0020)
    public static let cFindRSP = CommandField(rawValue: 0x8020)
    public static let cMoveRQ = CommandField(rawValue: 0x0021)
    public static let cMoveRSP = CommandField(rawValue: 0x8021)
    public static let cEchoRQ = CommandField(rawValue: 0x0030)
    public static let cEchoRSP = CommandField(rawValue: 0x8030)
    public static let cCancelRQ = CommandField(rawValue: 0x0FFF)
    public static let nEventReportRQ = CommandField(rawValue: 0x0100)
    public static let nEventReportRSP = CommandField(rawValue: 0x8100)
    public static let nGetRQ = CommandField(rawValue: 0x0110)
    public static let nSetRQ = CommandField(rawValue: 0x0120)
    public static let nActionRQ = CommandField(rawValue: 0x0130)
    public static let nActionRSP = CommandField(rawValue: 0x8130)
    public static let nCreateRQ = CommandField(rawValue: 0x0140)
    public static let nDeleteRQ = CommandField(rawValue: 0x0150)

    public var isResponse: Bool { rawValue & 0x8000 != 0 }
    /// N-EVENT-REPORT … N-DELETE (PS3.7 10): their statuses are PS3.7 C.4's, not the C-services'.
    public var isNormalized: Bool { rawValue & 0x7FFF >= 0x0100 && rawValue & 0x7FFF <= 0x0150 }
    /// The response field of a request field (C-FIND-RQ → C-FIND-RSP).
    public var response: CommandField { CommandField(rawValue: rawValue | 0x8000) }

    public var description: String {
        switch self {
        case .cStoreRQ: return "C-STORE-RQ"
        case .cStoreRSP: return "C-STORE-RSP"
        case .cGetRQ: return "C-GET-RQ"
        case .cGetRSP: return "C-GET-RSP"
        case .cFindRQ: return "C-FIND-RQ"
        case .cFindRSP: return "C-FIND-RSP"
        case .cMoveRQ: return "C-MOVE-RQ"
        case .cMoveRSP: return "C-MOVE-RSP"
        case .cEchoRQ: return "C-ECHO-RQ"
        case .cEchoRSP: return "C-ECHO-RSP"
        case .cCancelRQ: return "C-CANCEL-RQ"
        case .nEventReportRQ: return "N-EVENT-REPORT-RQ"
        case .nEventReportRSP: return "N-EVENT-REPORT-RSP"
        case .nGetRQ: return "N-GET-RQ"
        case .nSetRQ: return "N-SET-RQ"
        case .nActionRQ: return "N-ACTION-RQ"
        case .nActionRSP: return "N-ACTION-RSP"
        case .nCreateRQ: return "N-CREATE-RQ"
        case .nDeleteRQ: return "N-DELETE-RQ"
        default: return "command 0x" + String(rawValue, radix: 16)
        }
    }
}

/// DIMSE status codes (PS3.7 C, PS3.4 B.2.3) Arca sends or reads.
public struct DIMSEStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let success = DIMSEStatus(rawValue: 0x0000)
    /// Storage: the SOP Instance already exists (the duplicate policy refused it).
    public static let duplicateSOPInstance = DIMSEStatus(rawValue: 0x0111)
    public static let noSuchSOPClass = DIMSEStatus(rawValue: 0x0118)
    public static let outOfResources = DIMSEStatus(rawValue: 0xA700)
    /// The N-services' "Resource Limitation" (PS3.7 C.5.21): what 0xA700 is to the C-services.
    public static let resourceLimitation = DIMSEStatus(rawValue: 0x0213)
    public static let dataSetDoesNotMatchSOPClass = DIMSEStatus(rawValue: 0xA900)
    public static let cannotUnderstand = DIMSEStatus(rawValue: 0xC000)
    /// Arca's "storage rejected or failed" (a validation rule, an I/O error) in the storage-specific range.
    public static let storageFailed = DIMSEStatus(rawValue: 0xC001)
    public static let unrecognizedOperation = DIMSEStatus(rawValue: 0x0211)
    public static let processingFailure = DIMSEStatus(rawValue: 0x0110)
    /// N-ACTION / storage commitment: the referenced instance is not there.
    public static let noSuchObjectInstance = DIMSEStatus(rawValue: 0x0112)
    public static let classInstanceConflict = DIMSEStatus(rawValue: 0x0119)
    public static let sopClassNotSupported = DIMSEStatus(rawValue: 0x0122)
    /// Refused: the requestor is not authorized to invoke this operation (PS3.7 C.5, general status).
    public static let notAuthorized = DIMSEStatus(rawValue: 0x0124)
    /// C-FIND/C-MOVE/C-GET: more responses follow.
    public static let pending = DIMSEStatus(rawValue: 0xFF00)
    /// C-FIND: pending, and one or more optional keys were not supported.
    public static let pendingWithWarning = DIMSEStatus(rawValue: 0xFF01)
    /// The operation stopped on the requestor's C-CANCEL.
    public static let cancel = DIMSEStatus(rawValue: 0xFE00)
    /// C-MOVE/C-GET: refused, the number of matches could not be determined.
    public static let unableToCalculateMatches = DIMSEStatus(rawValue: 0xA701)
    /// C-MOVE/C-GET: refused, no sub-operation could be performed.
    public static let unableToPerformSubOperations = DIMSEStatus(rawValue: 0xA702)
    /// C-MOVE: the destination AE title is not known.
    public static let moveDestinationUnknown = DIMSEStatus(rawValue: 0xA801)
    /// C-FIND/C-MOVE/C-GET: the identifier does not match the SOP class.
    public static let identifierDoesNotMatchSOPClass = DIMSEStatus(rawValue: 0xA900)
    /// C-MOVE/C-GET: every sub-operation done, one or more failed or had warnings.
    public static let subOperationsCompleteWithFailures = DIMSEStatus(rawValue: 0xB000)

    public var isSuccess: Bool { rawValue == 0 }
    /// Warnings: 0001, Bxxx (PS3.7 C.3).
    public var isWarning: Bool { rawValue == 0x0001 || rawValue & 0xF000 == 0xB000 }

    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        let code = "0x" + String(repeating: "0", count: 4 - hex.count) + hex
        switch self {
        case .success: return "Success"
        case .duplicateSOPInstance: return "Duplicate SOP Instance (\(code))"
        case .outOfResources: return "Out of Resources (\(code))"
        case .resourceLimitation: return "Resource Limitation (\(code))"
        case .cannotUnderstand: return "Cannot Understand (\(code))"
        case .storageFailed: return "Storage Failed (\(code))"
        case .noSuchSOPClass: return "No Such SOP Class (\(code))"
        case .pending, .pendingWithWarning: return "Pending (\(code))"
        case .cancel: return "Cancel (\(code))"
        case .moveDestinationUnknown: return "Move Destination Unknown (\(code))"
        case .identifierDoesNotMatchSOPClass: return "Identifier Does Not Match SOP Class (\(code))"
        case .subOperationsCompleteWithFailures: return "Sub-operations Complete, One or More Failures (\(code))"
        case .unableToPerformSubOperations: return "Unable to Perform Sub-operations (\(code))"
        case .noSuchObjectInstance: return "No Such Object Instance (\(code))"
        case .notAuthorized: return "Not Authorized (\(code))"
        case .sopClassNotSupported: return "SOP Class Not Supported (\(code))"
        case .unrecognizedOperation: return "Unrecognized Operation (\(code))"
        case .processingFailure: return "Processing Failure (\(code))"
        default: return isWarning ? "Warning (\(code))" : "Status \(code)"
        }
    }
}
