import DICOMNetwork
import Testing

/// Access rules and address patterns, without sockets.
struct AccessRulesTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", true), ("127.0.0.1", "127.0.0.2", false), ("10.0.0.0/8", "10.200.3.4", true),
        ("10.0.0.0/8", "11.0.0.1", false), ("192.168.1.0/25", "192.168.1.127", true), ("192.168.1.0/25", "192.168.1.128", false),
        ("127.0.0.1", "::ffff:127.0.0.1", true), ("fd00::/8", "fd12::1", true), ("fd00::/8", "fe80::1", false),
        ("::1", "::1", true), ("0.0.0.0/0", "8.8.8.8", true), ("10.0.0.1", "not-an-address", false),
    ])
    func addressPatterns(pattern: String, host: String, matches: Bool) throws {
        let p = try #require(AddressPattern(pattern))
        #expect(p.matches(host) == matches)
    }

    @Test(arguments: ["10.0.0.0/33", "example.org", "10.0.0.0/x", "", "::/129"])
    func badPatterns(text: String) {
        #expect(AddressPattern(text) == nil)
    }

    static let rules = DICOMAccessRules([
        DICOMAccessRule(aeTitle: "CT1", hosts: [AddressPattern("10.1.0.0/16")!], services: [.store]),
        DICOMAccessRule(aeTitle: "VIEWER", services: [.query, .retrieve], moveDestinations: ["WS1"]),
        DICOMAccessRule(aeTitle: "SECURE", certificateSubject: "CN=modality1", services: [.store]),
    ])

    static func peer(_ host: String, subject: String? = nil) -> PeerIdentity {
        PeerIdentity(address: host + ":1234", host: host, certificateSubject: subject, isTLS: subject != nil)
    }

    @Test func admission() {
        #expect(Self.rules.admission(callingAETitle: "CT1", peer: Self.peer("10.1.2.3")) == nil)
        #expect(Self.rules.admission(callingAETitle: "CT1", peer: Self.peer("10.2.2.3")) == .notAllowedFromPeer)
        #expect(Self.rules.admission(callingAETitle: "OTHER", peer: Self.peer("10.1.2.3")) == .callingAETitleNotRecognized)
        #expect(Self.rules.admission(callingAETitle: "SECURE", peer: Self.peer("1.2.3.4")) == .notAllowedFromPeer)
        #expect(Self.rules.admission(callingAETitle: "SECURE", peer: Self.peer("1.2.3.4", subject: "O=Arca Test,CN=modality1")) == nil)
        #expect(Self.rules.admission(callingAETitle: "SECURE", peer: Self.peer("1.2.3.4", subject: "CN=modality2")) == .notAllowedFromPeer)
        // A comma inside a value is not a separator: this certificate's CN is "intern laptop,CN=modality1".
        #expect(Self.rules.admission(callingAETitle: "SECURE", peer: Self.peer("1.2.3.4", subject: #"CN=intern laptop\,CN=modality1,O=H"#))
                == .notAllowedFromPeer)
        #expect(Self.rules.admission(callingAETitle: "SECURE", peer: Self.peer("1.2.3.4", subject: #"O=A\,B,CN=modality1"#)) == nil)
        #expect(DICOMAccessRules([]).admission(callingAETitle: "ANY", peer: Self.peer("1.2.3.4")) == nil)
    }

    @Test func servicesAndDestinations() {
        let ct = Self.peer("10.1.0.9"), viewer = Self.peer("192.0.2.1")
        #expect(Self.rules.permits(.store, callingAETitle: "CT1", peer: ct))
        #expect(!Self.rules.permits(.query, callingAETitle: "CT1", peer: ct))
        #expect(Self.rules.permits(.verification, callingAETitle: "CT1", peer: ct))
        #expect(!Self.rules.permits(.store, callingAETitle: "VIEWER", peer: viewer))
        #expect(Self.rules.permitsMove(to: "WS1", callingAETitle: "VIEWER", peer: viewer))
        #expect(!Self.rules.permitsMove(to: "WS2", callingAETitle: "VIEWER", peer: viewer))
        #expect(!Self.rules.permitsMove(to: "WS1", callingAETitle: "CT1", peer: ct))
        // C-GET goes to the caller itself, which VIEWER's destinations do not name; a rule without any grants it.
        #expect(!Self.rules.permitsGet(callingAETitle: "VIEWER", peer: viewer))
        #expect(!Self.rules.permitsGet(callingAETitle: "CT1", peer: ct))
        let open = DICOMAccessRules([DICOMAccessRule(aeTitle: "VIEWER", services: [.retrieve])])
        #expect(open.permitsGet(callingAETitle: "VIEWER", peer: viewer) && DICOMAccessRules([]).permitsGet(callingAETitle: "X", peer: ct))
        #expect(DICOMServiceKind(.cGetRQ) == .retrieve && DICOMServiceKind(.nActionRQ) == .store && DICOMServiceKind(.cCancelRQ) == nil)
    }
}
