import DICOM

/// A frame-level view of one instance: its header (everything before Pixel Data), its pixel format, and each
/// frame's bytes as stored (a native frame, or an encapsulated frame's codestream), read on demand.
///
/// Opened on a path, it reads the header, then only the 8-byte item headers of encapsulated pixel data (or
/// the Basic/Extended Offset Table), and for a frame only that frame's bytes: one frame of a 1 GB multi-frame
/// object costs the frame, not the file. A deflated file is the exception: it must be inflated whole.
public final class FrameReader {
    /// The dataset up to (not including) Pixel Data, the file meta header and the transfer syntax.
    public let dataSet: DataSet
    public let meta: DataSet
    public let transferSyntax: TransferSyntax
    public let format: PixelFormat
    public let limits: PixelLimits
    let layout: Layout
    let source: ByteSource

    enum Layout {
        /// Native pixel data: `length` bytes at `offset`, swapped in `swapWidth`-byte units (big endian).
        case native(offset: UInt64, length: UInt64, swapWidth: Int)
        /// Encapsulated: the fragments (data offset and length, item headers excluded) and, per frame, the
        /// range of fragments it spans.
        case encapsulated(fragments: [Fragment], frames: [Range<Int>])
    }

    struct Fragment: Equatable {
        var offset: UInt64
        var length: Int
    }

    public var numberOfFrames: Int { format.numberOfFrames }
    public var syntax: PixelSyntax? { PixelSyntax.forUID(transferSyntax.uid) }

    /// Opens a Part-10 file (or a bare dataset).
    public convenience init(path: String, limits: PixelLimits = .default) throws {
        let file = try FileSource(path: path)
        var parser = Part10Parser(options: .headerOnly)
        var handler = HeaderHandler()
        var offset: UInt64 = 0
        let chunk = 64 * 1024
        while offset < file.size && !parser.isStopped {
            let n = Int(min(UInt64(chunk), file.size - offset))
            let bytes = try file.read(at: offset, count: n)
            do {
                try parser.feed(bytes, to: &handler)
            } catch {
                throw PixelError(.invalidAttributes, "\(path): \(error)")
            }
            offset += UInt64(n)
            if let ts = parser.transferSyntax, ts.isDeflated { break }
        }
        if let ts = parser.transferSyntax, ts.isDeflated {
            // The dataset is one deflate stream: pixel data has no file offset. Inflate it whole, within a budget:
            // a few megabytes of zeros inflate to gigabytes.
            let whole: DICOMFile
            do { whole = try DICOMFile.read(path: path, byteBudget: Self.deflatedBudget) } catch {
                throw PixelError(.invalidAttributes, "\(path): \(error)")
            }
            try self.init(dataSet: whole.dataSet, meta: whole.meta, transferSyntax: whole.transferSyntax, limits: limits)
            return
        }
        if !parser.isStopped {
            do { try parser.finish(&handler) } catch { throw PixelError(.invalidAttributes, "\(path): \(error)") }
        }
        guard let ts = parser.transferSyntax else { throw PixelError(.invalidAttributes, "\(path): not a DICOM file") }
        guard let stop = handler.stop, stop.tag == .pixelData else {
            throw PixelError(.noPixelData, "\(path) has no Pixel Data (7FE0,0010)")
        }
        let ds = handler.builder.dataSet
        let format = try PixelFormat(ds, limits: limits)
        let layout = try Self.locate(file, headerAt: stop.offset, syntax: ts, format: format, dataSet: ds, limits: limits)
        self.init(dataSet: ds, meta: parser.meta, transferSyntax: ts, format: format, limits: limits, layout: layout, source: file)
    }

    /// The most a deflated dataset may inflate to (it is decoded in memory, having no file offsets).
    static let deflatedBudget = 1 << 30

    /// A dataset already in memory, with its Pixel Data element.
    public convenience init(dataSet full: DataSet, meta: DataSet = DataSet(), transferSyntax: TransferSyntax,
                            limits: PixelLimits = .default) throws {
        guard let pixels = full[.pixelData] else { throw PixelError(.noPixelData, "the dataset has no Pixel Data (7FE0,0010)") }
        var header = full
        header.removeAll(in: Tag.pixelData...Tag(rawValue: 0xFFFF_FFFF))
        let format = try PixelFormat(header, limits: limits)
        switch pixels.value {
        case .bytes(let b):
            // Values in memory are little endian whatever the syntax they came in.
            self.init(dataSet: header, meta: meta, transferSyntax: transferSyntax, format: format, limits: limits,
                      layout: .native(offset: 0, length: UInt64(b.count), swapWidth: 1), source: MemorySource(b))
        case .fragments(let px):
            var joined: [UInt8] = []
            var fragments: [Fragment] = []
            for f in px.fragments {
                fragments.append(Fragment(offset: UInt64(joined.count), length: f.count))
                joined.append(contentsOf: f)
            }
            let source = MemorySource(joined)
            let frames = try Self.frameRanges(fragments: fragments, offsetTable: px.offsetTable, format: format,
                                              dataSet: header, source: source)
            self.init(dataSet: header, meta: meta, transferSyntax: transferSyntax, format: format, limits: limits,
                      layout: .encapsulated(fragments: fragments, frames: frames), source: source)
        case .sequence:
            throw PixelError(.invalidAttributes, "Pixel Data is a sequence")
        }
    }

