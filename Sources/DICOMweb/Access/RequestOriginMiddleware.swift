import HTTPTypes
import Hummingbird

/// What a browser can be made to send on another site's behalf, refused:
///
/// - A request that changes something (STOW-RS) from a page of another origin: a page may POST to any address
///   without asking first when its Content-Type is one a form could send, and a header such as
///   `text/plain;q=0,multipart/related;boundary=b` passed for that (the route now reads one media type only).
///   Allowed: no `Origin` (not a browser: storescu's peers, curl, dicomweb-client, Orthanc), the server's own
///   origin (the web page's uploads), an origin of `http_cors_origins`.
/// - Without credentials (a loopback server without users), a `Host` other than a loopback name: a page whose
///   name is rebound to 127.0.0.1 (DNS rebinding) is its own origin, and would read and store as a local user.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let corsOrigins: Set<String>
    /// Whether every request must carry credentials (beyond loopback, or users configured): then a page of
    /// another site that the browser lets through still has to authenticate.
    let credentialsRequired: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        if !credentialsRequired, !host.isEmpty, !Self.isLoopbackName(host) {
            throw HTTPError(.forbidden, message: "Host \(host.prefix(100)) is not a loopback name; this server takes no credentials and answers only its own machine")
        }
        if request.method != .get, request.method != .head, request.method != .options, let origin = request.headers[.origin],
           !corsOrigins.contains(origin), !corsOrigins.contains("*"), !PublicOrigin.isSame(origin, as: request) {
            throw HTTPError(.forbidden, message: "\(request.method) from a page of \(origin.prefix(100)) refused: not this server's origin "
                            + "(behind a proxy: have it send X-Forwarded-Host) nor one of http_cors_origins")
        }
        return try await next(request, context)
    }

    /// A name `HTTPAccess.isLoopback` takes (`localhost`, 127/8, `::1`), or one under `localhost`; with or
    /// without a port, an IPv6 address in brackets.
    static func isLoopbackName(_ authority: String) -> Bool {
        let host = PublicOrigin.split(Substring(authority)).host
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return HTTPAccess.isLoopback(bare) || bare.hasSuffix(".localhost")
    }
}
