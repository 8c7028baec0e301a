import DICOMNetwork
import Foundation
import NIOCore
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Connections that go silent are closed, on every side: the HTTP server's (a client gone quiet kept its
/// connection, and what its request held, for ever), the DICOM server's, and the associations Arca opens to a
/// peer that accepts TCP and never answers.
@Suite(.serialized, .timeLimit(.minutes(1)), .stopsServers) struct IdleTimeoutTests {
    @Test func aSilentHTTPConnectionIsClosed() async throws {
        let server = try await TestServer.start(http: true) { $0.idleTimeoutSeconds = 1 }
        defer { Task { await server.stop() } }
        let port = try #require(server.httpPort)
        let silent = try RawConnection(port: port)
        #expect(silent.closes(within: 15))
        // One that stops halfway through its request's headers too.
        let halfway = try RawConnection(port: port)
        halfway.send(Array("GET /dicom-web/studies HTTP/1.1\r\nHost: x\r\n".utf8))
        #expect(halfway.closes(within: 15))
        // A connection in use is not: a request answered after more than the timeout's worth of connection.
        #expect(try await server.echo() == .success)
    }

    @Test func aSilentDICOMConnectionIsClosed() async throws {
        let server = try await TestServer.start { $0.idleTimeoutSeconds = 1; $0.artimTimeoutSeconds = 1 }
        defer { Task { await server.stop() } }
        #expect(try RawConnection(port: server.port).closes(within: 15))
    }

    /// ARTIM runs until the A-ASSOCIATE-RQ is whole, however its bytes trickle in: each byte restarted the timer,
    /// and after the first one the 10-minute idle limit applied, so a byte every few minutes held a connection
    /// (and a descriptor) for ever.
    @Test func aTricklingAssociationRequestMeetsARTIM() async throws {
        let server = try await TestServer.start { $0.artimTimeoutSeconds = 2 }
        defer { Task { await server.stop() } }
        let trickle = try RawConnection(port: server.port)
        trickle.send([0x01, 0x00, 0x00, 0x00, 0x10, 0x00])  // an A-ASSOCIATE-RQ of 4,096 bytes, announced
        var closed = false
        for _ in 0..<12 where !closed {
            trickle.send([0x00])
            closed = trickle.closes(within: 1)
        }
        #expect(closed)
        #expect(try await server.echo() == .success)
    }

    /// Connections are bounded before any association (twice the associations and 64 more): one past the bound
    /// is closed at once; the others stay, and once they go the server serves again.
    @Test func connectionsPastTheBoundAreClosed() async throws {
        let server = try await TestServer.start { $0.maxAssociations = 1 }
        defer { Task { await server.stop() } }
        // 67 connections for a bound of 66: one (whichever the server accepts last) is closed at once.
        var open: [RawConnection] = []
        for _ in 0..<67 { open.append(try RawConnection(port: server.port)) }
        #expect(try await Self.closed(open, within: 30) == 1)
        open.removeAll()
        var served = false
        for _ in 0..<50 where !served {
            served = (try? await server.echo()) == .success
            if !served { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(served)
    }

    /// HTTP connections are bounded too (`http_max_connections`): one past the bound is closed at once, and
    /// requests are served again once the others go.
    @Test func httpConnectionsPastTheBoundAreClosed() async throws {
        let server = try await TestServer.start(http: true) { $0.httpMaxConnections = 4 }
        defer { Task { await server.stop() } }
        let port = try #require(server.httpPort)
        var open: [RawConnection] = []
        for _ in 0..<5 { open.append(try RawConnection(port: port)) }
        #expect(try await Self.closed(open, within: 30) == 1)
        open.removeAll()
        var served = false
        for _ in 0..<50 where !served {
            let health = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
            served = health.stdout == "200"
            if !served { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(served)
    }

    /// How many of `connections` the server has closed once it closed one (it accepts them in an order of its own,
    /// so which one is past the bound is not known); 0 when it closed none within `seconds`.
    static func closed(_ connections: [RawConnection], within seconds: Int) async throws -> Int {
        let one = await Task.detached { RawConnection.waitUntilOneCloses(connections, within: seconds) }.value
        return one ? connections.filter { $0.isClosedNow() }.count : 0
    }

    /// A peer whose port accepts connections (the kernel completes them) and never answers the A-ASSOCIATE-RQ.
    @Test func aPeerThatNeverAnswersIsGivenUpOn() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0 && listen(fd, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let request = AssociateRequest(calledAETitle: "SILENT", callingAETitle: "ARCA_TEST",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))
        let start = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request, artim: .seconds(1)) { try await $0.echo() }
        }
        #expect(ContinuousClock.now - start < .seconds(15))
    }
}