    init(dataSet: DataSet, meta: DataSet, transferSyntax: TransferSyntax, format: PixelFormat, limits: PixelLimits,
         layout: Layout, source: ByteSource) {
        self.dataSet = dataSet
        self.meta = meta
        self.transferSyntax = transferSyntax
        self.format = format
        self.limits = limits
        self.layout = layout
        self.source = source
    }

    public var isEncapsulated: Bool {
        if case .encapsulated = layout { return true }
        return false
    }

    /// Frame `index` (0-based) as stored: a native frame's bytes (little endian, 1-bit data starting at bit 0),
    /// or an encapsulated frame's fragments joined.
    public func frameData(_ index: Int) throws -> [UInt8] {
        guard index >= 0, index < format.numberOfFrames else {
            throw PixelError(.noSuchFrame, "frame \(index + 1) requested; the instance has \(format.numberOfFrames)")
        }
        switch layout {
        case .native(let offset, let length, let swapWidth):
            return try nativeFrame(index, offset: offset, length: length, swapWidth: swapWidth)
        case .encapsulated(let fragments, let frames):
            let range = frames[index]
            guard let first = range.first, let last = range.last else { return [] }
            let total = fragments[range].reduce(0) { $0 + $1.length }
            guard total <= limits.maxFrameBytes else {
                throw PixelError(.tooLarge, "frame \(index + 1) is \(total) bytes compressed, over the limit of \(limits.maxFrameBytes)")
            }
            // Fragments of a frame follow each other: one read, then the 8-byte item headers squeezed out.
            let start = fragments[first].offset
            let end = fragments[last].offset + UInt64(fragments[last].length)
            var bytes = try source.read(at: start, count: Int(end - start))
            if range.count > 1 {
                var write = 0
                for f in fragments[range] {
                    let from = Int(f.offset - start)
                    if write != from { bytes.withUnsafeMutableBytes { $0.baseAddress.map { ($0 + write).copyMemory(from: $0 + from, byteCount: f.length) } } }
                    write += f.length
                }
                bytes.removeLast(bytes.count - write)
            }
            return bytes
        }
    }

    private func nativeFrame(_ index: Int, offset: UInt64, length: UInt64, swapWidth: Int) throws -> [UInt8] {
        let frameBits = UInt64(format.nativeFrameBits)
        let firstBit = UInt64(index) * frameBits
        let startByte = firstBit / 8
        let shift = Int(firstBit % 8)
        let count = format.nativeFrameLength + (shift > 0 ? 1 : 0)
        guard (firstBit + frameBits + 7) / 8 <= length else {
            throw PixelError(.truncated, "frame \(index + 1) ends at byte \((firstBit + frameBits + 7) / 8) of Pixel Data, "
                             + "which has \(length) (\(format.rows)×\(format.columns), \(format.bitsAllocated) bits allocated, "
                             + "\(format.numberOfFrames) frames)")
        }
        // Big endian words are counted from the value's first byte (PS3.5 7.3): a frame of 8-bit OW samples with
        // an odd length starts inside a word, so the read starts at that word and what precedes the frame is
        // dropped once swapped.
        let lead = swapWidth > 1 ? startByte % UInt64(swapWidth) : 0
        var wanted = UInt64(count) + lead
        if swapWidth > 1, wanted % UInt64(swapWidth) != 0 { wanted += UInt64(swapWidth) - wanted % UInt64(swapWidth) }
        let readCount = Int(min(wanted, length - (startByte - lead)))
        var bytes = try source.read(at: offset + startByte - lead, count: readCount)
        if swapWidth > 1 { Self.swap(&bytes, width: swapWidth) }
        if lead > 0 { bytes.removeFirst(min(Int(lead), bytes.count)) }
        if shift > 0 {
            // 1-bit frames are packed end to end: realign this one to bit 0 (bits fill each byte from bit 0).
            if bytes.count < count { bytes.append(0) }
            for i in 0..<(count - 1) { bytes[i] = (bytes[i] >> UInt8(shift)) | (bytes[i + 1] << UInt8(8 - shift)) }
            bytes.removeLast()
        }
        if bytes.count > format.nativeFrameLength { bytes.removeLast(bytes.count - format.nativeFrameLength) }
        return bytes
    }

    static func swap(_ bytes: inout [UInt8], width: Int) {
        let n = bytes.count - bytes.count % width
        bytes.withUnsafeMutableBufferPointer { b in
            var i = 0
            while i < n {
                var lo = i, hi = i + width - 1
                while lo < hi { b.swapAt(lo, hi); lo += 1; hi -= 1 }
                i += width
            }
        }
    }
}

/// Collects the header and notes where the parser stopped (the Pixel Data element's header).
struct HeaderHandler: ParseEventHandler {
    var builder = DataSetBuilder()
    var stop: ElementHeader?

    mutating func handle(_ event: ParseEvent) throws {
        if case .stopped(let h) = event { stop = h }
        try builder.handle(event)
    }

    mutating func didReadFileMeta(_ meta: DataSet, transferSyntax: TransferSyntax) throws {
        try builder.didReadFileMeta(meta, transferSyntax: transferSyntax)
    }
}
