import Foundation
import Hummingbird
import NIOCore

/// The web page: plain HTML, CSS and JavaScript kept in `Sources/DICOMweb/Page` and embedded in the binary as
/// resources (no build step). It uses only the DICOMweb API beside it.
enum PageRoutes {
    static let files: [String: (type: String, bytes: ByteBuffer)] = {
        var out: [String: (String, ByteBuffer)] = [:]
        guard let folder = Bundle.module.url(forResource: "Page", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return out }
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { continue }
            out[name] = (mediaType(name), ByteBuffer(bytes: data))
        }
        return out
    }()

    static func mediaType(_ name: String) -> String {
        switch (name as NSString).pathExtension {
        case "html": return "text/html; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        default: return "application/octet-stream"
        }
    }

    static func register(on router: Router<ArcaRequestContext>) {
        // Read from the bundle now, at start, not by the first request on an event loop.
        _ = files
        router.get("/") { _, _ in try page("index.html") }
        router.get("/:file") { _, context in try page(try context.parameters.require("file")) }
    }

    static func page(_ name: String) throws -> Response {
        guard let file = files[name] else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: file.bytes))
    }
}

/// `/health` (ready once the index is open and the archive writable) and `/metrics` (Prometheus text format).
struct OperationsRoutes {
    let services: DICOMwebServices

    func register(on router: Router<ArcaRequestContext>) {
        let services = self.services
        router.get("/health") { _, _ in
            // The check touches the file system (is the archive writable?): on the pool, never the loop.
            let ok = try await services.reading.threadPool.runIfActive { services.health() }
            return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: ok ? "{\"status\":\"ready\"}" : "{\"status\":\"unavailable\"}")))
        }
        router.get("/metrics") { _, _ in
            guard let metrics = services.metrics else { throw HTTPError(.notFound, message: "metrics are not collected") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics())))
        }
    }
}
