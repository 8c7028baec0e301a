import DICOMNetwork
import Testing

/// A port outside 1…65535 is refused before any connection: getaddrinfo reads the service modulo 65,536, so
/// port + 65,536 reached the server on port and associated with it.
@Suite struct ClientPortTests {
    @Test func aPortPast65535IsRefusedNotWrapped() async throws {
        let storage = AssociationThreadsTests.ThreadRecorder()
        try await AssociationThreadsTests.running(AssociationThreadsTests.server(threads: 1, storage)) { port in
            for wrong in [port + 65_536, 0, -1] {
                let error = await #expect(throws: AssociationError.self) {
                    try await AssociationThreadsTests.associate(wrong) { _ in }
                }
                #expect(error?.description == "\(wrong) is not a port (1 to 65535)")
            }
            // The server itself answers on its port.
            try await AssociationThreadsTests.associate(port) { _ in }
        }
    }
}
