/// A DICOM peer Arca connects to: a C-MOVE destination, or the requestor of a storage commitment whose
/// report goes on a new association.
public struct RemoteAE: Sendable, Codable, Equatable, CustomStringConvertible {
    public var aeTitle: String
    public var host: String
    public var port: Int

    public init(aeTitle: String, host: String, port: Int) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
    }

    /// `AE=host:port` (the `--remote` flag).
    public init?(_ text: String) {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let colon = parts[1].lastIndex(of: ":") else { return nil }
        let ae = String(parts[0]).trimmingSpaces
        let host = String(parts[1][..<colon])
        guard !ae.isEmpty, ae.utf8.count <= 16, !host.isEmpty, let port = Int(parts[1][parts[1].index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        self.init(aeTitle: ae, host: host, port: port)
    }

    public var description: String { "\(aeTitle)=\(host):\(port)" }
}

/// The peers Arca knows, by AE title.
public struct RemoteAETable: Sendable {
    private let byTitle: [String: RemoteAE]

    public init(_ remotes: [RemoteAE]) {
        byTitle = Dictionary(remotes.map { ($0.aeTitle, $0) }, uniquingKeysWith: { _, last in last })
    }

    public func lookup(_ aeTitle: String) -> RemoteAE? { byTitle[aeTitle.trimmingSpaces] }
}

extension String {
    var trimmingSpaces: String {
        var u = Substring(self)
        while let f = u.first, f == " " { u.removeFirst() }
        while let l = u.last, l == " " || l == "\0" { u.removeLast() }
        return String(u)
    }
}
