import Archive
import HTTPTypes
import Hummingbird
import Logging

/// One mapping from the archive's errors to HTTP (style: one error type per layer, mapped once at the
/// boundary): a query that cannot be read is 400, an index that cannot answer 503, anything unexpected 500
/// with its description logged.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw error
        } catch let error as QueryError {
            switch error {
            case .identifierDoesNotMatch, .badIdentifier: throw HTTPError(.badRequest, message: error.description)
            case .unavailable: throw HTTPError(.serviceUnavailable, message: error.description)
            }
        } catch let error as NotInTheInstance {
            throw HTTPError(.notFound, message: error.description)
        } catch let error as ArchiveError {
            logger.warning("[HTTP] \(request.method) \(request.uri.path): \(error)")
            throw HTTPError(.internalServerError, message: error.description)
        } catch {
            logger.error("[HTTP] \(request.method) \(request.uri.path): \(error)")
            throw HTTPError(.internalServerError, message: "\(error)")
        }
    }
}

/// Headers on every answer, errors included: no MIME sniffing (a stored value sent as octet-stream is never
/// taken for a page by a browser) and no framing by another site's page.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: SecurityHeaders.fields)
            return response
        } catch var error as HTTPError {
            error.headers.append(contentsOf: SecurityHeaders.fields)
            throw error
        }
    }
}

enum SecurityHeaders {
    /// Made once: appended to every answer.
    static let fields: HTTPFields = {
        var fields = HTTPFields()
        if let sniff = HTTPField.Name("X-Content-Type-Options") { fields[sniff] = "nosniff" }
        if let frame = HTTPField.Name("X-Frame-Options") { fields[frame] = "SAMEORIGIN" }
        // The page's own files only: no inline or injected script would run even if a stored value got into the
        // page's markup (values are put in as text; this is the second line).
        if let csp = HTTPField.Name("Content-Security-Policy") {
            fields[csp] = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
        }
        return fields
    }()
}

/// Cross-origin requests from the pages of the configured origins (CORS, WHATWG Fetch): a viewer such as OHIF
/// served from another origin, or sending a Bearer token (which makes the browser ask first), could not use the
/// API. A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, before authentication
/// (a browser sends no credentials with it); every answer to an allowed origin names it. Nothing changes for
/// a request without `Origin` or from another origin (the browser then keeps the answer from the page).
struct CORSResponder<Wrapped: HTTPResponder>: HTTPResponder {
    typealias Context = Wrapped.Context
    let origins: Set<String>
    let wrapped: Wrapped

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) || origins.contains("*") else {
            return try await wrapped.respond(to: request, context: context)
        }
        var fields = HTTPFields()
        fields[.accessControlAllowOrigin] = origin
        fields[.vary] = "Origin"
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            fields[.accessControlAllowMethods] = "GET, HEAD, POST, OPTIONS"
            fields[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Authorization, Accept, Content-Type"
            fields[.accessControlMaxAge] = "600"
            // Answered here, outside the router: the security headers are added here too.
            fields.append(contentsOf: SecurityHeaders.fields)
            return Response(status: .noContent, headers: fields)
        }
        fields[.accessControlExposeHeaders] = "Content-Location, Location, Warning"
        do {
            var response = try await wrapped.respond(to: request, context: context)
            response.headers.append(contentsOf: fields)
            return response
        } catch var error as HTTPError {
            error.headers.append(contentsOf: fields)
            throw error
        }
    }
}
