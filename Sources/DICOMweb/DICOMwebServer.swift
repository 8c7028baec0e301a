import Archive
import DICOM
import DICOMNetwork
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix

/// Where the HTTP server listens and what it answers with.
public struct DICOMwebConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Our AE title: the called AE title of instances stored through STOW-RS.
    public var aeTitle: String
    /// Most query parameters a request may carry (more is 400).
    public var maxQueryParameters: Int
    /// A STOW-RS part larger than this is refused (0xA700), as a C-STORE dataset would be.
    public var maxObjectSize: UInt64
    /// HTTPS with these settings (the DICOM TLS files); nil: plain HTTP.
    public var tls: TLSConfiguration?
    /// Who may use the API, and whether anyone must authenticate.
    public var access = HTTPAccess()
    /// Where every request is recorded (who, what, status); nil: nowhere.
    public var audit: (any AuditTrail)?
    /// A connection with nothing read or written for this long is closed (`arca serve` uses its `idle_timeout`).
    public var idleTimeout: TimeAmount = .seconds(600)
    /// The SOP classes STOW-RS stores: those C-STORE negotiates (`arca serve` passes the SCP's rule), so that a
    /// part of a class no presentation context would accept (Verification…) is refused here too (0x0122).
    public var acceptsSOPClass: @Sendable (String) -> Bool = { _ in true }
    /// Web origins whose pages may call the API from a browser (`CORSResponder`); `*`: any. Empty: none.
    public var corsOrigins: Set<String> = []
    /// Connections open at once; past it a new one is closed at its accept (`ConnectionCount`).
    public var maxConnections = 1024

    public init(host: String = "127.0.0.1", port: Int = 8080, aeTitle: String = "STORE_SCP", maxQueryParameters: Int = 256,
                maxObjectSize: UInt64 = 4 << 30) {
        self.host = host
        self.port = port
        self.aeTitle = aeTitle
        self.maxQueryParameters = maxQueryParameters
        self.maxObjectSize = maxObjectSize
    }
}

/// What the HTTP side needs of the archive: the query engine (QIDO-RS shares C-FIND's matching), the
/// instance reading of retrieval (WADO-RS shares C-MOVE's), the storage C-STORE uses (STOW-RS), the pixel
/// pipeline (rendered images, frames), and the operations endpoints.
public struct DICOMwebServices: Sendable {
    public let engine: QueryEngine
    public let reading: InstanceReading
    public let storage: any StorageService
    public let pixels: (any PixelRendering)?
    public let metrics: (@Sendable () -> String)?
    public let health: @Sendable () -> Bool

    public init(engine: QueryEngine, reading: InstanceReading, storage: any StorageService, pixels: (any PixelRendering)?,
                metrics: (@Sendable () -> String)?, health: @escaping @Sendable () -> Bool) {
        self.engine = engine
        self.reading = reading
        self.storage = storage
        self.pixels = pixels
        self.metrics = metrics
        self.health = health
    }
}

/// Frames and rendered images: the pixel pipeline plugs in here.
/// What a frame or rendering request asked of an instance that it does not have (no Pixel Data, a frame past
/// its last): the client's 404, not a failure of the server's. `PixelRendering` throws it.
public struct NotInTheInstance: Error, CustomStringConvertible {
    public enum What: Sendable { case pixelData, frame }
    public let what: What
    public let description: String
    public init(_ what: What, _ description: String) {
        self.what = what
        self.description = description
    }
}

/// The pixel pipeline as DICOMweb uses it; throws `NotInTheInstance` for a frame or pixels the instance lacks.
public protocol PixelRendering: Sendable {
    /// A frame's bytes as stored (a codestream when compressed), `frame` 0-based.
    func storedFrame(path: String, frame: Int) throws -> (bytes: [UInt8], transferSyntax: String)
    /// A frame in Explicit VR Little Endian's layout, as the instance's metadata describes it: an uncompressed
    /// instance's frame as stored (1-bit packed, planar kept), a compressed one's decoded.
    func nativeFrame(path: String, frame: Int) throws -> [UInt8]
    /// An 8-bit image of a frame: `window` (center, width, function), scaled to fit `viewport`.
    func render(path: String, frame: Int, window: (Double, Double, String)?, viewport: (Int, Int)?, jpeg: Bool, quality: Int) throws -> [UInt8]
    func numberOfFrames(path: String) throws -> Int
}

/// The HTTP server of `arca serve`: DICOMweb under `/dicom-web`, WADO-URI at `/wado`, the web page at `/`,
/// `/metrics` and `/health`. One more service of the application's service group.
public enum DICOMwebServer {
    public static func application(_ configuration: DICOMwebConfiguration, _ services: DICOMwebServices, logger: Logger,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        // HEAD on every GET route, answered as GET with its headers (Content-Length included) and no body: no
        // route answered HEAD (404), which the conformance statement promised to read-only users.
        let router = Router(context: ArcaRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: SecurityHeadersMiddleware())
        // Outermost but for the headers: even a request refused by authentication, or failing, is recorded with
        // its status.
        router.add(middleware: AccessMiddleware(access: configuration.access, audit: configuration.audit))
        router.add(middleware: RequestOriginMiddleware(corsOrigins: configuration.corsOrigins, credentialsRequired: configuration.access.required))
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: MetricsMiddleware())
        // Over plain HTTP stored instances go out as file regions, which TLS cannot take.
        let fileRegions: FileRegionMarkers?
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            fileRegions = nil
            server = try .tls(.arcaHTTP1(fileRegions: nil, idleTimeout: configuration.idleTimeout, maxConnections: configuration.maxConnections),
                              tlsConfiguration: tls)
        } else {
            let markers = FileRegionMarkers()
            fileRegions = markers
            server = .arcaHTTP1(fileRegions: markers, idleTimeout: configuration.idleTimeout, maxConnections: configuration.maxConnections)
        }
        let routes = DICOMwebRoutes(configuration: configuration, services: services, logger: logger, fileRegions: fileRegions)
        routes.register(on: router)
        PageRoutes.register(on: router)
        OperationsRoutes(services: services).register(on: router)
        return Application(responder: CORSResponder(origins: configuration.corsOrigins, wrapped: router.buildResponder()),
                           server: server,
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Arca"),
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
                           logger: logger)
    }
}
