import Foundation

/// Arca's own JPEG decoder for what Debian's libjpeg-turbo 2.1 cannot decode: lossless JPEG (process 14,
/// SOF3, predictors 1–7, 2–16 bits: transfer syntaxes .57 and .70) and DCT JPEG of 12 bits (processes 2 and 4,
/// SOF0/SOF1: .51). Huffman coding only (arithmetic coding and progressive are not in the DICOM syntaxes it
/// serves). Written from ITU-T T.81; every length and index is checked against the buffer.
enum JPEGDecoder {
    struct Component {
        var id: Int
        var h: Int
        var v: Int
        var quantTable: Int
        /// Samples, `planeWidth` × `planeHeight` (block-padded for DCT).
        var plane: [Int32] = []
        var planeWidth = 0
        var planeHeight = 0
        var dcPredictor = 0
    }

    struct FrameHeader {
        var sof: Int
        var precision: Int
        var height: Int
        var width: Int
        var components: [Component]
        var hMax: Int { components.map(\.h).max() ?? 1 }
        var vMax: Int { components.map(\.v).max() ?? 1 }
        var isLossless: Bool { sof == 0xC3 }
    }

    static func decode(_ data: [UInt8], format f: PixelFormat) throws -> DecodedFrame {
        try data.withUnsafeBufferPointer { buffer in
            var state = State(buffer: buffer)
            state.expected = f
            try state.run()
            guard let frame = state.frame else { throw PixelError(.corrupt, "JPEG: no frame header") }
            guard state.scans > 0 else { throw PixelError(.corrupt, "JPEG: no scan") }
            return try output(frame, format: f)
        }
    }

    /// The precision and coding process of a stream, from its SOF marker, without decoding.
    static func frameHeader(_ data: [UInt8]) throws -> (sof: Int, precision: Int) {
        try data.withUnsafeBufferPointer { buffer in
            var state = State(buffer: buffer)
            state.stopAtFrame = true
            try state.run()
            guard let frame = state.frame else { throw PixelError(.corrupt, "JPEG: no frame header") }
            return (frame.sof, frame.precision)
        }
    }

    /// Planes to a decoded frame: upsampled, colour-converted for YCbCr DCT, in the storage width.
    static func output(_ frame: FrameHeader, format f: PixelFormat) throws -> DecodedFrame {
        try checkDimensions("JPEG", width: frame.width, height: frame.height, components: frame.components.count, format: f)
        var out = f.codecOutput(precision: frame.precision)
        guard frame.precision <= 8 * out.bytesPerSample else {
            throw PixelError(.corrupt, "JPEG of \(frame.precision) bits in \(f.bitsAllocated)-bit storage")
        }
        let w = frame.width, h = frame.height, n = frame.components.count
        for comp in frame.components {
            let rows = ((h - 1) * comp.v) / frame.vMax + 1, columns = ((w - 1) * comp.h) / frame.hMax + 1
            guard comp.planeWidth >= columns, comp.plane.count >= comp.planeWidth * rows else {
                throw PixelError(.corrupt, "JPEG: component \(comp.id) is in no scan")
            }
        }
        let convert = !frame.isLossless && n == 3 && f.photometric != .rgb
        if !frame.isLossless && n == 3 { out.photometric = .rgb }
        if frame.isLossless && f.photometric == .ybrFull422 { out.photometric = .ybrFull }
        var bytes = [UInt8](repeating: 0, count: out.decodedFrameLength)
        let maxValue = Int32((1 << frame.precision) - 1)
        let hMax = frame.hMax, vMax = frame.vMax
        let signShift = Int32(32 - f.bitsStored)
        let signed = f.isSigned && frame.isLossless && out.highBit == f.bitsStored - 1
        bytes.withUnsafeMutableBytes { raw in
            // The common case, one full-size component: a straight copy into the storage width.
            if n == 1, let comp = frame.components.first, comp.planeWidth == w, comp.plane.count >= w * h, !signed {
                comp.plane.withUnsafeBufferPointer { plane in
                    switch out.bytesPerSample {
                    case 1:
                        let d = raw.bindMemory(to: UInt8.self)
                        for i in 0..<(w * h) { d[i] = UInt8(truncatingIfNeeded: plane[i]) }
                    case 2:
                        let d = raw.bindMemory(to: UInt16.self)
                        for i in 0..<(w * h) { d[i] = UInt16(truncatingIfNeeded: plane[i]) }
                    default:
                        let d = raw.bindMemory(to: UInt32.self)
                        for i in 0..<(w * h) { d[i] = UInt32(truncatingIfNeeded: plane[i]) }
                    }
                }
                return
            }
            for (c, comp) in frame.components.enumerated() {
                comp.plane.withUnsafeBufferPointer { plane in
                    for y in 0..<h {
                        let py = (y * comp.v) / vMax
                        let rowStart = py * comp.planeWidth
                        for x in 0..<w {
                            let px = (x * comp.h) / hMax
                            var v = plane[rowStart + px]
                            if signed { v = (v << signShift) >> signShift }
                            let i = (y * w + x) * n + c
                            switch out.bytesPerSample {
                            case 1: raw[i] = UInt8(truncatingIfNeeded: v)
                            case 2: raw.storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                            default: raw.storeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                            }
                        }
                    }
                }
            }
            if convert { ycbcrToRGB(raw, pixels: w * h, width: out.bytesPerSample, maxValue: maxValue, precision: frame.precision) }
        }
        return DecodedFrame(format: out, bytes: bytes)
    }

