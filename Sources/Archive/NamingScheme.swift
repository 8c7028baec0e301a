import DICOM

/// How an instance's file is named inside the archive. Only valid UIDs (digits and dots, 1–64 characters)
/// become path components, so no value from the network can climb out of the archive or bloat its tree.
public enum NamingScheme: String, Sendable, CaseIterable, Codable {
    /// `{StudyUID}/{SeriesUID}/{SOPUID}.dcm`
    case uidHierarchical = "uid_hierarchical"
    /// `YYYY/MM/DD/{StudyUID}/{SOPUID}.dcm` from StudyDate; `undated/{StudyUID}/…` without a usable date.
    case dateHierarchical = "date_hierarchical"
    /// `{SOPUID}.dcm`
    case flat

    /// The path relative to the archive root.
    public func relativePath(for a: InstanceAttributes, fileExtension: String = ".dcm") throws -> String {
        let sop = try Self.component(a.sopInstanceUID, "SOP Instance UID")
        let file = sop + Self.safeExtension(fileExtension)
        switch self {
        case .flat:
            return file
        case .uidHierarchical:
            return try Self.component(a.studyInstanceUID, "Study Instance UID") + "/"
                + Self.component(a.seriesInstanceUID, "Series Instance UID") + "/" + file
        case .dateHierarchical:
            let study = try Self.component(a.studyInstanceUID, "Study Instance UID")
            guard let date = DICOMDate(a.studyDate) else { return "undated/" + study + "/" + file }
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let year = String(repeating: "0", count: max(0, 4 - String(date.year).count)) + String(date.year)
            return year + "/" + two(date.month) + "/" + two(date.day) + "/" + study + "/" + file
        }
    }

    static func component(_ uid: String, _ what: String) throws -> String {
        guard UIDString.isValid(uid) else {
            let shown = uid.count > 40 ? String(uid.prefix(40)) + "…" : uid
            throw ArchiveError.invalidUID("invalid \(what) '\(shown)'")
        }
        return uid
    }

    /// An extension is a dot and a few letters or digits; anything else falls back to `.dcm`.
    static func safeExtension(_ ext: String) -> String {
        if ext.isEmpty { return "" }
        let body = ext.hasPrefix(".") ? ext.dropFirst() : Substring(ext)
        guard !body.isEmpty, body.count <= 16, body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return ".dcm" }
        return "." + body
    }
}

/// What to do when a SOP Instance UID is already archived.
public enum DuplicatePolicy: String, Sendable, CaseIterable, Codable {
    /// Answer 0x0111 and change nothing.
    case reject
    /// Atomically replace the stored file; the index follows.
    case replace
    /// Answer success and change nothing.
    case ignore
}
