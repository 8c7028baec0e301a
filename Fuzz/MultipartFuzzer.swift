// libFuzzer target for the STOW-RS body reader (RFC 2387, PS3.18 8.6.1.2): the input's first line is the
// request's Content-Type header, the rest its body. Built by Fuzz/run-all.sh as a module of
// Sources/DICOMweb/Multipart.swift and MediaType.swift with NIOCore from a SwiftPM build.
//
// The boundary is read from the header as StoreRoute reads it; the body goes through MultipartReader whole
// and again in chunks whose sizes the input chooses, as HTTP delivers it: the same parts (headers and bytes)
// and the same outcome (after a failure, which drops
// the request, only the outcome). The reader may hold at most a part's headers plus a delimiter, whatever the input.
// A thrown MultipartReader.Failure is a correct answer; a crash, a sanitizer report or a broken invariant
// (fatalError) is a bug.

import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let newline = input.firstIndex(of: 0x0A) ?? size
    let header = String(decoding: UnsafeRawBufferPointer(rebasing: input[0..<newline]), as: UTF8.self)
    let body = UnsafeRawBufferPointer(rebasing: input[min(size, newline + 1)...])

    // As StoreRoute.store: the first media range, multipart/related, a boundary of at most 200 bytes.
    guard let contentType = MediaRange.parse(header).first, contentType.type == "multipart/related",
          let boundary = contentType.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200
    else { return 0 }
    _ = MediaRange.parse(header).map { $0.admits("application/dicom") }

    let whole = read(body, boundary: boundary, chunkSizes: [body.count])
    var sizes: [Int] = []
    var seed = UInt32(truncatingIfNeeded: size) &* 2_654_435_761 | 1
    var covered = 0
    while covered < body.count {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
        let n = 1 + Int(seed % 257)
        sizes.append(n)
        covered += n
    }
    let pieces = read(body, boundary: boundary, chunkSizes: sizes)
    // A failure ends the request (400) and drops what its last chunk held, so only the outcome is compared then.
    switch (whole.failure, pieces.failure) {
    case (nil, nil):
        if whole != pieces { fatalError("the body reads differently in chunks:\n\(whole)\n\(pieces)") }
    case (nil, let failure?), (let failure?, nil):
        fatalError("the body fails only \(whole.failure == nil ? "in chunks" : "whole"): \(failure)")
    default:
        break
    }
    return 0
}

struct ReadBody: Equatable {
    var parts: [[String: String]] = []
    var bytes: [[UInt8]] = []
    var ended = 0
    var failure: String?
}

func read(_ body: UnsafeRawBufferPointer, boundary: String, chunkSizes: [Int]) -> ReadBody {
    var reader = MultipartReader(boundary: boundary)
    var out = ReadBody()
    var start = 0
    var delivered = 0
    for n in chunkSizes where start < body.count {
        let end = min(body.count, start + n)
        do {
            for event in try reader.feed(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: body[start..<end]))) {
                switch event {
                case .partStart(let headers):
                    out.parts.append(headers)
                    out.bytes.append([])
                case .bytes(let bytes):
                    guard !out.bytes.isEmpty else { fatalError("bytes before a part began") }
                    delivered += bytes.readableBytes
                    out.bytes[out.bytes.count - 1] += bytes.readableBytesView
                case .partEnd:
                    out.ended += 1
                }
            }
        } catch let failure as MultipartReader.Failure {
            out.failure = failure.description
            return out
        } catch {
            fatalError("the reader threw something else than a Failure: \(error)")
        }
        start = end
        if delivered > start { fatalError("more bytes delivered than received") }
    }
    do { try reader.finish() } catch let failure as MultipartReader.Failure {
        out.failure = failure.description
    } catch {
        fatalError("finish threw something else than a Failure: \(error)")
    }
    return out
}
