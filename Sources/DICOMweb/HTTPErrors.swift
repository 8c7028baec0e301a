import Archive
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
