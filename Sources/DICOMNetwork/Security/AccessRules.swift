/// What a DICOM peer may do, by calling AE title, address and client certificate (the settings file's
/// `dicom_access`). No rules: every peer the association policy accepts may do everything (the behaviour
/// without access control). With rules, an association is accepted only when one rule matches its calling
/// AE title, address and certificate; an operation only when a matching rule grants its service; a C-MOVE
/// only to a destination a matching rule lists; a C-GET only through a rule that lists no destinations.
public struct DICOMAccessRules: Sendable, Equatable {
    public var rules: [DICOMAccessRule]

    public init(_ rules: [DICOMAccessRule]) { self.rules = rules }

    public var isEmpty: Bool { rules.isEmpty }

    /// Why no rule admits the association, for the log and the audit. On the wire both are the same
    /// A-ASSOCIATE-RJ (permanent, service user, reason 3: calling AE title not recognized), so that a peer
    /// trying titles learns nothing of which are configured.
    public enum Refusal: Sendable, Equatable, CustomStringConvertible {
        /// No rule names this calling AE title.
        case callingAETitleNotRecognized
        /// Rules name the AE title, but not from this address or certificate.
        case notAllowedFromPeer

        public var description: String {
            switch self {
            case .callingAETitleNotRecognized: "no access rule names this calling AE title"
            case .notAllowedFromPeer: "access rules name this calling AE title, but not from this address or certificate"
            }
        }
    }

    func matching(_ callingAETitle: String, _ peer: PeerIdentity) -> [DICOMAccessRule] {
        rules.filter { $0.matches(callingAETitle, peer) }
    }

    /// nil: admitted.
    public func admission(callingAETitle: String, peer: PeerIdentity) -> Refusal? {
        guard !rules.isEmpty else { return nil }
        if !matching(callingAETitle, peer).isEmpty { return nil }
        return rules.contains { $0.matchesAETitle(callingAETitle) } ? .notAllowedFromPeer : .callingAETitleNotRecognized
    }

    public func permits(_ service: DICOMServiceKind, callingAETitle: String, peer: PeerIdentity) -> Bool {
        guard !rules.isEmpty else { return true }
        if service == .verification { return admission(callingAETitle: callingAETitle, peer: peer) == nil }
        return matching(callingAETitle, peer).contains { $0.services.contains(service) }
    }

    /// C-GET sends to the caller's own connection, which no `move_destinations` list names: only a rule that grants
    /// `retrieve` without one grants it. A rule meant to deliver to WS1's configured address only let anyone
    /// calling as WS1 (from any host, with no certificate) pull the images to itself with C-GET.
    public func permitsGet(callingAETitle: String, peer: PeerIdentity) -> Bool {
        guard !rules.isEmpty else { return true }
        return matching(callingAETitle, peer).contains { $0.services.contains(.retrieve) && $0.moveDestinations == nil }
    }

    public func permitsMove(to destination: String, callingAETitle: String, peer: PeerIdentity) -> Bool {
        guard !rules.isEmpty else { return true }
        return matching(callingAETitle, peer).contains { rule in
            rule.services.contains(.retrieve) && (rule.moveDestinations.map { $0.contains(destination) } ?? true)
        }
    }
}

/// The services an access rule grants.
public enum DICOMServiceKind: String, Sendable, Codable, CaseIterable {
    /// C-ECHO: any admitted peer.
    case verification
    /// C-STORE, and storage commitment (N-ACTION) about what it stored.
    case store
    /// C-FIND.
    case query
    /// C-MOVE, and C-GET under a rule without `move_destinations`.
    case retrieve

    /// The service a request belongs to; nil for commands no rule governs (responses, C-CANCEL).
    public init?(_ command: CommandField) {
        switch command {
        case .cEchoRQ: self = .verification
        case .cStoreRQ, .nActionRQ: self = .store
        case .cFindRQ: self = .query
        case .cMoveRQ, .cGetRQ: self = .retrieve
        default: return nil
        }
    }
}