    /// JFIF YCbCr to RGB (T.871), full range, in place.
    static func ycbcrToRGB(_ raw: UnsafeMutableRawBufferPointer, pixels: Int, width: Int, maxValue: Int32, precision: Int) {
        let center = Double(1 << (precision - 1))
        func load(_ i: Int) -> Double {
            width == 1 ? Double(raw[i]) : Double(raw.load(fromByteOffset: 2 * i, as: UInt16.self))
        }
        func store(_ i: Int, _ v: Double) {
            let c = Int32(max(0, min(Double(maxValue), v.rounded())))
            if width == 1 { raw[i] = UInt8(truncatingIfNeeded: c) } else { raw.storeBytes(of: UInt16(truncatingIfNeeded: c), toByteOffset: 2 * i, as: UInt16.self) }
        }
        for p in 0..<pixels {
            let y = load(3 * p), cb = load(3 * p + 1) - center, cr = load(3 * p + 2) - center
            store(3 * p, y + 1.402 * cr)
            store(3 * p + 1, y - 0.344136 * cb - 0.714136 * cr)
            store(3 * p + 2, y + 1.772 * cb)
        }
    }

    /// Marker parsing and scan decoding over one buffer.
    struct State {
        let buffer: UnsafeBufferPointer<UInt8>
        var position = 0
        var frame: FrameHeader?
        var quant = [[Int32]](repeating: [Int32](repeating: 1, count: 64), count: 4)
        var dcTables = [HuffmanTable?](repeating: nil, count: 4)
        var acTables = [HuffmanTable?](repeating: nil, count: 4)
        var restartInterval = 0
        var scans = 0
        var stopAtFrame = false
        /// The frame the attributes describe: a frame header that disagrees is refused before its planes are
        /// allocated (a header may claim 65535 × 65535).
        var expected: PixelFormat?

        init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

        func u16(_ i: Int) throws -> Int {
            guard i + 1 < buffer.count else { throw PixelError(.truncated, "JPEG: stream ends inside a marker segment") }
            return Int(buffer[i]) << 8 | Int(buffer[i + 1])
        }

        mutating func run() throws {
            guard buffer.count >= 4, buffer[0] == 0xFF, buffer[1] == 0xD8 else { throw PixelError(.corrupt, "JPEG: no SOI marker") }
            position = 2
            while position + 1 < buffer.count {
                guard buffer[position] == 0xFF else {
                    // Some encoders leave stray bytes after a scan: look for the next marker.
                    position += 1
                    continue
                }
                let marker = Int(buffer[position + 1])
                position += 2
                switch marker {
                case 0xFF: position -= 1  // fill byte
                case 0xD8, 0x01, 0xD0...0xD7: continue
                case 0xD9: return
                default:
                    let length = try u16(position)
                    guard length >= 2, position + length <= buffer.count else {
                        throw PixelError(.truncated, "JPEG: marker 0xFF\(String(marker, radix: 16, uppercase: true)) segment runs past the end")
                    }
                    let segment = position + 2
                    let end = position + length
                    switch marker {
                    case 0xC0, 0xC1, 0xC3:
                        try readFrame(marker, segment, end)
                        if stopAtFrame { return }
                    case 0xC2, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                        throw PixelError(.unsupported, "JPEG process SOF\(marker - 0xC0) (progressive, hierarchical or arithmetic) is not supported")
                    case 0xC4: try readHuffman(segment, end)
                    case 0xDB: try readQuant(segment, end)
                    case 0xDD: restartInterval = try u16(segment)
                    case 0xDA:
                        position = end
                        try readScan(segment, end)
                        continue
                    default: break  // APPn, COM, DNL and others are skipped
                    }
                    position = end
                }
            }
        }

