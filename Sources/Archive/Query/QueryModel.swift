import DICOM
import Foundation

/// The query/retrieve information models (PS3.4 C.3): which levels exist and which SOP classes name them.
public enum QueryModel: String, Sendable, CaseIterable {
    case patientRoot = "patient"
    case studyRoot = "study"

    public var findSOPClass: String {
        switch self {
        case .patientRoot: return "1.2.840.10008.5.1.4.1.2.1.1"
        case .studyRoot: return "1.2.840.10008.5.1.4.1.2.2.1"
        }
    }

    public var moveSOPClass: String {
        switch self {
        case .patientRoot: return "1.2.840.10008.5.1.4.1.2.1.2"
        case .studyRoot: return "1.2.840.10008.5.1.4.1.2.2.2"
        }
    }

    public var getSOPClass: String {
        switch self {
        case .patientRoot: return "1.2.840.10008.5.1.4.1.2.1.3"
        case .studyRoot: return "1.2.840.10008.5.1.4.1.2.2.3"
        }
    }

    /// Levels from the top of the model down.
    public var levels: [QueryLevel] {
        switch self {
        case .patientRoot: return [.patient, .study, .series, .image]
        case .studyRoot: return [.study, .series, .image]
        }
    }

    /// The level an attribute belongs to in this model: in Study Root, patient attributes are study keys.
    func level(of attributeLevel: QueryLevel) -> QueryLevel {
        self == .studyRoot && attributeLevel == .patient ? .study : attributeLevel
    }

    /// The model a C-FIND/C-MOVE/C-GET SOP Class UID belongs to.
    public init?(sopClassUID uid: String) {
        guard let model = QueryModel.allCases.first(where: { [$0.findSOPClass, $0.moveSOPClass, $0.getSOPClass].contains(uid) }) else {
            return nil
        }
        self = model
    }
}

/// Query/Retrieve Level (0008,0052).
public enum QueryLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case patient = 0, study, series, image

    /// The level named by `text`, in any case, padded or not. Read byte by byte: Foundation's trimming was 5% of
    /// the server's time for a one-answer C-FIND.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0 { end -= 1 }
        guard end - start <= 8 else { return nil }
        let word = String(decoding: bytes[start..<end].map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
        switch word {
        case "PATIENT": self = .patient
        case "STUDY": self = .study
        case "SERIES": self = .series
        case "IMAGE", "INSTANCE": self = .image
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .patient: return "PATIENT"
        case .study: return "STUDY"
        case .series: return "SERIES"
        case .image: return "IMAGE"
        }
    }

    public static func < (a: QueryLevel, b: QueryLevel) -> Bool { a.rawValue < b.rawValue }

    /// The unique key of the level (PS3.4 C.3.1–C.3.4).
    public var uniqueKey: Tag {
        switch self {
        case .patient: return .patientID
        case .study: return .studyInstanceUID
        case .series: return .seriesInstanceUID
        case .image: return .sopInstanceUID
        }
    }
}
