import Foundation
import Archive
import DICOM
import DICOMNetwork
import NIOCore

/// Everything `arca serve` is configured with, from its defaults, the config file and the flags.
public struct ServerSettings: Sendable, Codable, Equatable {
    public var port: Int = 11112
    public var host: String = "0.0.0.0"
    public var aeTitle: String = "STORE_SCP"
    public var archive: String = "./dicom_archive"
    public var naming: NamingScheme = .uidHierarchical
    public var duplicate: DuplicatePolicy = .reject
    public var createDirectories: Bool = true
    public var fileExtension: String = ".dcm"
    /// Where received instances go: Part-10 files, the eDCKV store, or both (`files,dckv`).
    public var store: StoreTargets = .files
    /// Seconds between eDCKV merge passes (in the process holding the archive's merge lock); 0: this process
    /// never merges (another process or `arca dckv merge` does).
    public var mergeIntervalSeconds: Double = 2
    /// Seconds a study must receive nothing before its spooled instances are merged.
    public var mergeAfterSeconds: Double = 3
    /// Maximum PDU length advertised. 128 KiB: larger gains nothing measurable on loopback, and DCMTK and
    /// Orthanc cap theirs there (see docs/ARCHITECTURE.md for the measurement).
    public var maxPDU: UInt32 = 131_072
    public var maxAssociations: Int = 64
    public var maxObjectSize: UInt64 = 4 << 30
    public var idleTimeoutSeconds: Int = 600
    public var artimTimeoutSeconds: Int = 30
    /// Reject associations whose called AE title is not ours.
    public var strictCalledAETitle: Bool = true
    /// Empty: any calling AE title may associate.
    public var allowedCallingAETitles: [String] = []
    /// Accept storage SOP classes the dictionary does not know (private ones).
    public var acceptUnknownSOPClasses: Bool = false
    public var validation: ValidationRules = .default
    public var execOnStore: String?
    /// Command run once a study has received nothing for `stableAfterSeconds`.
    public var execOnStudyStable: String?
    public var stableAfterSeconds: Int = 60
    public var hookTimeoutSeconds: Int = 60
    public var hookConcurrency: Int = 4
    public var shutdownGraceSeconds: Int = 30
    public var logLevel: String = "info"

    public init() {}

