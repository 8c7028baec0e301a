import DICOM

/// Where Pixel Data lies in a file and which fragments make each frame (PS3.5 A.4): the Extended Offset
/// Table when present and consistent, else the Basic Offset Table, else one fragment per frame when the counts
/// agree, else the fragments that begin a codestream (JPEG SOI, J2K SOC, a JP2 signature).
extension FrameReader {
    static let itemTag: UInt32 = 0xE000_FFFE  // (FFFE,E000) read little endian as one 32-bit word
    static let sequenceDelimiterTag: UInt32 = 0xE0DD_FFFE

    static func locate(_ file: ByteSource, headerAt: UInt64, syntax: TransferSyntax, format: PixelFormat,
                       dataSet: DataSet, limits: PixelLimits) throws -> Layout {
        let headerBytes = try file.read(at: headerAt, count: Int(min(12, file.size - min(file.size, headerAt))))
        guard headerBytes.count >= 8 else { throw PixelError(.truncated, "the file ends inside the Pixel Data header") }
        let be = syntax.isBigEndian
        func u16(_ i: Int) -> UInt32 {
            be ? UInt32(headerBytes[i]) << 8 | UInt32(headerBytes[i + 1]) : UInt32(headerBytes[i + 1]) << 8 | UInt32(headerBytes[i])
        }
        func u32(_ i: Int) -> UInt32 { be ? u16(i) << 16 | u16(i + 2) : u16(i + 2) << 16 | u16(i) }
        var vr = VR.OW
        let length: UInt32
        let headerLength: Int
        if syntax.isExplicitVR {
            guard let v = VR(byte0: headerBytes[4], byte1: headerBytes[5]) else {
                throw PixelError(.invalidAttributes, "Pixel Data has an unknown VR")
            }
            vr = v
            if v.hasLongLength {
                guard headerBytes.count >= 12 else { throw PixelError(.truncated, "the file ends inside the Pixel Data header") }
                length = u32(8)
                headerLength = 12
            } else {
                length = u16(6)
                headerLength = 8
            }
        } else {
            length = u32(4)
            headerLength = 8
        }
        let valueStart = headerAt + UInt64(headerLength)
        if length == ElementHeader.undefinedLength {
            guard syntax.isEncapsulated else {
                throw PixelError(.invalidAttributes, "Pixel Data is encapsulated but \(syntax.uid) is an uncompressed syntax")
            }
            let (offsetTable, fragments) = try walkItems(file, from: valueStart, limits: limits)
            let frames = try frameRanges(fragments: fragments, offsetTable: offsetTable, format: format, dataSet: dataSet,
                                         source: file)
            return .encapsulated(fragments: fragments, frames: frames)
        }
        guard !syntax.isEncapsulated else {
            throw PixelError(.invalidAttributes, "Pixel Data has a defined length in the encapsulated syntax \(syntax.uid)")
        }
        // A file cut short keeps the frames it still holds; asking for a missing one is an error then.
        let available = file.size - min(file.size, valueStart)
        // Big endian words are swapped at the sample's width (as pydicom and DCMTK read 32-bit samples),
        // 8-bit samples only when the VR says OW.
        let swapWidth = be ? (format.bitsAllocated >= 16 ? format.bitsAllocated / 8 : (vr == .OW ? 2 : 1)) : 1
        return .native(offset: valueStart, length: min(UInt64(length), available), swapWidth: swapWidth)
    }

