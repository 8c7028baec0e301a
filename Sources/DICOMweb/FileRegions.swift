import Archive
import DICOMNetwork
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// WADO-RS instances sent by the kernel from the page cache (`sendfile`) instead of being read into buffers
/// and copied into the socket. Hummingbird's body writer takes byte buffers only, so a route writes a small
/// marker buffer where a stored file's bytes go; `FileRegionHandler`, just before the HTTP/1 encoder, swaps it
/// for the file's region (the encoder frames a region like any body part). A marker is 16 bytes: a random
/// key drawn when the server starts (no client or stored instance can forge it) and the region's number.
/// Plain HTTP only: TLS must encrypt the bytes in user space.
final class FileRegionMarkers: Sendable {
    private struct Entry {
        let region: StoredRegion
        let channel: ObjectIdentifier
    }
    private struct State {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }
    static let markerSize = 16
    private let key: UInt64
    private let state = NIOLockedValueBox(State())

    init() {
        var rng = SystemRandomNumberGenerator()
        key = rng.next()
    }

    /// The buffer to write in place of `region`'s bytes on `channel`. From now on the region belongs to the
    /// markers: the handler closes it once sent, or when the channel closes first.
    func marker(for region: StoredRegion, on channel: any Channel) -> ByteBuffer {
        let id = ObjectIdentifier(channel)
        let number = state.withLockedValue { s -> UInt64 in
            s.next &+= 1
            s.entries[s.next] = Entry(region: region, channel: id)
            return s.next
        }
        // A channel that closed before the registration saw no cleanup for it: clean up now.
        if !channel.isActive { drop(channel: id) }
        var buffer = ByteBufferAllocator().buffer(capacity: Self.markerSize)
        buffer.writeInteger(key)
        buffer.writeInteger(number)
        return buffer
    }

    /// The region a body buffer stands for on `channel`, taken out of the registry; nil for any other buffer.
    func take(_ buffer: ByteBuffer, on channel: any Channel) -> StoredRegion? {
        guard buffer.readableBytes == Self.markerSize,
              buffer.getInteger(at: buffer.readerIndex, as: UInt64.self) == key,
              let number = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt64.self) else { return nil }
        let id = ObjectIdentifier(channel)
        return state.withLockedValue { s -> StoredRegion? in
            guard let entry = s.entries[number], entry.channel == id else { return nil }
            s.entries.removeValue(forKey: number)
            return entry.region
        }
    }

    /// Closes the regions of a channel that closed before they were sent.
    func drop(channel: ObjectIdentifier) {
        let left = state.withLockedValue { s -> [StoredRegion] in
            let mine = s.entries.filter { $0.value.channel == channel }
            for number in mine.keys { s.entries.removeValue(forKey: number) }
            return mine.values.map(\.region)
        }
        left.forEach { $0.close() }
    }

    /// Regions registered and not yet sent or dropped (tests).
    var pending: Int { state.withLockedValue { $0.entries.count } }
}

/// Swaps marker buffers for the file regions they stand for, between Hummingbird's HTTP codec and NIO's
/// HTTP/1 encoder; every other part passes unchanged. A region is closed once its write completes or fails.
final class FileRegionHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let markers: FileRegionMarkers

    init(markers: FileRegionMarkers) { self.markers = markers }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .body(.byteBuffer(let buffer)) = unwrapOutboundIn(data), let region = markers.take(buffer, on: context.channel),
              let fileRegion = region.fileRegion else {
            context.write(data, promise: promise)
            return
        }
        // Closed once the encoder's chunk header, the region and the chunk's end are written, or failed (a
        // closing channel fails its pending writes after taking them out): never while `sendfile` uses it.
        // close(2) of a read-only descriptor of a regular file does not wait for a device.
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { _ in region.close() }
        context.write(wrapOutboundOut(.body(.fileRegion(fileRegion))), promise: written)
    }

    /// Every handler is removed when its channel closes: what was registered for it and not sent is closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        markers.drop(channel: ObjectIdentifier(context.channel))
    }
}

/// Hummingbird's HTTP/1 child channel, with two changes: each connection is served on its channel's event loop
/// (as associations are: a request no longer hops to Swift's global pool and back; the routes' blocking work
/// goes to the thread pool either way), and with `markers` (plain HTTP), `FileRegionHandler` is added just
/// before the response encoder.
struct ArcaHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let markers: FileRegionMarkers?
    let connections: ConnectionCount

    var responder: HTTPChannelHandler.Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard connections.admit(channel) else {
            logger.warning("[HTTP] \(connections.limit) connections open already: \(channel.remoteAddress?.description ?? "?") closed")
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ConnectionCount.Full())
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            if let markers {
                let pipeline = channel.pipeline.syncOperations
                let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
                try pipeline.addHandler(FileRegionHandler(markers: markers), position: .after(encoder))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 as `ArcaHTTP1Channel` serves it (file regions with `markers`: plain HTTP only), each connection
    /// closed once nothing was read from it or written to it for `idleTimeout` (`CloseWhenIdle`).
    static func arcaHTTP1(fileRegions markers: FileRegionMarkers?, idleTimeout: TimeAmount, maxConnections: Int) -> HTTPServerBuilder {
        let connections = ConnectionCount(limit: maxConnections)
        return .init { responder in
            let configuration = HTTP1Channel.Configuration(
                additionalChannelHandlers: [IdleStateHandler(allTimeout: idleTimeout), CloseWhenIdle()])
            return ArcaHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration), markers: markers,
                                    connections: connections)
        }
    }
}

/// The HTTP server's open connections, bounded: each holds a descriptor, and one that sends a byte now and then
/// is never idle, so without a bound such connections could run the process out of descriptors (and with
/// them, the DICOM port, the journal and the index).
final class ConnectionCount: Sendable {
    struct Full: Error {}
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Counts `channel` until it closes; false (not counted) when `limit` are open.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = open.withLockedValue { n -> Bool in
            guard n < limit else { return false }
            n += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { [open] _ in open.withLockedValue { $0 -= 1 } } }
        return admitted
    }
}

/// Closes a connection its `IdleStateHandler` found idle: nothing read and no write completed for the timeout.
/// Without it a client gone silent kept its connection for ever: a STOW-RS body that stopped arriving held its
/// journal stream, a WADO-RS download nobody read held its open files, a TLS handshake never finished held a
/// socket, and a keep-alive connection a NAT forgot stayed open (Hummingbird sets no idle timeout by default).
final class CloseWhenIdle: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