        mutating func readFrame(_ sof: Int, _ at: Int, _ end: Int) throws {
            guard frame == nil else { throw PixelError(.corrupt, "JPEG: a second frame header") }
            guard end - at >= 6 else { throw PixelError(.corrupt, "JPEG: short frame header") }
            let precision = Int(buffer[at])
            let height = try u16(at + 1), width = try u16(at + 3)
            let n = Int(buffer[at + 5])
            guard (2...16).contains(precision), (sof == 0xC3 || precision == 8 || precision == 12) else {
                throw PixelError(.corrupt, "JPEG: precision \(precision) is invalid for SOF\(sof - 0xC0)")
            }
            guard width > 0, height > 0, (1...4).contains(n), end - at >= 6 + 3 * n else {
                throw PixelError(.corrupt, "JPEG: frame header \(width)×\(height) with \(n) components")
            }
            var comps: [Component] = []
            for k in 0..<n {
                let p = at + 6 + 3 * k
                let hv = Int(buffer[p + 1])
                let c = Component(id: Int(buffer[p]), h: hv >> 4, v: hv & 15, quantTable: Int(buffer[p + 2]) & 3)
                guard (1...4).contains(c.h), (1...4).contains(c.v) else { throw PixelError(.corrupt, "JPEG: sampling factors \(c.h)×\(c.v)") }
                comps.append(c)
            }
            var header = FrameHeader(sof: sof, precision: precision, height: height, width: width, components: comps)
            if stopAtFrame { frame = header; return }
            if let f = expected { try checkDimensions("JPEG", width: width, height: height, components: n, format: f) }
            let hMax = header.hMax, vMax = header.vMax
            if header.isLossless {
                guard comps.allSatisfy({ $0.h == 1 && $0.v == 1 }) || n == 1 else {
                    throw PixelError(.unsupported, "lossless JPEG with subsampled components is not supported")
                }
                // The scan allocates the planes it fills.
                for k in 0..<n {
                    header.components[k].planeWidth = width
                    header.components[k].planeHeight = height
                }
            } else {
                let mcusX = (width + 8 * hMax - 1) / (8 * hMax), mcusY = (height + 8 * vMax - 1) / (8 * vMax)
                for k in 0..<n {
                    let c = header.components[k]
                    header.components[k].planeWidth = mcusX * c.h * 8
                    header.components[k].planeHeight = mcusY * c.v * 8
                    header.components[k].plane = [Int32](repeating: 0, count: mcusX * c.h * 8 * mcusY * c.v * 8)
                }
            }
            frame = header
        }

        mutating func readHuffman(_ at: Int, _ end: Int) throws {
            var p = at
            while p < end {
                guard p + 17 <= end else { throw PixelError(.corrupt, "JPEG: short Huffman table") }
                let tc = Int(buffer[p]) >> 4, th = Int(buffer[p]) & 3
                let counts = (0..<16).map { Int(buffer[p + 1 + $0]) }
                let total = counts.reduce(0, +)
                guard total <= 256, p + 17 + total <= end else { throw PixelError(.corrupt, "JPEG: Huffman table runs past its segment") }
                let values = Array(buffer[(p + 17)..<(p + 17 + total)])
                let table = try HuffmanTable(counts: counts, values: values)
                if tc == 0 { dcTables[th] = table } else { acTables[th] = table }
                p += 17 + total
            }
        }

