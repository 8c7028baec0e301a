import DICOM
import Foundation

/// Output file format of a rendered image.
public enum ImageFileFormat: Sendable, Equatable {
    case png
    case jpeg(quality: Int)

    /// From a file name's extension (`.png`, `.jpg`, `.jpeg`).
    public init?(fileName: String, quality: Int = 90) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".png") { self = .png } else if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { self = .jpeg(quality: quality) } else { return nil }
    }
}

/// Frames to 8-bit images for people (PS3.4 N.2's grayscale pipeline, and colour): what `arca render`, and
/// WADO-RS rendered and thumbnail resources, serve.
public enum Renderer {
    /// Renders one frame (0-based) of a file into PNG or JPEG bytes. `window` overrides the file's VOI;
    /// `viewport` scales the image to fit inside it.
    public static func render(path: String, frame: Int = 0, window: Window? = nil, viewport: Viewport? = nil,
                              format: ImageFileFormat = .png, limits: PixelLimits = .default) throws -> [UInt8] {
        let reader = try FrameReader(path: path, limits: limits)
        let image = try render(reader, frame: frame, window: window, viewport: viewport)
        switch format {
        case .png: return try image.png()
        case .jpeg(let quality): return try image.jpeg(quality: quality)
        }
    }

    /// Renders one frame (0-based) to 8-bit pixels.
    public static func render(_ reader: FrameReader, frame: Int = 0, window: Window? = nil, viewport: Viewport? = nil) throws -> RenderedImage {
        let decoded = try reader.decodeFrame(frame)
        var image = try render(decoded, dataSet: reader.dataSet, frame: frame, window: window)
        if let viewport {
            let (w, h) = viewport.fit(image.width, image.height)
            image = Resampler.scale(image, width: w, height: h)
        }
        return image
    }

    /// A decoded frame to 8-bit pixels, with the header's display attributes.
    public static func render(_ frame: DecodedFrame, dataSet: DataSet, frame index: Int = 0, window: Window? = nil) throws -> RenderedImage {
        let f = frame.format
        switch f.photometric {
        case .monochrome1, .monochrome2:
            return greyscale(frame, pipeline: GreyscalePipeline(dataSet: dataSet, frame: index, format: f, window: window))
        case .paletteColor:
            return try palette(frame, dataSet: dataSet)
        case .rgb, .ybrFull, .ybrFull422, .ybrRCT, .ybrICT, .ybrPartial420:
            return colour(frame)
        }
    }

    // MARK: - Greyscale

    static func greyscale(_ frame: DecodedFrame, pipeline: GreyscalePipeline) -> RenderedImage {
        let f = frame.format
        let n = f.rows * f.columns
        var out = [UInt8](repeating: 0, count: n)
        if f.bitsStored > 16 {
            greyscaleWide(frame, pipeline: pipeline, into: &out)
            return RenderedImage(width: f.columns, height: f.rows, components: 1, pixels: out)
        }
        // Stored values of up to 16 bits go through one table over their whole range, indexed by the masked
        // word: for signed values flipping the sign bit turns two's complement into the offset from the lowest.
        let ex = SampleExtractor(f)
        let lowest = f.isSigned ? -(1 << (f.bitsStored - 1)) : 0
        let flip: UInt32 = f.isSigned ? ex.signBit : 0
        let shift = ex.shift, mask = ex.mask
        var lo = Int(mask), hi = 0
        if pipeline.voi == nil {
            forEachIndex(frame, shift: shift, mask: mask, flip: flip) { i, _ in
                if i < lo { lo = i }
                if i > hi { hi = i }
            }
        }
        var fallback = Window(center: 0, width: 1)
        if pipeline.voi == nil, lo <= hi {
            // The range of the modality values the frame holds (a LUT may not be monotonic: map each value).
            var mlo = Double.infinity, mhi = -Double.infinity
            if case .table = pipeline.modality {
                for v in (lo + lowest)...(hi + lowest) { let m = pipeline.modalityValue(v); mlo = min(mlo, m); mhi = max(mhi, m) }
            } else {
                let a = pipeline.modalityValue(lo + lowest), b = pipeline.modalityValue(hi + lowest)
                mlo = min(a, b)
                mhi = max(a, b)
            }
            fallback = GreyscalePipeline.minMaxWindow(mlo, mhi)
        }
        var table = [UInt8](repeating: 0, count: Int(mask) + 1)
        for i in 0...Int(mask) { table[i] = pipeline.grey(pipeline.modalityValue(i + lowest), fallback: fallback) }
        table.withUnsafeBufferPointer { lut in
            out.withUnsafeMutableBufferPointer { dst in
                forEachIndex(frame, shift: shift, mask: mask, flip: flip) { i, p in dst[p] = lut[i] }
            }
        }
        return RenderedImage(width: f.columns, height: f.rows, components: 1, pixels: out)
    }

