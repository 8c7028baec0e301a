import NIOCore
import Testing

@testable import DICOMweb

/// The STOW-RS body reader: how HTTP cuts a body must not change what it reads (regressions of
/// Fuzz/MultipartFuzzer.swift, whose inputs are under Fuzz/regressions/multipart/).
@Suite struct MultipartReaderTests {
    /// Reads `body` in chunks of `chunk` bytes: the parts' headers and bytes, or the failure.
    static func read(_ body: [UInt8], boundary: String, chunk: Int) -> Result<[([String: String], [UInt8])], MultipartReader.Failure> {
        var reader = MultipartReader(boundary: boundary)
        var parts: [([String: String], [UInt8])] = []
        do {
            var start = 0
            while start < body.count {
                let end = min(body.count, start + chunk)
                for event in try reader.feed(ByteBuffer(bytes: body[start..<end])) {
                    switch event {
                    case .partStart(let headers): parts.append((headers, []))
                    case .bytes(let b): parts[parts.count - 1].1 += b.readableBytesView
                    case .partEnd: break
                    }
                }
                start = end
            }
            try reader.finish()
            return .success(parts)
        } catch let failure as MultipartReader.Failure {
            return .failure(failure)
        } catch {
            Issue.record("unexpected \(error)")
            return .failure(MultipartReader.Failure(description: "\(error)"))
        }
    }

    static func body(headerBytes: Int) -> [UInt8] {
        Array("--b\r\nX-Long: ".utf8) + [UInt8](repeating: 0x61, count: headerBytes - 8) + Array("\r\n\r\nDATA\r\n--b--\r\n".utf8)
    }

    @Test func partsReadTheSameInAnyChunks() throws {
        let body = Array("preamble\r\n--b \t\r\nContent-Type: application/dicom\r\n\r\nab\r\n-b\r\n--b\r\nContent-Type: x\r\n\r\n\r\n--b--\r\n".utf8)
        let whole = try Self.read(body, boundary: "b", chunk: body.count).get()
        #expect(whole.count == 2)
        #expect(whole.first?.0["content-type"] == "application/dicom")
        #expect(whole.first?.1 == Array("ab\r\n-b".utf8))
        #expect(whole.last?.1 == [])
        for chunk in 1...9 {
            let pieces = try Self.read(body, boundary: "b", chunk: chunk).get()
            #expect(pieces.map(\.0) == whole.map(\.0) && pieces.map(\.1) == whole.map(\.1), "chunks of \(chunk)")
        }
    }

    /// A part without header lines: its body starts after the blank line that follows the delimiter's line. The
    /// reader looked for a blank line after that one, so the body's first bytes were read as headers (or, with no
    /// blank line in them, the body was refused as never closed).
    @Test func aPartWithoutHeaders() throws {
        let body = Array("--b\r\n\r\nDICM\r\n\r\nrest\r\n--b\r\n\r\nX\r\n--b--\r\n".utf8)
        for chunk in [1, 2, 3, 5, body.count] {
            let parts = try Self.read(body, boundary: "b", chunk: chunk).get()
            #expect(parts.map(\.0) == [[:], [:]], "chunks of \(chunk)")
            #expect(parts.map(\.1) == [Array("DICM\r\n\r\nrest".utf8), Array("X".utf8)], "chunks of \(chunk)")
        }
    }

    /// Part headers above the limit were refused when they came in pieces and accepted when their end came in
    /// the same chunk; at the limit they pass either way.
    @Test func headerLimitDoesNotDependOnChunking() throws {
        let limit = MultipartReader.maxHeaderBytes
        for (size, passes) in [(limit, true), (limit + 1, false), (limit + 4, false), (3 * limit, false)] {
            let body = Self.body(headerBytes: size)
            for chunk in [1, 3, 1000, 4096, body.count] {
                let outcome = Self.read(body, boundary: "b", chunk: chunk)
                #expect(((try? outcome.get()) != nil) == passes, "headers of \(size) bytes in chunks of \(chunk): \(outcome)")
            }
        }
    }

    /// Headers arriving a byte at a time are searched once (they were searched again for each byte: 16 KB of
    /// headers cost 130 million comparisons).
    @Test func tricklingHeadersAreSearchedOnce() throws {
        let body = Self.body(headerBytes: MultipartReader.maxHeaderBytes)
        let clock = ContinuousClock()
        let elapsed = try clock.measure { _ = try Self.read(body, boundary: "b", chunk: 1).get() }
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }

    /// A delimiter followed by anything but `--` or CRLF (the boundary inside a part's content) is malformed.
    @Test func boundaryInsideContentIsMalformed() {
        #expect(throws: MultipartReader.Failure.self) { try Self.read(Array("--b\r\n\r\nab\r\n--bc\r\n--b--".utf8), boundary: "b", chunk: 4).get() }
    }

    @Test func bodyWithoutItsClosingBoundaryFails() {
        #expect(throws: MultipartReader.Failure.self) { try Self.read(Array("--b\r\n\r\nabc".utf8), boundary: "b", chunk: 5).get() }
    }
}
