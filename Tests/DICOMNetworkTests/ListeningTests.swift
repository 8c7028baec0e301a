import DICOMNetwork
import Logging
import NIOCore
import Testing

/// `DICOMServer.waitUntilListening`: the port once bound; at once the reason when the bind fails (it used to
/// poll for 10 s and then say only "did not start listening"); a timeout when nothing runs the server.
@Suite struct ListeningTests {
    static func server(port: Int) -> DICOMServer {
        let policy = AssociationPolicy(aeTitle: "STORE_SCP", acceptedAbstractSyntaxes: ["1.2.840.10008.1.1"])
        return DICOMServer(configuration: SCPConfiguration(host: "127.0.0.1", port: port, policy: policy),
                           services: DIMSEServiceRegistry([]), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test func aBoundServerAnswersItsPortAndASecondBindOnItFailsAtOnce() async throws {
        let first = Self.server(port: 0)
        let running = Task { try await first.run() }
        defer { first.shutdown(); running.cancel() }
        let port = try await first.waitUntilListening()
        #expect(port > 0)
        #expect(first.boundPort == port)
        // A second waiter after the bind gets the port at once.
        #expect(try await first.waitUntilListening(timeout: .milliseconds(1)) == port)

        let second = Self.server(port: port)
        let failing = Task { try await second.run() }
        // The bind's own failure, not the waiter's timeout (what it said before it learned the reason). Told apart
        // by what is thrown, not by the time taken: a loaded test machine can take seconds to run the bind.
        let failure = await #expect(throws: (any Error).self) { try await second.waitUntilListening(timeout: .seconds(120)) }
        #expect(!"\(failure.map { "\($0)" } ?? "")".contains("did not start listening"), "the waiter timed out: \(String(describing: failure))")
        await #expect(throws: (any Error).self) { try await failing.value }
        #expect(second.boundPort == nil)
    }

    @Test func nothingRunningTimesOut() async throws {
        let idle = Self.server(port: 0)
        await #expect(throws: (any Error).self) { try await idle.waitUntilListening(timeout: .milliseconds(50)) }
        await #expect(throws: (any Error).self) { try await idle.waitUntilListening(timeout: .zero) }
    }
}
