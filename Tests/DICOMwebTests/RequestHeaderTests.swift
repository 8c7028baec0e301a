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
}
