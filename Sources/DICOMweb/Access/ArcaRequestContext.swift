import Hummingbird
import NIOCore

/// The request context of Arca's HTTP server: Hummingbird's basics and the client's address (for the audit
/// trail and the logs).
public struct ArcaRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection (WADO-RS registers file regions for it).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