/// One rule: who (AE title, addresses, certificate subject) may use which services.
public struct DICOMAccessRule: Sendable, Equatable, Codable {
    /// The calling AE title, or "*" for any.
    public var aeTitle: String
    /// Addresses or CIDR blocks the peer must connect from; empty: any.
    public var hosts: [AddressPattern]
    /// The client certificate's subject must equal this, or contain it as one of its RDNs ("CN=modality1");
    /// nil: no certificate needed (set it to tie an AE title to a TLS client certificate).
    public var certificateSubject: String?
    public var services: Set<DICOMServiceKind>
    /// C-MOVE destinations allowed (AE titles); nil: any known remote.
    public var moveDestinations: Set<String>?

    public init(aeTitle: String, hosts: [AddressPattern] = [], certificateSubject: String? = nil,
                services: Set<DICOMServiceKind> = [.store, .query, .retrieve], moveDestinations: Set<String>? = nil) {
        self.aeTitle = aeTitle
        self.hosts = hosts
        self.certificateSubject = certificateSubject
        self.services = services
        self.moveDestinations = moveDestinations
    }

    func matchesAETitle(_ callingAETitle: String) -> Bool {
        aeTitle == "*" || aeTitle == callingAETitle
    }

    func matches(_ callingAETitle: String, _ peer: PeerIdentity) -> Bool {
        guard matchesAETitle(callingAETitle) else { return false }
        if !hosts.isEmpty {
            guard let host = peer.host, hosts.contains(where: { $0.matches(host) }) else { return false }
        }
        if let wanted = certificateSubject {
            guard let subject = peer.certificateSubject else { return false }
            guard subject == wanted || Self.relativeNames(subject).contains(wanted) else { return false }
        }
        return true
    }

    /// The RDNs of an RFC 4514 subject (`CN=modality1,O=Hospital`), split on the commas that separate them, not
    /// on an escaped one inside a value: split on every comma, a certificate issued to `CN=intern laptop,CN=mod7`
    /// (shown `CN=intern laptop\,CN=mod7`) yielded `CN=mod7` and passed a rule for that name.
    static func relativeNames(_ subject: String) -> [String] {
        var names: [String] = []
        var current = ""
        var escaped = false
        for c in subject {
            if escaped {
                current.append(c)
                escaped = false
            } else if c == "\\" {
                current.append(c)
                escaped = true
            } else if c == "," {
                names.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        names.append(current)
        return names.map { Substring($0).trimmedOfSpaces() }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case aeTitle = "ae_title", hosts, certificateSubject = "certificate_subject", services
        case moveDestinations = "move_destinations"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        aeTitle = try c.decode(String.self, forKey: .aeTitle)
        let hostTexts = try c.decodeIfPresent([String].self, forKey: .hosts) ?? []
        hosts = try hostTexts.map { text in
            guard let p = AddressPattern(text) else {
                throw DecodingError.dataCorruptedError(forKey: .hosts, in: c, debugDescription: "\(text): expected an IP address or CIDR block")
            }
            return p
        }
        certificateSubject = try c.decodeIfPresent(String.self, forKey: .certificateSubject)
        services = try c.decodeIfPresent(Set<DICOMServiceKind>.self, forKey: .services) ?? [.store, .query, .retrieve]
        moveDestinations = try c.decodeIfPresent(Set<String>.self, forKey: .moveDestinations)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(aeTitle, forKey: .aeTitle)
        try c.encode(hosts.map(\.description), forKey: .hosts)
        try c.encodeIfPresent(certificateSubject, forKey: .certificateSubject)
        try c.encode(services.map(\.rawValue).sorted(), forKey: .services)
        try c.encodeIfPresent(moveDestinations.map { $0.sorted() }, forKey: .moveDestinations)
    }
}

extension Substring {
    fileprivate func trimmedOfSpaces() -> String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
