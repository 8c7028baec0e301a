import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import DICOMweb

/// The password rules of `AccessMiddleware`, with the PBKDF2 check replaced by a recorder.
@Suite struct AccessMiddlewareTests {
    /// What the verifier was asked, and how many checks ran at once at most.
    final class Recorder: Sendable {
        let state = NIOLockedValueBox<(asked: [String], running: Int, most: Int)>(([], 0, 0))

        func verify(_ password: String, _ stored: String) -> Bool {
            state.withLockedValue { $0.asked.append("\(password) against \(stored)"); $0.running += 1; $0.most = max($0.most, $0.running) }
            usleep(20_000)  // on the I/O pool, as PBKDF2's ~80 ms are
            state.withLockedValue { $0.running -= 1 }
            return stored == "stored-\(password)"
        }
    }

    static func middleware(_ recorder: Recorder) -> AccessMiddleware {
        let access = HTTPAccess(users: [HTTPUser(name: "alice", passwordHash: "stored-right", role: .readOnly)], required: true)
        return AccessMiddleware(access: access, audit: nil) { recorder.verify($0, $1) }
    }

    static func request(_ user: String, _ password: String) -> Request {
        let credentials = Data("\(user):\(password)".utf8).base64EncodedString()
        let head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/dicom-web/studies",
                               headerFields: [.authorization: "Basic \(credentials)"])
        return Request(head: head, body: RequestBody(buffer: ByteBuffer()))
    }

    /// A name no user has costs a check all the same (against the first user's stored form): answered at once,
    /// it told which names exist.
    @Test func anUnknownNameIsCheckedAgainstTheDecoy() async throws {
        let recorder = Recorder()
        let middleware = Self.middleware(recorder)
        await #expect(throws: HTTPError.self) { try await middleware.authenticate(Self.request("mallory", "guess")) }
        let principal = try await middleware.authenticate(Self.request("alice", "right"))
        #expect(principal?.name == "alice")
        #expect(recorder.state.withLockedValue { $0.asked } == ["guess against stored-right", "right against stored-right"])
    }

    /// Wrong passwords sent together are checked one after the other: in parallel they held every thread of
    /// the I/O pool, and every query and /health waited behind them.
    @Test func passwordsAreCheckedOneAtATime() async throws {
        let recorder = Recorder()
        let middleware = Self.middleware(recorder)
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<6 {
                group.addTask { _ = try? await middleware.authenticate(Self.request(n % 2 == 0 ? "alice" : "bob", "wrong\(n)")) }
            }
        }
        let state = recorder.state.withLockedValue { $0 }
        #expect(state.asked.count == 6)
        #expect(state.most == 1)
    }

    /// A refused login is recorded with the name it tried, bounded, never with its password; a bearer token is
    /// a secret and names no user.
    @Test func aRefusedLoginNamesTheUserItTried() {
        #expect(AccessMiddleware.claimedUser(Self.request("mallory", "guess:with:colons")) == "mallory")
        #expect(AccessMiddleware.claimedUser(Self.request(String(repeating: "m", count: 5000), "x"))?.count == AccessMiddleware.maxClaimedUserLength)
        let bearer = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/",
                                 headerFields: [.authorization: "Bearer secret-token"])
        #expect(AccessMiddleware.claimedUser(Request(head: bearer, body: RequestBody(buffer: ByteBuffer()))) == nil)
    }
}