    /// The item headers of encapsulated pixel data: the offset table's bytes and the fragments after it.
    static func walkItems(_ file: ByteSource, from start: UInt64, limits: PixelLimits) throws -> ([UInt8], [Fragment]) {
        var pos = start
        var offsetTable: [UInt8]?
        var fragments: [Fragment] = []
        // 16 bytes of bookkeeping per fragment: bounded by what a plausible object holds.
        let maxFragments = limits.maxFrames * 16
        while pos + 8 <= file.size {
            let h = try file.read(at: pos, count: 8)
            let tag = UInt32(h[0]) | UInt32(h[1]) << 8 | UInt32(h[2]) << 16 | UInt32(h[3]) << 24
            let length = UInt32(h[4]) | UInt32(h[5]) << 8 | UInt32(h[6]) << 16 | UInt32(h[7]) << 24
            if tag == sequenceDelimiterTag { break }
            guard tag == itemTag else {
                throw PixelError(.corrupt, "expected a fragment item at offset \(pos), found tag \(String(tag, radix: 16))")
            }
            guard length != ElementHeader.undefinedLength else {
                throw PixelError(.corrupt, "fragment at offset \(pos) has undefined length")
            }
            let data = pos + 8
            guard UInt64(length) <= file.size - data else {
                throw PixelError(.truncated, "fragment at offset \(pos) (\(length) bytes) runs past the end of the file")
            }
            if offsetTable == nil {
                guard Int(length) <= 8 * limits.maxFrames else {
                    throw PixelError(.tooLarge, "Basic Offset Table of \(length) bytes")
                }
                offsetTable = try file.read(at: data, count: Int(length))
            } else {
                guard fragments.count < maxFragments else { throw PixelError(.tooLarge, "more than \(maxFragments) fragments") }
                fragments.append(Fragment(offset: data, length: Int(length)))
            }
            pos = data + UInt64(length)
        }
        guard offsetTable != nil else { throw PixelError(.truncated, "encapsulated Pixel Data has no items") }
        return (offsetTable ?? [], fragments)
    }

    /// Which fragments make each frame.
    static func frameRanges(fragments: [Fragment], offsetTable: [UInt8], format: PixelFormat, dataSet: DataSet,
                            source: ByteSource) throws -> [Range<Int>] {
        let n = format.numberOfFrames
        guard !fragments.isEmpty else { throw PixelError(.truncated, "encapsulated Pixel Data has no fragments") }
        if n == 1 { return [0..<fragments.count] }
        // Offsets in either table count from the first fragment's item header, 8 bytes of header per item.
        var itemOffsets: [UInt64] = []
        itemOffsets.reserveCapacity(fragments.count)
        var at: UInt64 = 0
        for f in fragments {
            itemOffsets.append(at)
            at += 8 + UInt64(f.length)
        }
        func ranges(starts: [UInt64]) -> [Range<Int>]? {
            guard starts.count == n, starts.first == 0 else { return nil }
            var indices: [Int] = []
            indices.reserveCapacity(n)
            var search = 0
            for s in starts {
                // Starts must increase: search only forward.
                var lo = search, hi = itemOffsets.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if itemOffsets[mid] < s { lo = mid + 1 } else { hi = mid }
                }
                guard lo < itemOffsets.count, itemOffsets[lo] == s, indices.last.map({ lo > $0 }) ?? true else { return nil }
                indices.append(lo)
                search = lo + 1
            }
            return (0..<n).map { indices[$0]..<($0 + 1 < n ? indices[$0 + 1] : fragments.count) }
        }
        // Extended Offset Table (7FE0,0001): 64-bit offsets, one per frame.
        if let eot = dataSet[.extendedOffsetTable]?.bytes, eot.count == 8 * n {
            let starts = (0..<n).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(eot[8 * i + $1]) << (8 * UInt64($1)) } }
            if let r = ranges(starts: starts) { return r }
        }
        if offsetTable.count == 4 * n {
            let starts = (0..<n).map { i in (0..<4).reduce(UInt64(0)) { $0 | UInt64(offsetTable[4 * i + $1]) << (8 * UInt64($1)) } }
            if let r = ranges(starts: starts) { return r }
        }
        if fragments.count == n { return (0..<n).map { $0..<($0 + 1) } }
        // No usable table: a frame starts with a fragment that starts a codestream.
        var starts: [Int] = []
        for (i, f) in fragments.enumerated() where f.length >= 2 {
            let head = try source.read(at: f.offset, count: min(f.length, 12))
            let soi = head[0] == 0xFF && (head[1] == 0xD8 || head[1] == 0x4F)
            let jp2 = head.count >= 12 && head[0..<8] == [0, 0, 0, 12, 0x6A, 0x50, 0x20, 0x20]
            if soi || jp2 { starts.append(i) }
        }
        guard starts.count == n, starts.first == 0 else {
            throw PixelError(.corrupt, "cannot tell which of the \(fragments.count) fragments make each of the \(n) frames "
                             + "(no usable offset table; \(starts.count) fragments start a codestream)")
        }
        return (0..<n).map { starts[$0]..<($0 + 1 < n ? starts[$0 + 1] : fragments.count) }
    }
}
