import NIOSSL

/// A DICOM peer Arca connects to: a C-MOVE destination, or the requestor of a storage commitment whose
/// report goes on a new association.
public struct RemoteAE: Sendable, Codable, Equatable, CustomStringConvertible {
    public var aeTitle: String
    public var host: String
    public var port: Int
    /// Reached over DICOM TLS (its port is then a TLS port, 2762 by convention).
    public var tls: Bool

    public init(aeTitle: String, host: String, port: Int, tls: Bool = false) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// `AE=host:port`, or `AE=host:port+tls` for a peer reached over TLS (the `--remote` flag).
    public init?(_ text: String) {
        var text = Substring(text)
        let tls = text.hasSuffix("+tls")
        if tls { text = text.dropLast(4) }
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let colon = parts[1].lastIndex(of: ":") else { return nil }
        let ae = String(parts[0]).trimmingSpaces
        let host = String(parts[1][..<colon])
        guard !ae.isEmpty, ae.utf8.count <= 16, !host.isEmpty, let port = Int(parts[1][parts[1].index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        self.init(aeTitle: ae, host: host, port: port, tls: tls)
    }

    public var description: String { "\(aeTitle)=\(host):\(port)" + (tls ? "+tls" : "") }

    enum CodingKeys: String, CodingKey { case aeTitle, host, port, tls }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(aeTitle: try c.decode(String.self, forKey: .aeTitle), host: try c.decode(String.self, forKey: .host),
                  port: try c.decode(Int.self, forKey: .port), tls: try c.decodeIfPresent(Bool.self, forKey: .tls) ?? false)
    }
}

/// The peers Arca knows, by AE title, and how to reach the ones that want TLS.
public struct RemoteAETable: Sendable {
    private let byTitle: [String: RemoteAE]
    /// Our client side of DICOM TLS (the server's certificate and key, trusting `--tls-ca`); nil when none
    /// could be made.
    private let tls: NIOSSLContext?

    public init(_ remotes: [RemoteAE], tls: NIOSSLContext? = nil) {
        byTitle = Dictionary(remotes.map { ($0.aeTitle, $0) }, uniquingKeysWith: { _, last in last })
        self.tls = tls
    }

    public func lookup(_ aeTitle: String) -> RemoteAE? { byTitle[aeTitle.trimmingSpaces] }

    /// The TLS context for connecting to `remote` (nil: plain TCP).
    public func tlsContext(for remote: RemoteAE) throws -> NIOSSLContext? {
        guard remote.tls else { return nil }
        guard let tls else { throw RemoteTLSUnavailable(remote: remote) }
        return tls
    }
}

/// A remote AE configured `+tls` while Arca has no client TLS context (its TLS files could not be read).
public struct RemoteTLSUnavailable: Error, CustomStringConvertible {
    public let remote: RemoteAE
    public var description: String { "\(remote) wants TLS, but no TLS client context could be made from the tls_* settings" }
}

extension String {
    var trimmingSpaces: String {
        var u = Substring(self)
        while let f = u.first, f == " " { u.removeFirst() }
        while let l = u.last, l == " " || l == "\0" { u.removeLast() }
        return String(u)
    }
}