        mutating func readQuant(_ at: Int, _ end: Int) throws {
            var p = at
            while p < end {
                let pq = Int(buffer[p]) >> 4, tq = Int(buffer[p]) & 3
                let size = pq == 0 ? 64 : 128
                guard p + 1 + size <= end else { throw PixelError(.corrupt, "JPEG: short quantization table") }
                var table = [Int32](repeating: 0, count: 64)
                for k in 0..<64 {
                    table[k] = pq == 0 ? Int32(buffer[p + 1 + k]) : Int32(buffer[p + 1 + 2 * k]) << 8 | Int32(buffer[p + 2 + 2 * k])
                }
                quant[tq] = table
                p += 1 + size
            }
        }

        mutating func readScan(_ at: Int, _ end: Int) throws {
            guard var header = frame else { throw PixelError(.corrupt, "JPEG: scan before the frame header") }
            guard end - at >= 1 else { throw PixelError(.corrupt, "JPEG: short scan header") }
            let ns = Int(buffer[at])
            guard (1...4).contains(ns), end - at >= 1 + 2 * ns + 3 else { throw PixelError(.corrupt, "JPEG: scan header of \(ns) components") }
            var members: [(index: Int, dc: Int, ac: Int)] = []
            for k in 0..<ns {
                let id = Int(buffer[at + 1 + 2 * k]), t = Int(buffer[at + 2 + 2 * k])
                guard let index = header.components.firstIndex(where: { $0.id == id }) else {
                    throw PixelError(.corrupt, "JPEG: scan names component \(id), which the frame does not have")
                }
                guard t >> 4 < 4, t & 15 < 4 else { throw PixelError(.corrupt, "JPEG: scan names Huffman table \(t >> 4)/\(t & 15)") }
                members.append((index, t >> 4, t & 15))
            }
            let ss = Int(buffer[at + 1 + 2 * ns]), al = Int(buffer[at + 3 + 2 * ns]) & 15
            // Frame and tables move into the scan decoder and back, so the planes are written in place.
            frame = nil
            defer { frame = header }
            var reader = JPEGBitReader(buffer, at: end)
            if header.isLossless {
                try decodeLossless(&header, members: members, predictor: ss, pointTransform: al, reader: &reader)
            } else {
                try decodeDCT(&header, members: members, reader: &reader)
            }
            position = reader.markerAt ?? reader.position
            scans += 1
        }

        // MARK: - Lossless (T.81 H)