    /// Every key is optional: what a config file leaves out keeps its default.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.port, &port)
        try read(.host, &host)
        try read(.aeTitle, &aeTitle)
        try read(.archive, &archive)
        try read(.naming, &naming)
        try read(.duplicate, &duplicate)
        try read(.createDirectories, &createDirectories)
        try read(.fileExtension, &fileExtension)
        try read(.store, &store)
        try read(.mergeIntervalSeconds, &mergeIntervalSeconds)
        try read(.mergeAfterSeconds, &mergeAfterSeconds)
        try read(.maxPDU, &maxPDU)
        try read(.maxAssociations, &maxAssociations)
        try read(.maxObjectSize, &maxObjectSize)
        try read(.idleTimeoutSeconds, &idleTimeoutSeconds)
        try read(.artimTimeoutSeconds, &artimTimeoutSeconds)
        try read(.strictCalledAETitle, &strictCalledAETitle)
        try read(.allowedCallingAETitles, &allowedCallingAETitles)
        try read(.acceptUnknownSOPClasses, &acceptUnknownSOPClasses)
        try read(.validation, &validation)
        execOnStore = try c.decodeIfPresent(String.self, forKey: .execOnStore)
        execOnStudyStable = try c.decodeIfPresent(String.self, forKey: .execOnStudyStable)
        try read(.stableAfterSeconds, &stableAfterSeconds)
        try read(.hookTimeoutSeconds, &hookTimeoutSeconds)
        try read(.hookConcurrency, &hookConcurrency)
        try read(.shutdownGraceSeconds, &shutdownGraceSeconds)
        try read(.logLevel, &logLevel)
        guard (1...65535).contains(port) || port == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .port, in: c, debugDescription: "port \(port) out of range")
        }
        guard maxPDU == 0 || maxPDU >= 4096 else {
            throw DecodingError.dataCorruptedError(forKey: .maxPDU, in: c, debugDescription: "max_pdu below 4096")
        }
    }

    enum CodingKeys: String, CodingKey {
        case port, host, naming, duplicate, archive, validation
        case aeTitle = "ae_title"
        case createDirectories = "create_directories"
        case fileExtension = "file_extension"
        case store
        case mergeIntervalSeconds = "merge_interval"
        case mergeAfterSeconds = "merge_after"
        case maxPDU = "max_pdu"
        case maxAssociations = "max_associations"
        case maxObjectSize = "max_object_size"
        case idleTimeoutSeconds = "idle_timeout"
        case artimTimeoutSeconds = "artim_timeout"
        case strictCalledAETitle = "strict_called_ae_title"
        case allowedCallingAETitles = "allowed_calling_ae_titles"
        case acceptUnknownSOPClasses = "accept_unknown_sop_classes"
        case execOnStore = "exec_on_store"
        case execOnStudyStable = "exec_on_study_stable"
        case stableAfterSeconds = "stable_after"
        case hookTimeoutSeconds = "hook_timeout"
        case hookConcurrency = "hook_concurrency"
        case shutdownGraceSeconds = "shutdown_grace"
        case logLevel = "log_level"
    }

    /// The SCP's negotiation policy: Verification and every storage SOP class (and, when asked, any other
    /// UID that is not a known non-storage class).
    public var associationPolicy: AssociationPolicy {
        let acceptUnknown = acceptUnknownSOPClasses
        return AssociationPolicy(
            aeTitle: aeTitle,
            strictCalledAETitle: strictCalledAETitle,
            allowedCallingAETitles: allowedCallingAETitles.isEmpty ? nil : Set(allowedCallingAETitles),
            acceptedAbstractSyntaxes: { uid in
                if uid == UpperLayerUID.verificationSOPClass || UIDRegistry.isStorageSOPClass(uid) { return true }
                return acceptUnknown && UIDString.isValid(uid) && UIDRegistry.entry(for: uid) == nil
            },
            maxPDULength: maxPDU,
            maxAssociations: maxAssociations,
            asyncOperationsWindow: AsyncOperationsWindow(maxInvoked: 16, maxPerformed: 1))
    }

    public var scpConfiguration: SCPConfiguration {
        SCPConfiguration(host: host, port: port, policy: associationPolicy, maxObjectSize: maxObjectSize,
                         artimTimeout: .seconds(Int64(artimTimeoutSeconds)), idleTimeout: .seconds(Int64(idleTimeoutSeconds)),
                         shutdownGracePeriod: .seconds(Int64(shutdownGraceSeconds)))
    }

    public var archiveConfiguration: FileArchive.Configuration {
        FileArchive.Configuration(root: archive, naming: naming, duplicatePolicy: duplicate,
                                  createDirectories: createDirectories, fileExtension: fileExtension)
    }
}

/// The stores `arca serve` writes each instance into: `files`, `dckv` or `files,dckv`.
public struct StoreTargets: Sendable, Equatable, Codable, CustomStringConvertible {
    public var files: Bool
    public var dckv: Bool

    public static let files = StoreTargets(files: true, dckv: false)
    public static let dckv = StoreTargets(files: false, dckv: true)

    public init(files: Bool, dckv: Bool) {
        self.files = files
        self.dckv = dckv
    }

    /// "files", "dckv", "files,dckv" (either order).
    public init?(_ text: String) {
        var f = false, d = false
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch part {
            case "files": f = true
            case "dckv": d = true
            default: return nil
            }
        }
        guard f || d else { return nil }
        self.init(files: f, dckv: d)
    }

    public var description: String { [files ? "files" : nil, dckv ? "dckv" : nil].compactMap { $0 }.joined(separator: ",") }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text: String
        if let list = try? c.decode([String].self) { text = list.joined(separator: ",") } else { text = try c.decode(String.self) }
        guard let t = StoreTargets(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "store: expected files, dckv or files,dckv; got \(text)")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
