import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import DICOMweb

/// Headers read for what they are: a Content-Type is one media type, a Host a loopback name or not.
@Suite struct RequestHeaderTests {
    @Test func aContentTypeIsOneMediaType() {
        let stow = MediaRange.contentType("multipart/related; type=\"Application/DICOM\"; boundary=\"a,b\"")
        #expect(stow?.type == "multipart/related" && stow?.parameters["type"] == "application/dicom" && stow?.parameters["boundary"] == "a,b")
        #expect(MediaRange.contentType("text/plain;q=0,multipart/related;boundary=b") == nil)
        #expect(MediaRange.contentType("multipart/related;boundary=b, text/plain") == nil)
        #expect(MediaRange.contentType("") == nil && MediaRange.contentType(nil) == nil)
    }

    @Test func loopbackNames() {
        typealias Guard = RequestOriginMiddleware<ArcaRequestContext>
        for name in ["localhost", "LOCALHOST:8080", "app.localhost:80", "127.0.0.1", "127.1.2.3:8042", "[::1]", "[::1]:8080"] {
            #expect(Guard.isLoopbackName(name), "\(name)")
        }
        for name in ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "128.0.0.1", "[::2]:80", "localhost.evil.example",
                     "127.0.0.256", "[::1"] {
            #expect(!Guard.isLoopbackName(name), "\(name)")
        }
    }

    static func request(_ authority: String, _ fields: [(String, String)]) -> Request {
        var headers = HTTPFields()
        for (name, value) in fields { if let n = HTTPField.Name(name) { headers[n] = value } }
        return Request(head: HTTPRequest(method: .post, scheme: "http", authority: authority, path: "/dicom-web/studies", headerFields: headers),
                       body: RequestBody(buffer: ByteBuffer()))
    }

    /// A page's Origin is this server as it was reached: directly, or through a proxy that says so.
    @Test func aPagesOriginIsThisServerAsReached() {
        let proxied = Self.request("arca:8042", [("X-Forwarded-Host", "pacs.example.org"), ("X-Forwarded-Proto", "https")])
        #expect(PublicOrigin.isSame("https://pacs.example.org", as: proxied))
        #expect(PublicOrigin.isSame("https://PACS.example.org.:443", as: proxied))
        #expect(!PublicOrigin.isSame("https://pacs.example.org:8443", as: proxied))
        let portForwarded = Self.request("arca:8042", [("X-Forwarded-Host", "pacs.example.org"), ("X-Forwarded-Proto", "https"),
                                                      ("X-Forwarded-Port", "8443")])
        #expect(PublicOrigin.isSame("https://pacs.example.org:8443", as: portForwarded))
        let rfc7239 = Self.request("arca:8042", [("Forwarded", "for=10.0.0.1;host=pacs.example.org;proto=https")])
        #expect(PublicOrigin.isSame("https://pacs.example.org", as: rfc7239))
        let direct = Self.request("127.0.0.1:8080", [])
        #expect(PublicOrigin.isSame("http://127.0.0.1:8080", as: direct))
        #expect(PublicOrigin.isSame("http://localhost", as: Self.request("localhost:80", [])))
        #expect(!PublicOrigin.isSame("http://evil.example", as: direct))
        #expect(!PublicOrigin.isSame("http://127.0.0.1:8081", as: direct))
        #expect(!PublicOrigin.isSame("null", as: direct))
        // A proxy that names nothing: the page's public origin is not known here (listed in http_cors_origins, it passes).
        #expect(!PublicOrigin.isSame("https://pacs.example.org", as: Self.request("arca:8042", [])))
    }
}
