import Crypto
import DICOMNetwork
import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOPosix

/// Authentication, authorization and the audit record of every HTTP request, in one place so the record
/// names who was let in (or not) and the response's status.
///
/// - Credentials: `Authorization: Bearer TOKEN` (a token of `http_tokens`) or `Basic` (a user of
///   `http_users`, password checked with PBKDF2 on the thread pool; a verified pair is remembered so a
///   browser's repeated requests do not pay 0.1–0.3 s each).
/// - None or wrong, when authentication is required: 401 with `WWW-Authenticate` (a browser asks for a user).
/// - A read-only principal may GET and HEAD; anything else (STOW-RS) is 403.
/// - `/health` stays open: load balancers probe it, and it says only whether the archive is writable.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ArcaRequestContext
    let access: HTTPAccess
    let audit: (any AuditTrail)?
    let verified: VerifiedPasswords
    /// One password check at a time (PBKDF2, ~80 ms each): wrong passwords sent in parallel kept both threads of
    /// the I/O pool busy, and every query, retrieval and /health waited behind them (40 at once: /health 1 s).
    let passwordChecks = AsyncSemaphore(permits: 1)
    /// What a name no user has is checked against, so that its answer takes a known name's time: an unknown name
    /// was answered at once (0.8 ms against 86), which told which names exist.
    let decoy: String
    /// `PasswordHash.verify`; a seam for the tests of the two rules above.
    let verify: @Sendable (_ password: String, _ stored: String) -> Bool

    init(access: HTTPAccess, audit: (any AuditTrail)?,
         verify: @escaping @Sendable (String, String) -> Bool = { PasswordHash.verify($0, against: $1) }) {
        self.access = access
        self.audit = audit
        self.verified = VerifiedPasswords()
        self.verify = verify
        decoy = access.users.first?.passwordHash ?? ""
    }

    struct Principal {
        var name: String
        var role: HTTPRole
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var principal: Principal?
        do {
            principal = try await authenticate(request)
            if access.required && request.uri.path != "/health" {
                guard let principal else {
                    throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"Arca\", Bearer realm=\"Arca\""],
                                    message: "authentication required")
                }
                if principal.role == .readOnly && request.method != .get && request.method != .head {
                    throw HTTPError(.forbidden, message: "\(principal.name) is read-only")
                }
            }
            let response = try await next(request, context)
            record(request, context, principal, status: response.status.code)
            return response
        } catch let error as HTTPError {
            // A refused login names the user that was tried (ATNA's failed User Authentication): repeated
            // guesses at one account, or one guess at many, are what an administrator looks for.
            let attempted = principal == nil && error.status == .unauthorized ? Self.claimedUser(request) : nil
            record(request, context, principal, status: error.status.code, attempted: attempted)
            throw error
        } catch {
            record(request, context, principal, status: 500)
            throw error
        }
    }

    /// The principal the request's credentials name; nil without credentials. Wrong credentials are a 401
    /// even where none are required (a client that sends them expects them checked).
    func authenticate(_ request: Request) async throws -> Principal? {
        guard let header = request.headers[.authorization] else { return nil }
        let unauthorized = HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"Arca\", Bearer realm=\"Arca\""],
                                     message: "wrong credentials")
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw unauthorized }
        switch parts[0].lowercased() {
        case "bearer":
            let hash = TokenHash.make(String(parts[1]).trimmingCharacters(in: .whitespaces))
            guard let token = access.tokens.first(where: { constantTimeEqual($0.tokenHash, hash) }) else { throw unauthorized }
            return Principal(name: token.name, role: token.role)
        case "basic":
            guard let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { throw unauthorized }
            let name = String(text[..<colon]), password = String(text[text.index(after: colon)...])
            guard let user = access.users.first(where: { $0.name == name }) else {
                _ = try await check(password, against: decoy)
                throw unauthorized
            }
            let key = VerifiedPasswords.key(user, password)
            if verified.contains(key) { return Principal(name: user.name, role: user.role) }
            guard try await check(password, against: user.passwordHash) else { throw unauthorized }
            verified.insert(key)
            return Principal(name: user.name, role: user.role)
        default:
            throw unauthorized
        }
    }

    /// PBKDF2 on the I/O pool, one check at a time.
    func check(_ password: String, against hash: String) async throws -> Bool {
        try await passwordChecks.withPermit {
            try await NIOThreadPool.singleton.runIfActive { [verify] in verify(password, hash) }
        }
    }

    /// The user name of a `Basic` header, whatever its password: what a refused login tried. Bounded (a header
    /// can be kilobytes) and never the password; a bearer token names no user and is a secret, so it is not kept.
    static func claimedUser(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8) else { return nil }
        let name = text.firstIndex(of: ":").map { String(text[..<$0]) } ?? ""
        // Bytes, not characters: a stack of combining marks is one character.
        return String(decoding: name.utf8.prefix(maxClaimedUserLength), as: UTF8.self)
    }

    static let maxClaimedUserLength = 128

    func record(_ request: Request, _ context: Context, _ principal: Principal?, status: Int, attempted: String? = nil) {
        guard let audit else { return }
        let outcome: AuditRecord.Outcome = status < 400 ? .success : (status == 401 || status == 403 ? .refused : .failure)
        var details: [String: String] = [:]
        if let principal { details["role"] = principal.role.rawValue }
        if let attempted { details["attempted_user"] = attempted }
        if request.method == .post { details["operation"] = "STOW-RS" }
        audit.record(AuditRecord(event: .http, outcome: outcome, who: principal?.name, address: context.remoteAddress?.description,
                                 target: "\(request.method) \(request.uri)", status: String(status), details: details))
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for (p, q) in zip(x, y) { difference |= p ^ q }
    return difference == 0
}

/// User/password pairs already verified in this process, as SHA-256 digests (the passwords themselves are
/// never kept). Bounded: cleared when it reaches 4,096 entries.
final class VerifiedPasswords: Sendable {
    private let keys = NIOLockedValueBox(Set<String>())

    static func key(_ user: HTTPUser, _ password: String) -> String {
        SHA256.hash(data: Array("\(user.name)\u{0}\(user.passwordHash)\u{0}\(password)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func contains(_ key: String) -> Bool { keys.withLockedValue { $0.contains(key) } }

    func insert(_ key: String) {
        keys.withLockedValue { set in
            if set.count >= 4096 { set.removeAll() }
            set.insert(key)
        }
    }
}
