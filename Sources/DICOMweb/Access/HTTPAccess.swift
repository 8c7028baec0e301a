import Foundation
import DICOMNetwork

/// What the HTTP API lets a client do: read (QIDO-RS, WADO-RS, WADO-URI, the page, /metrics) or also write
/// (STOW-RS).
public enum HTTPRole: String, Sendable, Codable, Equatable {
    case readOnly = "read-only"
    case readWrite = "read-write"
}

/// An HTTP basic user of the settings file (`http_users`).
public struct HTTPUser: Sendable, Codable, Equatable {
    public var name: String
    /// `PasswordHash`'s stored form.
    public var passwordHash: String
    public var role: HTTPRole

    public init(name: String, passwordHash: String, role: HTTPRole) {
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, passwordHash = "password_hash", role
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), passwordHash: try c.decode(String.self, forKey: .passwordHash),
                  role: try c.decode(HTTPRole.self, forKey: .role))
    }
}

/// A bearer token of the settings file (`http_tokens`), stored hashed.
public struct HTTPToken: Sendable, Codable, Equatable {
    /// Who the token belongs to (the audit trail names it).
    public var name: String
    /// `TokenHash`'s stored form.
    public var tokenHash: String
    public var role: HTTPRole

    public init(name: String, tokenHash: String, role: HTTPRole) {
        self.name = name
        self.tokenHash = tokenHash
        self.role = role
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, tokenHash = "token_hash", role
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), tokenHash: try c.decode(String.self, forKey: .tokenHash),
                  role: try c.decode(HTTPRole.self, forKey: .role))
    }
}

/// The HTTP server's authentication: required when it listens beyond loopback (anyone on the network could
/// otherwise read every patient's images), or whenever credentials are configured.
public struct HTTPAccess: Sendable {
    public var users: [HTTPUser]
    public var tokens: [HTTPToken]
    public var required: Bool

    public init(users: [HTTPUser] = [], tokens: [HTTPToken] = [], required: Bool = false) {
        self.users = users
        self.tokens = tokens
        self.required = required
    }

    /// Whether `host` (what the server binds) reaches only this machine.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
