import DICOM
import Foundation
import Testing
import TestSupport

/// What a page of another site can make a browser send to a loopback server that takes no credentials.
@Suite(.stopsServers) struct CrossSiteTests {
    @Test(.needs(.curl)) func pagesOfOtherSitesCannotStoreOrRebind() async throws {
        let server = try await TestServer.start(http: true)
        defer { Task { await server.stop() } }
        let port = try #require(server.httpPort)
        let body = try ExternalTool.temporaryDirectory("cross-site").appendingPathComponent("body")
        defer { try? FileManager.default.removeItem(at: body.deletingLastPathComponent()) }
        let file = try DICOMFile(dataSet: SampleImage.secondaryCapture().dataSet).serialized()
        try (Data("--b\r\nContent-Type: application/dicom\r\n\r\n".utf8) + Data(file) + Data("\r\n--b--\r\n".utf8)).write(to: body)
        func status(_ args: [String]) async throws -> String {
            try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"] + args).stdout
        }
        let stow = server.dicomweb + "/studies"
        let multipart = "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b"
        // A Content-Type a browser sends without asking (text/plain first), hiding multipart/related behind it.
        #expect(try await status(["-X", "POST", "-H", "Content-Type: text/plain;q=0,multipart/related;boundary=b",
                                  "--data-binary", "@" + body.path, stow]) == "415")
        // A page of another site: refused, even with a Content-Type it could only send after a preflight.
        #expect(try await status(["-X", "POST", "-H", "Origin: http://evil.example", "-H", multipart,
                                  "--data-binary", "@" + body.path, stow]) == "403")
        // A name rebound to 127.0.0.1: the server answers only its loopback names.
        #expect(try await status(["-H", "Host: evil.example:\(port)", server.dicomweb + "/studies"]) == "403")
        #expect(try await status(["-H", "Host: localhost:\(port)", server.dicomweb + "/studies"]) == "200")
        #expect(server.archivedFiles().isEmpty)
        // The server's own page uploads (its origin), and clients without Origin store as before.
        #expect(try await status(["-X", "POST", "-H", "Origin: http://127.0.0.1:\(port)", "-H", multipart,
                                  "--data-binary", "@" + body.path, stow]) == "200")
        #expect(server.archivedFiles().count == 1)
        // The page's script is its own files only.
        let head = try await ExternalTool.runAsync("/usr/bin/curl", ["-s", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:\(port)/"])
        #expect(head.stdout.lowercased().contains("content-security-policy: default-src 'self'"), "\(head.stdout)")
    }
}
