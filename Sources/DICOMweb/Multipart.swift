import Foundation
import NIOCore

/// `multipart/related` bodies (RFC 2387, PS3.18 8.6.1.2): parts read as they arrive, with bounded memory
/// whatever the body's size (a body without its closing boundary is an error at its end, never a buffer that
/// grows), and parts written with a random boundary per response.
struct MultipartReader {
    enum Event {
        /// A part begins: its headers, names lower-cased.
        case partStart([String: String])
        /// Bytes of the current part's body, in order.
        case bytes(ByteBuffer)
        case partEnd
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private enum State {
        case preamble
        /// Right after a delimiter: `--` (the end) or CRLF (a part) decides, once two bytes are here.
        case afterDelimiter
        case headers
        case body
        case done
    }

    private let delimiter: [UInt8]  // "\r\n--" + boundary
    private var pending = ByteBuffer()
    private var state = State.preamble
    static let maxHeaderBytes = 16 * 1024
    /// Bytes of the current part's headers already searched for their end.
    private var headerScanned = 0

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may start the body without a preceding CRLF.
        pending.writeBytes([0x0D, 0x0A])
    }

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    mutating func feed(_ input: ByteBuffer) throws -> [Event] {
        var incoming = input
        var events: [Event] = []
        if case .body = state { bodyFromChunk(&incoming, &events) }
        pending.writeBuffer(&incoming)
        loop: while true {
            switch state {
            case .done:
                pending.clear()
                break loop
            case .preamble:
                guard let at = find(delimiter) else {
                    // Keep only what could be the start of a delimiter.
                    let keep = min(pending.readableBytes, delimiter.count - 1)
                    pending.moveReaderIndex(forwardBy: pending.readableBytes - keep)
                    pending.discardReadBytes()
                    break loop
                }
                pending.moveReaderIndex(forwardBy: at + delimiter.count)
                state = .afterDelimiter
            case .afterDelimiter:
                guard try afterDelimiter() else { break loop }
            case .headers:
                // A part without header lines (RFC 2046 5.1.1 allows it: the body is then text/plain by default,
                // STOW-RS takes it as DICOM): the delimiter line's CRLF is followed at once by the blank line.
                // Searched for the blank line after it, the headers' end was looked for in the body's bytes.
                guard pending.readableBytes >= 2 else { break loop }
                if pending.getInteger(at: pending.readerIndex, as: UInt16.self) == 0x0D0A {
                    pending.moveReaderIndex(forwardBy: 2)
                    headerScanned = 0
                    events.append(.partStart([:]))
                    state = .body
                    continue
                }
                // The same limit whether the headers' end came in this chunk or not (an end beyond it, or none
                // within it, is too long): how the body was cut must not decide.
                guard let end = find(Array("\r\n\r\n".utf8), from: headerScanned) else {
                    guard pending.readableBytes <= Self.maxHeaderBytes + 3 else { throw Failure(description: "part headers longer than \(Self.maxHeaderBytes) bytes") }
                    // Headers trickling in byte by byte are searched once, not once per byte (quadratic).
                    headerScanned = max(0, pending.readableBytes - 3)
                    break loop
                }
                headerScanned = 0
                guard end <= Self.maxHeaderBytes else { throw Failure(description: "part headers longer than \(Self.maxHeaderBytes) bytes") }
                let text = pending.readString(length: end) ?? ""
                pending.moveReaderIndex(forwardBy: 4)
                var headers: [String: String] = [:]
                for line in text.split(separator: "\r\n") where !line.isEmpty {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                events.append(.partStart(headers))
                state = .body
            case .body:
                if let at = find(delimiter) {
                    if at > 0, let slice = pending.readSlice(length: at) { events.append(.bytes(slice)) }
                    pending.moveReaderIndex(forwardBy: delimiter.count)
                    events.append(.partEnd)
                    state = .afterDelimiter
                } else {
                    let safe = pending.readableBytes - (delimiter.count - 1)
                    if safe > 0, let slice = pending.readSlice(length: safe) { events.append(.bytes(slice)) }
                    pending.discardReadBytes()
                    break loop
                }
            }
        }
        return events
    }

    /// Inside a part's body, its bytes are handed on as slices of the chunk itself, not copied into `pending`
    /// first (a copy of every byte was 8% of a STOW-RS's server time): `pending` holds only the last bytes of
    /// the chunk before, fewer than a delimiter's, which could begin one. Consumes what it hands on; what is
    /// left (from a delimiter on, or the new tail) goes through `pending` and the loop. A delimiter that begins
    /// in the kept bytes leaves the chunk to the loop whole (at most once a part).
    private mutating func bodyFromChunk(_ incoming: inout ByteBuffer, _ events: inout [Event]) {
        let tail = pending.readableBytes
        guard tail < delimiter.count, incoming.readableBytes >= delimiter.count else { return }
        if tail > 0 {
            var junction = pending
            if let head = incoming.getSlice(at: incoming.readerIndex, length: delimiter.count - 1) { junction.writeImmutableBuffer(head) }
            if let at = Self.find(delimiter, in: junction), at < tail { return }
            if let kept = pending.readSlice(length: tail) { events.append(.bytes(kept)) }
            pending.clear()
        }
        if let at = Self.find(delimiter, in: incoming) {
            if at > 0, let slice = incoming.readSlice(length: at) { events.append(.bytes(slice)) }
            return
        }
        let safe = incoming.readableBytes - (delimiter.count - 1)
        if safe > 0, let slice = incoming.readSlice(length: safe) { events.append(.bytes(slice)) }
    }

    /// After a delimiter: `--` ends the body, CRLF starts a part's headers. False when more bytes are needed.
    private mutating func afterDelimiter() throws -> Bool {
        // Transport padding (spaces, tabs) may follow the delimiter.
        while let b = pending.getInteger(at: pending.readerIndex, as: UInt8.self), b == 0x20 || b == 0x09 {
            pending.moveReaderIndex(forwardBy: 1)
        }
        guard pending.readableBytes >= 2, let a = pending.getInteger(at: pending.readerIndex, as: UInt8.self),
              let b = pending.getInteger(at: pending.readerIndex + 1, as: UInt8.self) else {
            return false
        }
        if a == 0x2D && b == 0x2D {
            state = .done
            return true
        }
        guard a == 0x0D && b == 0x0A else { throw Failure(description: "malformed multipart delimiter line") }
        pending.moveReaderIndex(forwardBy: 2)
        state = .headers
        return true
    }

    /// The body ended: it must have had its closing delimiter.
    func finish() throws {
        guard isDone else { throw Failure(description: "the multipart body ended without its closing boundary") }
    }

    /// Where `needle` starts in the pending bytes, from `start`. The first byte's candidates come from `memchr` (the
    /// C library's vector loop): a Swift byte loop here was a fifth of the server's time during a STOW-RS.
    private func find(_ needle: [UInt8], from start: Int = 0) -> Int? {
        Self.find(needle, in: pending, from: start)
    }

    private static func find(_ needle: [UInt8], in buffer: ByteBuffer, from start: Int = 0) -> Int? {
        buffer.withUnsafeReadableBytes { haystack -> Int? in
            needle.withUnsafeBytes { wanted -> Int? in
                guard let base = haystack.baseAddress, let key = wanted.baseAddress, let first = needle.first,
                      haystack.count >= needle.count else { return nil }
                let last = haystack.count - needle.count
                var i = max(0, start)
                while i <= last {
                    guard let found = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                    let hit = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(base + hit, key, needle.count) == 0 { return hit }
                    i = hit + 1
                }
                return nil
            }
        }
    }
}

/// Writing a `multipart/related` response.
struct MultipartWriter {
    let boundary: String

    init() {
        var generator = SystemRandomNumberGenerator()
        boundary = "arca-" + (0..<4).map { _ in String(generator.next() as UInt64, radix: 36) }.joined()
    }

    func contentType(type: String, extra: String = "") -> String {
        "multipart/related; type=\"\(type)\"; boundary=\(boundary)" + extra
    }

    func partHeader(contentType: String, location: String? = nil) -> ByteBuffer {
        var text = "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
        if let location { text += "Content-Location: \(location)\r\n" }
        return ByteBuffer(string: text + "\r\n")
    }

    var partEnd: ByteBuffer { ByteBuffer(string: "\r\n") }
    var closing: ByteBuffer { ByteBuffer(string: "--\(boundary)--\r\n") }
}