    /// Calls `body` with each sample's table index (stored bits, sign bit flipped) and position.
    @inline(__always)
    static func forEachIndex(_ frame: DecodedFrame, shift: UInt32, mask: UInt32, flip: UInt32, _ body: (Int, Int) -> Void) {
        let n = frame.format.rows * frame.format.columns
        frame.bytes.withUnsafeBytes { raw in
            if frame.format.bytesPerSample == 1 {
                let p = raw.bindMemory(to: UInt8.self)
                for k in 0..<min(n, p.count) { body(Int(((UInt32(p[k]) >> shift) & mask) ^ flip), k) }
            } else if frame.format.bytesPerSample == 4 {
                // 32 bits allocated, at most 16 stored: each sample read as the 32-bit word it is (read as 16-bit
                // words, pixel k was half of sample k / 2).
                let p = raw.bindMemory(to: UInt32.self)
                for k in 0..<min(n, p.count) { body(Int(((UInt32(littleEndian: p[k]) >> shift) & mask) ^ flip), k) }
            } else {
                let p = raw.bindMemory(to: UInt16.self)
                for k in 0..<min(n, p.count) { body(Int(((UInt32(UInt16(littleEndian: p[k])) >> shift) & mask) ^ flip), k) }
            }
        }
    }

    /// Samples wider than 16 bits: each value mapped on its own.
    static func greyscaleWide(_ frame: DecodedFrame, pipeline: GreyscalePipeline, into out: inout [UInt8]) {
        let ex = SampleExtractor(frame.format)
        var minimum = Int.max, maximum = Int.min
        forEachValue(frame, ex) { v in
            if v < minimum { minimum = v }
            if v > maximum { maximum = v }
        }
        var fallback = Window(center: 0, width: 1)
        if minimum <= maximum {
            let a = pipeline.modalityValue(minimum), b = pipeline.modalityValue(maximum)
            fallback = GreyscalePipeline.minMaxWindow(min(a, b), max(a, b))
        }
        out.withUnsafeMutableBufferPointer { dst in
            var i = 0
            forEachValue(frame, ex) { v in
                dst[i] = pipeline.grey(pipeline.modalityValue(v), fallback: fallback)
                i += 1
            }
        }
    }

    /// Calls `body` with every sample's value in order.
    @inline(__always)
    static func forEachValue(_ frame: DecodedFrame, _ ex: SampleExtractor, _ body: (Int) -> Void) {
        let n = frame.format.rows * frame.format.columns * frame.format.samplesPerPixel
        frame.bytes.withUnsafeBytes { raw in
            switch frame.format.bytesPerSample {
            case 1:
                let p = raw.bindMemory(to: UInt8.self)
                for i in 0..<n { body(ex.value(UInt32(p[i]))) }
            case 2:
                let p = raw.bindMemory(to: UInt16.self)
                for i in 0..<n { body(ex.value(UInt32(UInt16(littleEndian: p[i])))) }
            default:
                let p = raw.bindMemory(to: UInt32.self)
                for i in 0..<n { body(ex.value(UInt32(littleEndian: p[i]))) }
            }
        }
    }

    // MARK: - Colour

    static func colour(_ frame: DecodedFrame) -> RenderedImage {
        let f = frame.format
        let n = f.rows * f.columns
        let ex = SampleExtractor(f)
        let down = max(0, f.bitsStored - 8)
        var out = [UInt8](repeating: 0, count: n * 3)
        out.withUnsafeMutableBufferPointer { dst in
            var i = 0
            forEachValue(frame, ex) { v in
                dst[i] = UInt8(truncatingIfNeeded: max(0, min(255, v >> down)))
                i += 1
            }
        }
        if f.photometric == .ybrFull || f.photometric == .ybrFull422 {
            ycbcrToRGB(&out)
        } else if f.photometric == .ybrPartial420 {
            ycbcrPartialToRGB(&out)
        }
        return RenderedImage(width: f.columns, height: f.rows, components: 3, pixels: out)
    }

    /// YBR_FULL to RGB (PS3.3 C.7.6.3.1.2, the JFIF equations), in fixed point.
    static func ycbcrToRGB(_ p: inout [UInt8]) {
        p.withUnsafeMutableBufferPointer { b in
            var i = 0
            while i + 2 < b.count {
                let y = Int32(b[i]) << 16, cb = Int32(b[i + 1]) - 128, cr = Int32(b[i + 2]) - 128
                let r = (y + 91881 * cr + 32768) >> 16
                let g = (y - 22554 * cb - 46802 * cr + 32768) >> 16
                let bl = (y + 116130 * cb + 32768) >> 16
                b[i] = UInt8(max(0, min(255, r)))
                b[i + 1] = UInt8(max(0, min(255, g)))
                b[i + 2] = UInt8(max(0, min(255, bl)))
                i += 3
            }
        }
    }

