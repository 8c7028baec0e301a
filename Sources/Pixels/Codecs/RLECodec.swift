/// RLE Lossless (PS3.5 Annex G): per frame a 64-byte header (segment count, 15 offsets) and one PackBits
/// segment per byte of each sample, most significant byte first, each row coded on its own.
enum RLECodec {
    static func decode(_ data: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        let out = f.decoded
        let width = out.bytesPerSample
        let spp = f.samplesPerPixel
        let pixels = f.rows * f.columns
        let segmentCount = spp * width
        guard data.count >= 64 else { throw PixelError(.truncated, "RLE frame of \(data.count) bytes has no 64-byte header") }
        let header = (0..<16).map { i in (0..<4).reduce(0) { $0 | Int(data[4 * i + $1]) << (8 * $1) } }
        guard header[0] == segmentCount else {
            throw PixelError(.corrupt, "RLE header has \(header[0]) segments; \(spp) samples of \(f.bitsAllocated) bits need \(segmentCount)")
        }
        var offsets = Array(header[1...segmentCount])
        offsets.append(data.count)
        for k in 0..<segmentCount {
            guard offsets[k] >= 64, offsets[k] <= offsets[k + 1] else {
                throw PixelError(.corrupt, "RLE segment \(k + 1) offset \(offsets[k]) is out of order or inside the header")
            }
        }
        var bytes = [UInt8](repeating: 0, count: pixels * spp * width)
        let stride = spp * width
        try data.withUnsafeBufferPointer { srcBuffer in
            try bytes.withUnsafeMutableBufferPointer { dstBuffer in
                guard let src = srcBuffer.baseAddress, let dst = dstBuffer.baseAddress else { return }
                for k in 0..<segmentCount {
                    let sample = k / width, significance = k % width  // 0 = most significant byte
                    let first = sample * width + (width - 1 - significance)
                    let produced = unpack(src, from: offsets[k], to: offsets[k + 1], into: dst, start: first, stride: stride, count: pixels)
                    guard produced == pixels else {
                        throw PixelError(.truncated, "RLE segment \(k + 1) decodes to \(produced) bytes, \(pixels) expected")
                    }
                }
            }
        }
        return DecodedFrame(format: out, bytes: bytes)
    }

    /// PackBits from `src[from..<to]` into every `stride`-th byte of `dst` from `start`; returns the bytes made
    /// (at most `count`: output past it is dropped, as some encoders overrun a row).
    @inline(__always)
    static func unpack(_ src: UnsafePointer<UInt8>, from: Int, to: Int, into dst: UnsafeMutablePointer<UInt8>,
                       start: Int, stride: Int, count: Int) -> Int {
        var i = from, n = 0, d = start
        while i < to && n < count {
            let h = Int(Int8(bitPattern: src[i]))
            i += 1
            if h >= 0 {
                let run = min(h + 1, to - i, count - n)
                if stride == 1 {
                    UnsafeMutableRawPointer(dst + d).copyMemory(from: src + i, byteCount: run)
                    d += run
                } else {
                    for j in 0..<run { dst[d] = src[i + j]; d += stride }
                }
                n += run
                i += h + 1
            } else if h != -128 {
                guard i < to else { break }
                let v = src[i]
                i += 1
                let run = min(1 - h, count - n)
                if stride == 1 {
                    (dst + d).update(repeating: v, count: run)
                    d += run
                } else {
                    for _ in 0..<run { dst[d] = v; d += stride }
                }
                n += run
            }
        }
        return n
    }

    /// Encodes a decoded frame (samples of 1, 2 or 4 bytes) as one RLE frame.
    static func encode(_ frame: DecodedFrame) throws -> [UInt8] {
        let f = frame.format
        let width = f.bytesPerSample, spp = f.samplesPerPixel
        let segmentCount = spp * width
        guard segmentCount <= 15 else { throw PixelError(.unsupported, "RLE holds at most 15 segments, \(segmentCount) needed") }
        let stride = spp * width
        var out = [UInt8](repeating: 0, count: 64)
        out.reserveCapacity(frame.bytes.count + frame.bytes.count / 64 + 64)
        var offsets: [Int] = []
        var row = [UInt8](repeating: 0, count: f.columns)
        frame.bytes.withUnsafeBufferPointer { src in
            for k in 0..<segmentCount {
                offsets.append(out.count)
                let sample = k / width, significance = k % width
                let first = sample * width + (width - 1 - significance)
                for r in 0..<f.rows {
                    var p = (r * f.columns) * stride + first
                    for c in 0..<f.columns { row[c] = src[p]; p += stride }
                    pack(row, into: &out)
                }
                if out.count % 2 == 1 { out.append(0) }  // segments have even length (PS3.5 G.3.1)
            }
        }
        out[0] = UInt8(segmentCount)
        for (k, o) in offsets.enumerated() {
            for b in 0..<4 { out[4 + 4 * k + b] = UInt8(truncatingIfNeeded: o >> (8 * b)) }
        }
        return out
    }

    /// PackBits of one row: runs of three or more equal bytes replicated, the rest as literals (at most 128).
    static func pack(_ row: [UInt8], into out: inout [UInt8]) {
        let n = row.count
        var i = 0
        var literalStart = 0
        func flushLiterals(_ end: Int) {
            var s = literalStart
            while s < end {
                let len = min(128, end - s)
                out.append(UInt8(len - 1))
                out.append(contentsOf: row[s..<(s + len)])
                s += len
            }
        }
        while i < n {
            var run = 1
            while i + run < n && run < 128 && row[i + run] == row[i] { run += 1 }
            if run >= 3 {
                flushLiterals(i)
                out.append(UInt8(bitPattern: Int8(1 - run)))
                out.append(row[i])
                i += run
                literalStart = i
            } else {
                i += run
            }
        }
        flushLiterals(n)
    }
}