        func decodeLossless(_ header: inout FrameHeader, members: [(index: Int, dc: Int, ac: Int)], predictor: Int,
                            pointTransform pt: Int, reader: inout JPEGBitReader) throws {
            guard (0...7).contains(predictor) else { throw PixelError(.corrupt, "JPEG: lossless predictor \(predictor)") }
            var tables: [HuffmanTable] = []
            for m in members {
                guard let t = dcTables[m.dc] else { throw PixelError(.corrupt, "JPEG: Huffman table \(m.dc) is not defined") }
                tables.append(t)
            }
            let w = header.width, h = header.height
            let initial = Int32(1 << max(0, header.precision - pt - 1))
            let n = members.count
            // All components of the scan interleaved in one buffer, split into planes at the end: one
            // unsafe buffer for the whole loop (a per-sample closure over each plane cost half the time).
            var samples = [Int32](repeating: 0, count: w * h * n)
            let restart = restartInterval
            let rowStride = w * n
            let huffman = ScanHuffman(tables)
            defer { huffman.deallocate() }
            // The reader as a local: its fields stay in registers through the loop (as an inout captured by the
            // closure they went through memory on every bit: a third of the time).
            var r = reader
            defer { reader = r }
            if n == 1 && restart == 0 {
                // The common case (one component, no restart interval): one loop per row and predictor, no
                // per-sample decisions.
                try samples.withUnsafeMutableBufferPointer { s in
                    var rd = r  // a local of the closure: kept in registers
                    defer { r = rd }
                    s[0] = (initial &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                    for x in 1..<max(1, w) { s[x] = (s[x - 1] &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF }
                    for y in 1..<max(1, h) {
                        let row = y * w
                        s[row] = (s[row - w] &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                        guard w > 1 else { continue }
                        switch predictor {
                        case 0, 1:
                            for i in (row + 1)..<(row + w) { s[i] = (s[i - 1] &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF }
                        case 2:
                            for i in (row + 1)..<(row + w) { s[i] = (s[i - w] &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF }
                        case 3:
                            for i in (row + 1)..<(row + w) { s[i] = (s[i - w - 1] &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF }
                        case 4:
                            for i in (row + 1)..<(row + w) {
                                let p = s[i - 1] &+ s[i - w] &- s[i - w - 1]
                                s[i] = (p &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                            }
                        case 5:
                            for i in (row + 1)..<(row + w) {
                                let p = s[i - 1] &+ ((s[i - w] &- s[i - w - 1]) >> 1)
                                s[i] = (p &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                            }
                        case 6:
                            for i in (row + 1)..<(row + w) {
                                let p = s[i - w] &+ ((s[i - 1] &- s[i - w - 1]) >> 1)
                                s[i] = (p &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                            }
                        default:
                            for i in (row + 1)..<(row + w) {
                                let p = (s[i - 1] &+ s[i - w]) >> 1
                                s[i] = (p &+ Int32(truncatingIfNeeded: try rd.decodeDifference(huffman, 0))) & 0xFFFF
                            }
                        }
                    }
                }
            } else {
            try samples.withUnsafeMutableBufferPointer { s in
                var mcuCount = 0
                var resetRow = 0, resetColumn = 0
                for y in 0..<h {
                    for x in 0..<w {
                        if restart > 0 && mcuCount > 0 && mcuCount % restart == 0 {
                            try r.restart()
                            resetRow = y
                            resetColumn = x
                        }
                        mcuCount += 1
                        let firstRow = y == resetRow || (y == resetRow + 1 && x < resetColumn)
                        for k in 0..<n {
                            let diff = try r.decodeDifference(huffman, k)
                            let i = (y * w + x) * n + k
                            let pred: Int32
                            if y == resetRow && x == resetColumn {
                                pred = initial
                            } else if firstRow {
                                pred = x > 0 ? s[i - n] : s[i - rowStride]
                            } else if x == 0 {
                                pred = s[i - rowStride]
                            } else {
                                let ra = s[i - n], rb = s[i - rowStride], rc = s[i - rowStride - n]
                                switch predictor {
                                case 0, 1: pred = ra
                                case 2: pred = rb
                                case 3: pred = rc
                                case 4: pred = ra + rb - rc
                                case 5: pred = ra + ((rb - rc) >> 1)
                                case 6: pred = rb + ((ra - rc) >> 1)
                                default: pred = (ra + rb) >> 1
                                }
                            }
                            s[i] = (pred &+ Int32(truncatingIfNeeded: diff)) & 0xFFFF
                        }
                    }
                }
            }
            }
            if r.overran { throw PixelError(.truncated, "JPEG: scan data ends before the last sample") }
            for (k, m) in members.enumerated() {
                if n == 1 {
                    if pt > 0 { samples.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] <<= Int32(pt) } } }
                    header.components[m.index].plane = samples
                } else {
                    var plane = [Int32](repeating: 0, count: w * h)
                    for i in 0..<(w * h) { plane[i] = samples[i * n + k] << Int32(pt) }
                    header.components[m.index].plane = plane
                }
            }
        }

        // MARK: - DCT, sequential Huffman (T.81 F)

        func decodeDCT(_ header: inout FrameHeader, members: [(index: Int, dc: Int, ac: Int)], reader: inout JPEGBitReader) throws {
            var dc: [HuffmanTable] = [], ac: [HuffmanTable] = []
            for m in members {
                guard let d = dcTables[m.dc], let a = acTables[m.ac] else { throw PixelError(.corrupt, "JPEG: Huffman table not defined") }
                dc.append(d)
                ac.append(a)
            }
            let hMax = header.hMax, vMax = header.vMax
            let single = members.count == 1
            let mcusX: Int, mcusY: Int
            if single {
                let c = header.components[members[0].index]
                let cw = (header.width * c.h + hMax - 1) / hMax, ch = (header.height * c.v + vMax - 1) / vMax
                mcusX = (cw + 7) / 8
                mcusY = (ch + 7) / 8
            } else {
                mcusX = (header.width + 8 * hMax - 1) / (8 * hMax)
                mcusY = (header.height + 8 * vMax - 1) / (8 * vMax)
            }
            let center = Int32(1 << (header.precision - 1)), maxValue = Int32((1 << header.precision) - 1)
            var coefficients = [Int32](repeating: 0, count: 64)
            var samples = [Int32](repeating: 0, count: 64)
            var predictors = [Int](repeating: 0, count: members.count)
            var planes = members.map { header.components[$0.index].plane }
            defer { for (k, m) in members.enumerated() { header.components[m.index].plane = planes[k] } }
            let restart = restartInterval
            var mcuCount = 0
            for my in 0..<mcusY {
                for mx in 0..<mcusX {
                    if restart > 0 && mcuCount > 0 && mcuCount % restart == 0 {
                        try reader.restart()
                        for k in predictors.indices { predictors[k] = 0 }
                    }
                    mcuCount += 1
                    for (k, m) in members.enumerated() {
                        let comp = header.components[m.index]
                        let q = quant[comp.quantTable]
                        let bh = single ? 1 : comp.h, bv = single ? 1 : comp.v
                        for by in 0..<bv {
                            for bx in 0..<bh {
                                for i in 0..<64 { coefficients[i] = 0 }
                                let t = try reader.decode(dc[k])
                                guard t <= 16 else { throw PixelError(.corrupt, "JPEG: DC category \(t)") }
                                predictors[k] += reader.receiveExtend(t)
                                coefficients[0] = Int32(truncatingIfNeeded: predictors[k]) &* q[0]
                                var i = 1
                                while i < 64 {
                                    let rs = try reader.decode(ac[k])
                                    let r = rs >> 4, s = rs & 15
                                    if s == 0 {
                                        if r != 15 { break }
                                        i += 16
                                        continue
                                    }
                                    i += r
                                    guard i < 64 else { throw PixelError(.corrupt, "JPEG: AC run past the block") }
                                    coefficients[Int(zigzag[i])] = Int32(truncatingIfNeeded: reader.receiveExtend(s)) &* q[i]
                                    i += 1
                                }
                                DCT.inverse(coefficients, into: &samples)
                                let x0 = ((single ? mx : mx * comp.h + bx)) * 8
                                let y0 = ((single ? my : my * comp.v + by)) * 8
                                let pw = comp.planeWidth
                                guard x0 + 8 <= pw, (y0 + 8) * pw <= planes[k].count else { continue }
                                planes[k].withUnsafeMutableBufferPointer { plane in
                                    for yy in 0..<8 {
                                        for xx in 0..<8 {
                                            plane[(y0 + yy) * pw + x0 + xx] = max(0, min(maxValue, samples[yy * 8 + xx] + center))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if reader.overran { throw PixelError(.truncated, "JPEG: scan data ends before the last block") }
        }
    }

    /// Zig-zag order to natural order (T.81 Figure A.6).
    static let zigzag: [UInt8] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]
}

/// The 8×8 inverse DCT (T.81 A.3.3), separable, in double precision: more exact than the integer IDCTs of
/// the libraries, so it stays within their own tolerance of the reference.
enum DCT {
    static let basis: [Double] = {
        var t = [Double](repeating: 0, count: 64)
        for x in 0..<8 {
            for u in 0..<8 {
                let c = u == 0 ? 1 / 2.0.squareRoot() : 1.0
                t[x * 8 + u] = c / 2 * cos(Double(2 * x + 1) * Double(u) * Double.pi / 16)
            }
        }
        return t
    }()

    static func inverse(_ coefficients: [Int32], into out: inout [Int32]) {
        var tmp = [Double](repeating: 0, count: 64)
        // Rows: tmp[v][x] = Σu basis[x][u] F[v][u]
        for v in 0..<8 {
            var allZero = true
            for u in 1..<8 where coefficients[v * 8 + u] != 0 { allZero = false; break }
            if allZero {
                let dc = Double(coefficients[v * 8]) * basis[0]
                for x in 0..<8 { tmp[v * 8 + x] = dc }
                continue
            }
            for x in 0..<8 {
                var s = 0.0
                for u in 0..<8 { s += basis[x * 8 + u] * Double(coefficients[v * 8 + u]) }
                tmp[v * 8 + x] = s
            }
        }
        // Columns.
        for x in 0..<8 {
            for y in 0..<8 {
                var s = 0.0
                for v in 0..<8 { s += basis[y * 8 + v] * tmp[v * 8 + x] }
                // A corrupt block can hold any coefficients: clamp before the conversion (which traps out of range).
                out[y * 8 + x] = Int32(max(-1e9, min(1e9, s.rounded())))
            }
        }
    }
}