    /// YBR_PARTIAL (studio range, Y 16–235) to RGB.
    static func ycbcrPartialToRGB(_ p: inout [UInt8]) {
        p.withUnsafeMutableBufferPointer { b in
            var i = 0
            while i + 2 < b.count {
                let y = 1.1644 * (Double(b[i]) - 16), cb = Double(b[i + 1]) - 128, cr = Double(b[i + 2]) - 128
                b[i] = UInt8(max(0, min(255, (y + 1.596 * cr).rounded())))
                b[i + 1] = UInt8(max(0, min(255, (y - 0.392 * cb - 0.813 * cr).rounded())))
                b[i + 2] = UInt8(max(0, min(255, (y + 2.017 * cb).rounded())))
                i += 3
            }
        }
    }

    static func palette(_ frame: DecodedFrame, dataSet ds: DataSet) throws -> RenderedImage {
        let f = frame.format
        let luts = try [(Tag.redPaletteDescriptor, Tag.redPaletteData, Tag.segmentedRedPaletteData),
                        (.greenPaletteDescriptor, .greenPaletteData, .segmentedGreenPaletteData),
                        (.bluePaletteDescriptor, .bluePaletteData, .segmentedBluePaletteData)].map { d, data, segmented -> LookupTable in
            let descriptor = ds.ints(d)
            if let lut = LookupTable(descriptor: descriptor, data: ds[data], signedInput: false) { return lut }
            if let seg = ds[segmented], let lut = SegmentedPalette.expand(descriptor: descriptor, data: seg.bytes) { return lut }
            throw PixelError(.invalidAttributes, "PALETTE COLOR without a usable palette \(d)")
        }
        let n = f.rows * f.columns
        let ex = SampleExtractor(f)
        var out = [UInt8](repeating: 0, count: n * 3)
        let shifts = luts.map { max(0, $0.bits - 8) }
        out.withUnsafeMutableBufferPointer { dst in
            var i = 0
            forEachValue(frame, ex) { v in
                for c in 0..<3 { dst[3 * i + c] = UInt8(truncatingIfNeeded: max(0, min(255, luts[c].map(v) >> shifts[c]))) }
                i += 1
            }
        }
        return RenderedImage(width: f.columns, height: f.rows, components: 3, pixels: out)
    }
}

/// Segmented palette colour LUTs (PS3.3 C.7.9.2): discrete, linear and indirect segments expanded to a table.
enum SegmentedPalette {
    static func expand(descriptor: [Int], data: [UInt8]) -> LookupTable? {
        guard descriptor.count == 3 else { return nil }
        let count = descriptor[0] == 0 ? 65536 : descriptor[0]
        guard (1...65536).contains(count) else { return nil }
        var words: [Int] = []
        words.reserveCapacity(data.count / 2)
        for k in 0..<(data.count / 2) { words.append(Int(data[2 * k]) | Int(data[2 * k + 1]) << 8) }
        var out: [Int] = []
        var i = 0
        var starts: [Int] = []  // word offset of each segment, for indirect references
        while i < words.count && out.count < count {
            starts.append(i)
            let type = words[i]
            guard i + 1 < words.count else { break }
            let length = words[i + 1]
            switch type {
            case 0:
                guard i + 2 + length <= words.count else { return nil }
                out += words[(i + 2)..<(i + 2 + length)]
                i += 2 + length
            case 1:
                guard i + 2 < words.count, let y0 = out.last else { return nil }
                let y1 = words[i + 2], steps = max(1, length)
                for k in 1...steps { out.append(y0 + (y1 - y0) * k / steps) }
                i += 3
            case 2:
                guard i + 3 < words.count else { return nil }
                let offset = words[i + 2] | words[i + 3] << 16
                // Copy `length` segments starting at the segment at byte `offset`: expand them recursively once.
                guard let first = starts.firstIndex(of: offset / 2) else { return nil }
                var j = starts[first], copied = 0
                while copied < length && j < i {
                    guard j + 1 < words.count else { return nil }
                    let t = words[j], l = words[j + 1]
                    if t == 0 {
                        out += words[(j + 2)..<min(words.count, j + 2 + l)]
                        j += 2 + l
                    } else if t == 1, let y0 = out.last, j + 2 < words.count {
                        let y1 = words[j + 2], steps = max(1, l)
                        for k in 1...steps { out.append(y0 + (y1 - y0) * k / steps) }
                        j += 3
                    } else {
                        return nil
                    }
                    copied += 1
                }
                i += 4
            default:
                return nil
            }
            guard out.count <= 65536 else { return nil }
        }
        guard !out.isEmpty else { return nil }
        var bytes: [UInt8] = []
        for v in out.prefix(count) {
            bytes.append(UInt8(truncatingIfNeeded: v))
            bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        }
        while bytes.count < count * 2 { bytes += bytes.suffix(2) }
        return LookupTable(descriptor: [count == 65536 ? 0 : count, descriptor[1], descriptor[2]],
                           data: Element(tag: .redPaletteData, vr: .OW, bytes: bytes), signedInput: false)
    }
}
