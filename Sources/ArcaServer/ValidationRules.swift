import Archive
import DICOM
import DICOMNetwork

/// Pre-store checks (the seed's pre-store handler, made configurable). A failed rule answers 0xC001 and names
/// itself; UIDs that disagree with the command, or cannot name a file, answer 0xC000.
public struct ValidationRules: Sendable, Codable, Equatable {
    public var requirePatientID: Bool
    /// Empty: any modality.
    public var allowedModalities: [String]
    /// Empty: any calling AE title.
    public var allowedCallingAETitles: [String]

    public init(requirePatientID: Bool = true, allowedModalities: [String] = [], allowedCallingAETitles: [String] = []) {
        self.requirePatientID = requirePatientID
        self.allowedModalities = allowedModalities
        self.allowedCallingAETitles = allowedCallingAETitles
    }

    public static let `default` = ValidationRules()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case requirePatientID = "require_patient_id"
        case allowedModalities = "allowed_modalities"
        case allowedCallingAETitles = "allowed_calling_ae_titles"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requirePatientID = try c.decodeIfPresent(Bool.self, forKey: .requirePatientID) ?? true
        allowedModalities = try c.decodeIfPresent([String].self, forKey: .allowedModalities) ?? []
        allowedCallingAETitles = try c.decodeIfPresent([String].self, forKey: .allowedCallingAETitles) ?? []
    }

    /// The first problem, or nil when the instance may be stored.
    public func check(_ a: InstanceAttributes, request: StoreRequest) -> ArchiveError? {
        if a.sopInstanceUID != request.sopInstanceUID {
            return .invalidUID("SOP Instance UID in dataset (\(a.sopInstanceUID)) differs from the command's")
        }
        if !a.sopClassUID.isEmpty && a.sopClassUID != request.sopClassUID {
            return .invalidUID("SOP Class UID in dataset (\(a.sopClassUID)) differs from the command's")
        }
        for (uid, name) in [(a.studyInstanceUID, "Study Instance UID"), (a.seriesInstanceUID, "Series Instance UID")]
        where !UIDString.isValid(uid) {
            return .invalidUID("missing or invalid \(name)")
        }
        if requirePatientID && a.patientID.isEmpty {
            return .rejected("rule require_patient_id: Patient ID (0010,0020) is empty")
        }
        if !allowedModalities.isEmpty && !allowedModalities.contains(a.modality) {
            return .rejected("rule allowed_modalities: modality '\(a.modality)' is not allowed")
        }
        if !allowedCallingAETitles.isEmpty && !allowedCallingAETitles.contains(request.callingAETitle) {
            return .rejected("rule allowed_calling_ae_titles: '\(request.callingAETitle)' may not store")
        }
        return nil
    }
}

