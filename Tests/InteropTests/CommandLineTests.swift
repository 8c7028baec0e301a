import Foundation
import Testing
import TestSupport

/// What the `arca` client commands refuse before they connect.
@Suite struct CommandLineTests {
    /// A port outside 1…65535 is named and refused (exit 64, ArgumentParser's usage error): as an `Int` it went
    /// to getaddrinfo, which reads it modulo 65,536 (70000 connected to port 4464).
    @Test func clientCommandsRefuseAPortOutOfRange() async throws {
        guard let arca = SecurityTests.builtArca() else { return }
        let commands: [(arguments: [String], value: String)] = [
            (["echo", "127.0.0.1", "70000"], "70000"),
            (["store", "127.0.0.1", "0", "a.dcm"], "0"),
            (["find", "127.0.0.1", "65536"], "65536"),
            (["move", "127.0.0.1", "131183", "--dest", "X"], "131183"),
            (["get", "127.0.0.1", "99999"], "99999"),
            (["commit", "127.0.0.1", "104", "a.dcm", "--listen", "70000"], "70000"),
        ]
        for (arguments, value) in commands {
            let r = try await ExternalTool.runAsync(arca, arguments)
            #expect(r.status == 64, "\(arguments): \(r.status) \(r.stdout)")
            #expect(r.stderr.contains("The value '\(value)' is invalid"), "\(arguments): \(r.stderr)")
        }
    }
}
