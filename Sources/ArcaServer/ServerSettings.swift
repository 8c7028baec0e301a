import Foundation
import Archive
import ArchiveServices
import DICOM
import DICOMNetwork
import DICOMweb
import Logging
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
    /// When 0x0000 is answered: `strict` once the instance is on the device (one group-committed flush of the
    /// ingest journal), `deferred` once written and indexed (durable within `IngestJournal.deferredBound`).
    public var durability: Durability = .strict
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
    /// Peers by AE title: C-MOVE destinations, storage commitment requestors reported to on a new association.
    public var remotes: [RemoteAE] = []
    /// At most this many C-FIND matches; a query matching more gets the first ones, then 0xA700 saying so.
    public var maxQueryResults: Int = 10_000
    /// `insensitive` (default): person names match regardless of case and accents; `literal`: exactly, unless
    /// the requestor negotiated fuzzy semantic matching.
    public var personNameMatching: PersonNameMatching = .insensitive
    /// Associations a C-MOVE opens to its destination at once.
    public var moveAssociations: Int = 1
    /// The HTTP server (DICOMweb, the web page, /metrics, /health); 0 turns it off.
    public var httpPort: Int = 8080
    /// Loopback by default; bound beyond it, every request must authenticate (`http_users`, `http_tokens`).
    public var httpHost: String = "127.0.0.1"
    /// Web origins (`https://viewer.example.org`, or `*`) whose pages may call the HTTP API from a browser
    /// (CORS: an OHIF viewer served from another origin); none by default.
    public var httpCORSOrigins: [String] = []
    /// HTTP connections open at once (browsers open up to six each); past it a new one is closed at once.
    public var httpMaxConnections: Int = 1024
    /// Lossless compression of stored files after their acknowledgement: `none` (kept byte for byte as
    /// received), `jpeg-ls`, `j2k`, `htj2k` or `rle`.
    public var compress: String = "none"
    /// DICOM TLS (PS3.15 B.1, BCP 195 profile): a second listener, 2762 by convention; nil: none.
    public var tlsPort: Int?
    /// PEM files: our certificate (chain) and key, used by the TLS port and HTTPS.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// PEM CA certificate(s): with it, TLS clients must present a certificate it issued (mutual TLS).
    public var tlsCA: String?
    /// Only the TLS port listens (no plain `port`).
    public var tlsOnly: Bool = false
    /// HTTPS on `http_port` with the TLS files.
    public var https: Bool = false
    /// HTTP basic users (password stored as `arca user hash-password` prints it) and bearer tokens (stored as
    /// `arca user new-token` prints them), each read-only or read-write.
    public var httpUsers: [HTTPUser] = []
    public var httpTokens: [HTTPToken] = []
    /// Who may associate and use which DICOM service (by calling AE title, address, certificate); empty: anyone.
    public var dicomAccess: [DICOMAccessRule] = []
    /// The audit trail: a file (one JSON line per event) or `syslog`; nil: none.
    public var auditLog: String?
    /// The index: `sqlite` (`<archive>/index.db`, the default) or a PostgreSQL URL (`postgres://user@host/db`),
    /// which several nodes on one archive folder share.
    public var index: String = "sqlite"
    /// This node's name among the nodes of a PostgreSQL index (its claims and session); default host:port.
    public var nodeName: String?

    public init() {}

    /// Every key is optional: what a config file leaves out keeps its default.
    public init(from decoder: any Decoder) throws {
        self.init()
        try decoder.refuseUnknownKeys(CodingKeys.self, hints: Self.flagNames)
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
        try read(.durability, &durability)
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
        try read(.maxQueryResults, &maxQueryResults)
        try read(.personNameMatching, &personNameMatching)
        try read(.moveAssociations, &moveAssociations)
        try read(.httpPort, &httpPort)
        try read(.httpHost, &httpHost)
        try read(.httpCORSOrigins, &httpCORSOrigins)
        try read(.httpMaxConnections, &httpMaxConnections)
        try read(.compress, &compress)
        tlsPort = try c.decodeIfPresent(Int.self, forKey: .tlsPort)
        tlsCertificate = try c.decodeIfPresent(String.self, forKey: .tlsCertificate)
        tlsKey = try c.decodeIfPresent(String.self, forKey: .tlsKey)
        tlsCA = try c.decodeIfPresent(String.self, forKey: .tlsCA)
        try read(.tlsOnly, &tlsOnly)
        try read(.https, &https)
        try read(.httpUsers, &httpUsers)
        try read(.httpTokens, &httpTokens)
        try read(.dicomAccess, &dicomAccess)
        auditLog = try c.decodeIfPresent(String.self, forKey: .auditLog)
        try read(.index, &index)
        nodeName = try c.decodeIfPresent(String.self, forKey: .nodeName)
        guard compress == "none" || StorageCompressor.syntax(named: compress) != nil else {
            throw DecodingError.dataCorruptedError(forKey: .compress, in: c, debugDescription: "compress: none, jpeg-ls, j2k, htj2k or rle")
        }
        if let list = try c.decodeIfPresent([String].self, forKey: .remotes) {
            remotes = try list.map { text in
                guard let r = RemoteAE(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .remotes, in: c, debugDescription: "remote \(text): expected AE=host:port or AE=host:port+tls")
                }
                return r
            }
        }
        guard (1...65535).contains(port) || port == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .port, in: c, debugDescription: "port \(port) out of range")
        }
        guard maxPDU == 0 || maxPDU >= 4096 else {
            throw DecodingError.dataCorruptedError(forKey: .maxPDU, in: c, debugDescription: "max_pdu below 4096")
        }
        if let problem = malformedValue {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Command-line flags whose setting has another name in the file.
    static let flagNames = ["aet": "ae_title", "allow_aet": "allowed_calling_ae_titles",
                            "any_called_aet": "strict_called_ae_title: false", "remote": "remotes"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case port, host, naming, duplicate, archive, validation
        case aeTitle = "ae_title"
        case createDirectories = "create_directories"
        case fileExtension = "file_extension"
        case store
        case durability
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
        case remotes
        case maxQueryResults = "max_query_results"
        case personNameMatching = "person_name_matching"
        case moveAssociations = "move_associations"
        case httpPort = "http_port"
        case httpHost = "http_host"
        case httpCORSOrigins = "http_cors_origins"
        case httpMaxConnections = "http_max_connections"
        case compress
        case tlsPort = "tls_port", tlsCertificate = "tls_certificate", tlsKey = "tls_key", tlsCA = "tls_ca", tlsOnly = "tls_only"
        case https, httpUsers = "http_users", httpTokens = "http_tokens", dicomAccess = "dicom_access", auditLog = "audit_log"
        case index
        case nodeName = "node_name"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(port, forKey: .port)
        try c.encode(host, forKey: .host)
        try c.encode(aeTitle, forKey: .aeTitle)
        try c.encode(archive, forKey: .archive)
        try c.encode(naming, forKey: .naming)
        try c.encode(duplicate, forKey: .duplicate)
        try c.encode(createDirectories, forKey: .createDirectories)
        try c.encode(fileExtension, forKey: .fileExtension)
        try c.encode(store, forKey: .store)
        try c.encode(durability, forKey: .durability)
        try c.encode(mergeIntervalSeconds, forKey: .mergeIntervalSeconds)
        try c.encode(mergeAfterSeconds, forKey: .mergeAfterSeconds)
        try c.encode(maxPDU, forKey: .maxPDU)
        try c.encode(maxAssociations, forKey: .maxAssociations)
        try c.encode(maxObjectSize, forKey: .maxObjectSize)
        try c.encode(idleTimeoutSeconds, forKey: .idleTimeoutSeconds)
        try c.encode(artimTimeoutSeconds, forKey: .artimTimeoutSeconds)
        try c.encode(strictCalledAETitle, forKey: .strictCalledAETitle)
        try c.encode(allowedCallingAETitles, forKey: .allowedCallingAETitles)
        try c.encode(acceptUnknownSOPClasses, forKey: .acceptUnknownSOPClasses)
        try c.encode(validation, forKey: .validation)
        try c.encodeIfPresent(execOnStore, forKey: .execOnStore)
        try c.encodeIfPresent(execOnStudyStable, forKey: .execOnStudyStable)
        try c.encode(stableAfterSeconds, forKey: .stableAfterSeconds)
        try c.encode(hookTimeoutSeconds, forKey: .hookTimeoutSeconds)
        try c.encode(hookConcurrency, forKey: .hookConcurrency)
        try c.encode(shutdownGraceSeconds, forKey: .shutdownGraceSeconds)
        try c.encode(logLevel, forKey: .logLevel)
        try c.encode(remotes.map(\.description), forKey: .remotes)
        try c.encode(maxQueryResults, forKey: .maxQueryResults)
        try c.encode(personNameMatching, forKey: .personNameMatching)
        try c.encode(moveAssociations, forKey: .moveAssociations)
        try c.encode(httpPort, forKey: .httpPort)
        try c.encode(httpHost, forKey: .httpHost)
        try c.encode(httpCORSOrigins, forKey: .httpCORSOrigins)
        try c.encode(httpMaxConnections, forKey: .httpMaxConnections)
        try c.encode(compress, forKey: .compress)
        try c.encodeIfPresent(tlsPort, forKey: .tlsPort)
        try c.encodeIfPresent(tlsCertificate, forKey: .tlsCertificate)
        try c.encodeIfPresent(tlsKey, forKey: .tlsKey)
        try c.encodeIfPresent(tlsCA, forKey: .tlsCA)
        try c.encode(tlsOnly, forKey: .tlsOnly)
        try c.encode(https, forKey: .https)
        try c.encode(httpUsers, forKey: .httpUsers)
        try c.encode(httpTokens, forKey: .httpTokens)
        try c.encode(dicomAccess, forKey: .dicomAccess)
        try c.encodeIfPresent(auditLog, forKey: .auditLog)
        try c.encode(index, forKey: .index)
        try c.encodeIfPresent(nodeName, forKey: .nodeName)
    }

    /// What is wrong with the settings, if anything: asked of the settings the file and the flags make together
    /// (a file may leave the TLS certificate and key to the flags, or the flags the port to the file).
    public var problem: String? {
        if let problem = malformedValue { return problem }
        if (tlsPort != nil || https) && (tlsCertificate == nil || tlsKey == nil) {
            return "tls_port and https need tls_certificate and tls_key"
        }
        if tlsOnly && tlsPort == nil { return "tls_only needs tls_port" }
        return nil
    }

    /// A value wrong wherever it is given: refused as the file is read, and again with the flags. The intervals
    /// become nanoseconds (an infinite or huge one trapped the merger), and a hook concurrency below one ran no
    /// hook at all, without a word.
    var malformedValue: String? {
        for (name, seconds) in [("merge_interval", mergeIntervalSeconds), ("merge_after", mergeAfterSeconds)]
        where !(seconds.isFinite && (0...86_400).contains(seconds)) {
            return "\(name) \(seconds) is not a number of seconds from 0 to 86400"
        }
        for (name, value, least) in [("max_associations", maxAssociations, 1), ("http_max_connections", httpMaxConnections, 1), ("hook_concurrency", hookConcurrency, 1),
                                     ("hook_timeout", hookTimeoutSeconds, 1), ("max_query_results", maxQueryResults, 1),
                                     ("move_associations", moveAssociations, 1), ("idle_timeout", idleTimeoutSeconds, 1),
                                     ("artim_timeout", artimTimeoutSeconds, 1), ("stable_after", stableAfterSeconds, 0),
                                     ("shutdown_grace", shutdownGraceSeconds, 0)]
        where value < least {
            return "\(name) \(value) is below \(least)"
        }
        // A port out of range wrapped modulo 65536 (99999 listened on 34463); max_pdu below 4096 was refused in
        // the file only.
        for (name, value) in [("port", port), ("http_port", httpPort), ("tls_port", tlsPort ?? 0)] where !(0...65535).contains(value) {
            return "\(name) \(value) is not a port (0 to 65535)"
        }
        if maxPDU != 0 && maxPDU < 4096 { return "max_pdu \(maxPDU) is below 4096" }
        for (name, template, keys) in [("exec_on_store", execOnStore, HookCommand.storeKeys),
                                       ("exec_on_study_stable", execOnStudyStable, HookCommand.stableKeys)] {
            guard let template, let problem = HookCommand.problem(in: template, keys: keys) else { continue }
            return "\(name): \(problem) is not followed when values are filled in: put the command in a script and pass "
                + "the values as its arguments (script.sh #p #i)"
        }
        // An unknown level ran at info without a word (`verbose`).
        if Logger.Level(rawValue: logLevel) == nil {
            return "log_level \(logLevel) is not one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        }
        for user in httpUsers where !PasswordHash.isWellFormed(user.passwordHash) {
            return "http_users \(user.name): password_hash is not in the form `arca user hash-password` prints"
        }
        for token in httpTokens where !TokenHash.isWellFormed(token.tokenHash) {
            return "http_tokens \(token.name): token_hash is not in the form `arca user new-token` prints"
        }
        return nil
    }

    /// The HTTP server's authentication: required beyond loopback, and whenever credentials are configured.
    public var httpAccess: HTTPAccess {
        HTTPAccess(users: httpUsers, tokens: httpTokens,
                   required: !HTTPAccess.isLoopback(httpHost) || !httpUsers.isEmpty || !httpTokens.isEmpty)
    }

    /// The SCP's association-wide negotiation policy. What each SOP class gets is derived from the registered
    /// services by `DICOMServer`.
    public var associationPolicy: AssociationPolicy {
        AssociationPolicy(
            aeTitle: aeTitle,
            strictCalledAETitle: strictCalledAETitle,
            allowedCallingAETitles: allowedCallingAETitles.isEmpty ? nil : Set(allowedCallingAETitles),
            abstractSyntaxes: { _ in nil },
            maxPDULength: maxPDU,
            maxAssociations: maxAssociations,
            asyncOperationsWindow: AsyncOperationsWindow(maxInvoked: 16, maxPerformed: 1))
    }

    /// The SOP classes the storage service accepts: every storage SOP class of the dictionary (and, when
    /// asked, any other valid UID that is not a known non-storage class).
    public var acceptsStorageSOPClass: @Sendable (String) -> Bool {
        let acceptUnknown = acceptUnknownSOPClasses
        return { uid in
            UIDRegistry.isStorageSOPClass(uid) || (acceptUnknown && UIDString.isValid(uid) && UIDRegistry.entry(for: uid) == nil)
        }
    }

    public var scpConfiguration: SCPConfiguration {
        SCPConfiguration(host: host, port: port, policy: associationPolicy, maxObjectSize: maxObjectSize,
                         artimTimeout: .seconds(Int64(artimTimeoutSeconds)), idleTimeout: .seconds(Int64(idleTimeoutSeconds)),
                         shutdownGracePeriod: .seconds(Int64(shutdownGraceSeconds)))
    }

    public var archiveConfiguration: FileArchive.Configuration {
        FileArchive.Configuration(root: archive, naming: naming, duplicatePolicy: duplicate,
                                  createDirectories: createDirectories, fileExtension: fileExtension,
                                  // Every instance goes through the ingest journal; the application says where
                                  // it goes from there (files, and with `files,dckv` the spool filled from each
                                  // file; eDCKV alone: the spool).
                                  journal: durability)
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

/// How C-FIND matches person names when the requestor did not negotiate fuzzy semantic matching.
public enum PersonNameMatching: String, Sendable, Codable, CaseIterable {
    case insensitive, literal
}
