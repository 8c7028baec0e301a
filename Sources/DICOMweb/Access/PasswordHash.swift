import Crypto
import _CryptoExtras
import Foundation

/// Passwords as the settings file stores them: `pbkdf2-sha256$ROUNDS$SALT$HASH` (salt and hash in base64),
/// PBKDF2-HMAC-SHA256 as OWASP advises it (at least 600,000 rounds for SHA-256 today; swift-crypto refuses
/// fewer than 210,000). `arca user hash-password` writes this form; a plain password never goes in the file.
public enum PasswordHash {
    public static let defaultRounds = 600_000
    static let prefix = "pbkdf2-sha256"

    public static func make(_ password: String, rounds: Int = defaultRounds) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &generator) }
        let hash = try derive(password, salt: salt, rounds: rounds)
        return [prefix, String(rounds), Data(salt).base64EncodedString(), Data(hash).base64EncodedString()].joined(separator: "$")
    }

    /// Whether `password` is the one `stored` was made from (constant time in the hash comparison). A stored
    /// form that cannot be read verifies nothing.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == prefix, let rounds = Int(parts[1]), (210_000...10_000_000).contains(rounds),
              let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
              expected.count == 32, let actual = try? derive(password, salt: Array(salt), rounds: rounds) else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(actual, expected) { difference |= a ^ b }
        return difference == 0
    }

    /// Whether `stored` is in a form `verify` reads (checked when the settings are loaded).
    public static func isWellFormed(_ stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == prefix && Int(parts[1]).map { $0 >= 210_000 } == true
            && Data(base64Encoded: String(parts[2])) != nil && Data(base64Encoded: String(parts[3]))?.count == 32
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256,
                                                     outputByteCount: 32, rounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Bearer tokens: random, 32 bytes (so a fast hash is enough: nothing to guess), stored as `sha256:HEX`.
public enum TokenHash {
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    public static func make(_ token: String) -> String {
        "sha256:" + SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static func isWellFormed(_ stored: String) -> Bool {
        stored.hasPrefix("sha256:") && stored.count == 7 + 64 && stored.dropFirst(7).allSatisfy(\.isHexDigit)
    }
}
