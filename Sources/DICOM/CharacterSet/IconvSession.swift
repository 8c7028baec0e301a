#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversion descriptors opened on demand and closed when the session ends.
/// `iconv_t` is not thread-safe: a session belongs to one call (one decode or encode) and is never shared.
final class IconvSession {
    private var handles: [String: iconv_t] = [:]
    private var failed: Set<String> = []

    init() {}

    deinit {
        for handle in handles.values { _ = iconv_close(handle) }
    }

    private func handle(from: String, to: String) -> iconv_t? {
        let key = from + "\u{0}" + to
        if let h = handles[key] { return h }
        if failed.contains(key) { return nil }
        let opened: iconv_t? = iconv_open(to, from)
        guard let h = opened, Int(bitPattern: h) != -1 else {
            failed.insert(key)
            return nil
        }
        handles[key] = h
        return h
    }

    /// Converts `input` from `charset` to UTF-8, appending to `out`. Invalid or unmappable input becomes U+FFFD;
    /// an incomplete sequence at the end becomes one U+FFFD.
    func decode(_ input: [UInt8], from charset: String, into out: inout [UInt8]) {
        if input.isEmpty { return }
        guard let cd = handle(from: charset, to: "UTF-8") else {
            out.append(contentsOf: UTF8Output.replacement)
            return
        }
        _ = iconv(cd, nil, nil, nil, nil)
        run(cd, input, into: &out, strict: false)
    }

    /// How many bytes one undecodable character at `p` spans (at least 1), so that it becomes one U+FFFD.
    /// EUC-JP/EUC-KR/GB2312 characters are pairs of bytes A1-FE (three bytes after SS3 8F in EUC-JP);
    /// GBK and GB18030 two-byte characters are a lead 81-FE and a trail 40-FE other than 7F.
    private static func invalidLength(_ p: UnsafePointer<UInt8>, _ left: Int) -> Int {
        guard left >= 2 else { return 1 }
        let b0 = p[0], b1 = p[1]
        if b0 == 0x8F, left >= 3, b1 >= 0xA1, p[2] >= 0xA1 { return 3 }
        if b0 >= 0xA1, b0 <= 0xFE, b1 >= 0xA1, b1 <= 0xFE { return 2 }
        if b0 >= 0x81, b0 <= 0xFE, b1 >= 0x40, b1 <= 0xFE, b1 != 0x7F { return 2 }
        return 1
    }

    /// Converts all of `input`, or returns nil at the first byte sequence that cannot be converted.
    func convertStrict(_ input: [UInt8], from: String, to: String) -> [UInt8]? {
        guard let cd = handle(from: from, to: to) else { return nil }
        _ = iconv(cd, nil, nil, nil, nil)
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 2)
        guard run(cd, input, into: &out, strict: true) else { return nil }
        return out
    }

    /// Returns false when strict and the input could not be converted completely.
    @discardableResult
    private func run(_ cd: iconv_t, _ input: [UInt8], into out: inout [UInt8], strict: Bool) -> Bool {
        var chunk = [UInt8](repeating: 0, count: max(64, input.count * 4))
        let chunkSize = chunk.count
        return input.withUnsafeBufferPointer { inBuffer -> Bool in
            guard let inBase = inBuffer.baseAddress else { return true }
            var inPtr: UnsafeMutablePointer<CChar>? =
                UnsafeMutableRawPointer(mutating: inBase).assumingMemoryBound(to: CChar.self)
            var inLeft = inBuffer.count
            return chunk.withUnsafeMutableBufferPointer { outBuffer -> Bool in
                guard let outBase = outBuffer.baseAddress else { return false }
                while true {
                    var outPtr: UnsafeMutablePointer<CChar>? =
                        UnsafeMutableRawPointer(outBase).assumingMemoryBound(to: CChar.self)
                    var outLeft = chunkSize
                    let result = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    let error = errno
                    out.append(contentsOf: UnsafeBufferPointer(start: outBase, count: chunkSize - outLeft))
                    if result != -1 {
                        if inLeft == 0 {
                            // Flush any shift state the converter still holds.
                            var flushPtr: UnsafeMutablePointer<CChar>? =
                                UnsafeMutableRawPointer(outBase).assumingMemoryBound(to: CChar.self)
                            var flushLeft = chunkSize
                            _ = iconv(cd, nil, nil, &flushPtr, &flushLeft)
                            out.append(contentsOf: UnsafeBufferPointer(start: outBase, count: chunkSize - flushLeft))
                            return true
                        }
                        continue
                    }
                    switch error {
                    case E2BIG:
                        continue
                    case EILSEQ:
                        if strict { return false }
                        out.append(contentsOf: UTF8Output.replacement)
                        let skip = inPtr.map {
                            Self.invalidLength(UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), inLeft)
                        } ?? 1
                        inPtr = inPtr.map { $0 + skip }
                        inLeft -= skip
                        _ = iconv(cd, nil, nil, nil, nil)
                        if inLeft <= 0 { return true }
                    default:
                        // EINVAL: incomplete sequence at the end of the input (or an unexpected error).
                        if strict { return false }
                        out.append(contentsOf: UTF8Output.replacement)
                        return true
                    }
                }
            }
        }
    }
}
