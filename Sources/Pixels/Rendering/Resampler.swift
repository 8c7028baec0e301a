/// Scales 8-bit images, one axis at a time: area averaging when shrinking (every source pixel counts by the
/// part of it an output pixel covers, so thumbnails do not alias), bilinear when enlarging. Weights are 14-bit
/// fixed point.
enum Resampler {
    struct Taps {
        var start: [Int32]
        var count: [Int32]
        var weights: [Int32]  // `maxTaps` per output position
        var maxTaps: Int
    }

    static let one: Int32 = 1 << 14

    static func taps(source: Int, destination: Int) -> Taps {
        let scale = Double(source) / Double(destination)
        var starts = [Int32](), counts = [Int32](), all = [[Int32]]()
        for o in 0..<destination {
            var w: [Double] = []
            var start = 0
            if scale >= 1 {
                let x0 = Double(o) * scale, x1 = Double(o + 1) * scale
                start = Int(x0)
                var s = start
                while Double(s) < x1 && s < source {
                    let cover = min(x1, Double(s + 1)) - max(x0, Double(s))
                    w.append(cover / scale)
                    s += 1
                }
            } else {
                let center = (Double(o) + 0.5) * scale - 0.5
                let left = Int(center.rounded(.down))
                let frac = center - Double(left)
                start = max(0, min(source - 1, left))
                let right = max(0, min(source - 1, left + 1))
                if right == start { w = [1] } else { w = [1 - frac, frac] }
            }
            // Fixed point, the rounding error put on the largest weight so they sum to exactly one.
            var fixed = w.map { Int32(($0 * Double(one)).rounded()) }
            let error = one - fixed.reduce(0, +)
            if let i = fixed.indices.max(by: { fixed[$0] < fixed[$1] }) { fixed[i] += error }
            starts.append(Int32(start))
            counts.append(Int32(fixed.count))
            all.append(fixed)
        }
        let maxTaps = all.map(\.count).max() ?? 1
        var weights = [Int32](repeating: 0, count: destination * maxTaps)
        for (o, w) in all.enumerated() { for (k, v) in w.enumerated() { weights[o * maxTaps + k] = v } }
        return Taps(start: starts, count: counts, weights: weights, maxTaps: maxTaps)
    }

    static func scale(_ image: RenderedImage, width: Int, height: Int) -> RenderedImage {
        if width == image.width && height == image.height { return image }
        if image.width % width == 0 && image.height % height == 0 && image.width / width == image.height / height {
            return boxDown(image, factor: image.width / width)
        }
        let c = image.components
        // Horizontal pass: image.height rows of `width` pixels.
        let hx = taps(source: image.width, destination: width)
        var mid = [UInt8](repeating: 0, count: width * image.height * c)
        image.pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                hx.weights.withUnsafeBufferPointer { wt in
                    for y in 0..<image.height {
                        let row = y * image.width * c, outRow = y * width * c
                        for x in 0..<width {
                            let s = Int(hx.start[x]), n = Int(hx.count[x]), base = x * hx.maxTaps
                            for k in 0..<c {
                                var acc: Int32 = 1 << 13
                                for t in 0..<n { acc += Int32(src[row + (s + t) * c + k]) * wt[base + t] }
                                dst[outRow + x * c + k] = UInt8(truncatingIfNeeded: min(255, acc >> 14))
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass.
        let vy = taps(source: image.height, destination: height)
        var out = [UInt8](repeating: 0, count: width * height * c)
        let stride = width * c
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                vy.weights.withUnsafeBufferPointer { wt in
                    var acc = [Int32](repeating: 0, count: stride)
                    for y in 0..<height {
                        let s = Int(vy.start[y]), n = Int(vy.count[y]), base = y * vy.maxTaps
                        for i in 0..<stride { acc[i] = 1 << 13 }
                        for t in 0..<n {
                            let w = wt[base + t], row = (s + t) * stride
                            for i in 0..<stride { acc[i] += Int32(src[row + i]) * w }
                        }
                        let outRow = y * stride
                        for i in 0..<stride { dst[outRow + i] = UInt8(truncatingIfNeeded: min(255, acc[i] >> 14)) }
                    }
                }
            }
        }
        return RenderedImage(width: width, height: height, components: c, pixels: out)
    }

    /// Shrinking by a whole factor (512 → 256): each output pixel the rounded mean of a factor × factor block.
    static func boxDown(_ image: RenderedImage, factor k: Int) -> RenderedImage {
        let c = image.components
        let w = image.width / k, h = image.height / k
        let srcStride = image.width * c, dstStride = w * c
        var out = [UInt8](repeating: 0, count: w * h * c)
        // 64-bit sums: a 65,535-pixel side shrunk to one pixel (viewport=1,1) is a block of 4.3e9 samples, and
        // 4,104² white samples already pass UInt32.max.
        let area = UInt64(k) * UInt64(k), half = area / 2
        if k == 2 {
            // The thumbnail case (512 → 256): four samples a pixel, summed in registers.
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<h {
                        let r0 = 2 * y * srcStride, r1 = r0 + srcStride, o = y * dstStride
                        for x in 0..<w {
                            for ch in 0..<c {
                                let s = 2 * x * c + ch
                                let sum = UInt16(src[r0 + s]) + UInt16(src[r0 + s + c]) + UInt16(src[r1 + s]) + UInt16(src[r1 + s + c])
                                dst[o + x * c + ch] = UInt8(truncatingIfNeeded: (sum + 2) >> 2)
                            }
                        }
                    }
                }
            }
            return RenderedImage(width: w, height: h, components: c, pixels: out)
        }
        var sums = [UInt64](repeating: 0, count: dstStride)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                sums.withUnsafeMutableBufferPointer { acc in
                    for y in 0..<h {
                        for i in 0..<dstStride { acc[i] = half }
                        for dy in 0..<k {
                            let row = (y * k + dy) * srcStride
                            for x in 0..<w {
                                for dx in 0..<k {
                                    let s = row + (x * k + dx) * c
                                    for ch in 0..<c { acc[x * c + ch] += UInt64(src[s + ch]) }
                                }
                            }
                        }
                        let o = y * dstStride
                        for i in 0..<dstStride { dst[o + i] = UInt8(truncatingIfNeeded: acc[i] / area) }
                    }
                }
            }
        }
        return RenderedImage(width: w, height: h, components: c, pixels: out)
    }
}
