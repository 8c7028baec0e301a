import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection for sending hand-made (and malformed) bytes to the server. Sendable: its only state is
/// a descriptor, fixed at creation, and a test waits for its peer on a thread of its own (blocking reads, poll).
final class RawConnection: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // Not closed here: `fd` is set, so a throw now runs `deinit`, which closes it. Closed here as well, the
        // second close could shut a descriptor another thread had been given meanwhile (a test server's SQLite
        // index, which then failed its COMMIT with a disk I/O error while `startPeer` polled a peer's port).
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// How long a read waits for the server (SO_RCVTIMEO).
    private func setTimeout(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the peer closes or 30 s pass without data (a loaded machine); returns what arrived and whether
    /// the peer closed (a server still waiting for bytes has not).
    func readUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        setTimeout(30)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// Sends a FIN: the peer reads the end of the stream (the connection stays open for reading).
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Whether the server closes the connection within `seconds` (what it sends before is read and dropped).
    func closes(within seconds: Int) -> Bool {
        setTimeout(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Blocks until the peer has closed at least one of `connections` (poll(2) on them all), or `seconds` passed;
    /// answers whether one was closed.
    static func waitUntilOneCloses(_ connections: [RawConnection], within seconds: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            var fds = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            guard poll(&fds, nfds_t(fds.count), max(1, milliseconds)) >= 0 || errno == EINTR else { return false }
            for (n, entry) in fds.enumerated() where entry.revents != 0 && connections[n].isClosedNow() { return true }
        }
        return false
    }

    /// Whether the peer has closed the connection already (what it sent meanwhile is read and dropped).
    func isClosedNow() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Reads one whole PDU (header and body), or nil on close or after 60 s (a loaded CI machine is slow).
    func readPDU() -> [UInt8]? {
        setTimeout(60)
        var header = [UInt8]()
        while header.count < 6 {
            guard let b = readExactly(6 - header.count) else { return nil }
            header += b
        }
        let length = Int(header[2]) << 24 | Int(header[3]) << 16 | Int(header[4]) << 8 | Int(header[5])
        guard let body = readExactly(length) else { return nil }
        return header + body
    }

    private func readExactly(_ n: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(n, 1))
        while out.count < n {
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, n - out.count, 0) }
            if got <= 0 { return nil }
            out.append(contentsOf: buffer[0..<got])
        }
        return out
    }
}
