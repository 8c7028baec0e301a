import DICOM

/// Rewrites an instance in another transfer syntax, frame by frame: memory holds the header and one frame
/// at a time, whatever the number of frames. The header is kept except what the pixels' new form changes
/// (Photometric Interpretation after a colour JPEG, Planar Configuration, High Bit, the offset tables, group
/// lengths); elements after Pixel Data (trailing padding, signatures that the new bytes would break) are dropped.
public enum Transcoder {
    public struct Result: Sendable, Equatable {
        public var frames: Int
        /// Bytes written (the whole file, or the dataset when the meta header was not asked for).
        public var bytesWritten: UInt64
        /// The pixel data's value length in the new syntax (fragments with their item headers when encapsulated).
        public var pixelDataBytes: UInt64
    }

    /// Transcodes the file at `path` into a new Part-10 file at `output` (written beside it under a temporary
    /// name, fsynced and renamed into place).
    @discardableResult
    public static func transcode(path: String, to target: PixelSyntax, output: String, limits: PixelLimits = .default) throws -> Result {
        let reader = try FrameReader(path: path, limits: limits)
        return try transcode(reader, to: target, output: output)
    }

    @discardableResult
    public static func transcode(_ reader: FrameReader, to target: PixelSyntax, output: String) throws -> Result {
        let file = try OutputFile(path: output)
        do {
            let result = try transcode(reader, to: target, fileMeta: true, reservingOffsetTable: true) { bytes in
                try file.append(bytes)
            } patch: { offset, bytes in
                try file.write(bytes, at: offset)
            }
            try file.commit()
            return result
        } catch {
            file.discard()
            throw error
        }
    }

    /// Streams the transcoded instance to `write` in pieces: the Part-10 file (preamble, meta header, dataset)
    /// when `fileMeta`, else only the dataset (what a C-STORE sub-operation sends). Encapsulated frames go one
    /// fragment each with an empty Basic Offset Table, as nothing can be patched in a stream.
    @discardableResult
    public static func transcode(_ reader: FrameReader, to target: PixelSyntax, fileMeta: Bool = true,
                                 write: ([UInt8]) throws -> Void) throws -> Result {
        try transcode(reader, to: target, fileMeta: fileMeta, reservingOffsetTable: false, write: write, patch: nil)
    }

    static func transcode(_ reader: FrameReader, to target: PixelSyntax, fileMeta: Bool, reservingOffsetTable: Bool,
                          write: ([UInt8]) throws -> Void, patch: ((UInt64, [UInt8]) throws -> Void)?) throws -> Result {
        guard FrameEncoder.canEncode(target) else {
            throw PixelError(.unsupported, "Arca does not write \(target.name); choose RLE, JPEG-LS lossless, JPEG 2000 lossless or an uncompressed syntax")
        }
        let source = reader.format
        let sourceSyntax = reader.syntax
        let rawCopy = target.codec == .native && !reader.isEncapsulated
        // The format the new pixel data has: the stored one for a native copy, else what decoding gives.
        var out: PixelFormat
        // An encapsulated frame's decoded form (a JPEG's colour model) is known only once one is decoded: the
        // first frame is decoded here and used again below.
        var firstFrame: DecodedFrame?
        if rawCopy {
            out = source
        } else {
            guard source.bitsAllocated > 1 else { throw PixelError(.unsupported, "1-bit images are kept uncompressed") }
            if reader.isEncapsulated {
                let first = try reader.decodeFrame(0)
                firstFrame = first
                out = first.format
            } else {
                out = source.decoded
            }
            out = target.codec == .native ? out : FrameEncoder.outputFormat(out, syntax: target)
        }
        func decoded(_ i: Int) throws -> DecodedFrame {
            if i == 0, let firstFrame { return firstFrame }
            return try reader.decodeFrame(i)
        }
        let ts = target.transferSyntax
        var header = reader.dataSet
        update(&header, format: out, numberOfFrames: source.numberOfFrames,
               lossyMethod: sourceSyntax?.lossyMethod)
        if ts.isDeflated {
            // A deflated dataset is one zlib stream: built whole in memory.
            return try deflated(reader, header: header, format: out, rawCopy: rawCopy, target: target, fileMeta: fileMeta, write: write)
        }
        var written: UInt64 = 0
        func emit(_ bytes: [UInt8]) throws {
            try write(bytes)
            written += UInt64(bytes.count)
        }
        if fileMeta { try emit(try fileMetaBytes(reader, syntax: ts)) }
        do { try emit(try DataSetWriter.encode(header, syntax: ts)) } catch { throw PixelError(.invalidAttributes, "cannot write the header: \(error)") }
        let frames = source.numberOfFrames
        var pixelBytes: UInt64 = 0
        if target.codec == .native {
            let totalBits = UInt64(out.nativeFrameBits) * UInt64(frames)
            var length = (totalBits + 7) / 8
            let pad = length % 2 == 1
            if pad { length += 1 }
            guard length < UInt64(UInt32.max) else { throw PixelError(.tooLarge, "native Pixel Data of \(length) bytes exceeds a 32-bit length") }
            try emit(elementHeader(vr: out.bitsAllocated > 8 ? .OW : .OB, length: UInt32(length), ts))
            var packer = BitPacker()
            for i in 0..<frames {
                var bytes: [UInt8]
                if rawCopy {
                    bytes = try reader.frameData(i)
                } else {
                    bytes = NativeCodec.encode(try decoded(i), bitsAllocated: out.bitsAllocated, planar: false)
                }
                if out.bitsAllocated == 1 {
                    bytes = packer.append(bytes, bits: out.nativeFrameBits, last: i == frames - 1)
                } else if ts.isBigEndian && out.bitsAllocated > 8 {
                    FrameReader.swap(&bytes, width: out.bitsAllocated / 8)
                }
                try emit(bytes)
            }
            if pad { try emit([0]) }
            pixelBytes = length
        } else {
            try emit(elementHeader(vr: .OB, length: ElementHeader.undefinedLength, ts))
            // A Basic Offset Table can be filled in afterwards only when the output can be patched and every
            // offset surely fits 32 bits (compressed frames are at most a little larger than native ones).
            let reserve = reservingOffsetTable && patch != nil && frames > 1
                && UInt64(out.decodedFrameLength) * UInt64(frames) * 5 / 4 < UInt64(UInt32.max)
            let tableAt = written
            try emit(item(length: reserve ? UInt32(4 * frames) : 0))
            if reserve { try emit([UInt8](repeating: 0, count: 4 * frames)) }
            pixelBytes += 8 + (reserve ? UInt64(4 * frames) : 0)
            var offsets: [UInt32] = []
            var fragmentOffset: UInt64 = 0
            for i in 0..<frames {
                var encoded = try FrameEncoder.encode(try decoded(i), to: target)
                if encoded.count % 2 == 1 { encoded.append(0) }
                offsets.append(UInt32(truncatingIfNeeded: fragmentOffset))
                guard encoded.count < Int(UInt32.max) else { throw PixelError(.tooLarge, "frame \(i + 1) encodes to more than 4 GB") }
                try emit(item(length: UInt32(encoded.count)))
                try emit(encoded)
                fragmentOffset += 8 + UInt64(encoded.count)
            }
            try emit(sequenceDelimiter())
            pixelBytes += fragmentOffset + 8
            if reserve, let patch {
                guard fragmentOffset <= UInt64(UInt32.max) else { throw PixelError(.tooLarge, "encapsulated frames exceed the Basic Offset Table's 4 GB") }
                var table: [UInt8] = []
                for o in offsets { for b in 0..<4 { table.append(UInt8(truncatingIfNeeded: o >> (8 * UInt32(b)))) } }
                try patch(tableAt + 8, table)
            }
        }
        return Result(frames: frames, bytesWritten: written, pixelDataBytes: pixelBytes)
    }

    /// The header for the new pixels.
    /// `lossyMethod`: the source's lossy compression (C.7.6.1.1.5.1), nil when it is lossless.
    static func update(_ ds: inout DataSet, format f: PixelFormat, numberOfFrames: Int, lossyMethod: String?) {
        for e in ds where e.tag.isGroupLength { ds.remove(e.tag) }
        ds.remove(.extendedOffsetTable)
        ds.remove(.extendedOffsetTableLengths)
        ds.setString(f.photometric.rawValue, for: .photometricInterpretation, vr: .CS)
        ds.setUInt16(UInt16(f.samplesPerPixel), for: .samplesPerPixel)
        if f.samplesPerPixel > 1 { ds.setUInt16(UInt16(f.planarConfiguration), for: .planarConfiguration) } else { ds.remove(.planarConfiguration) }
        ds.setUInt16(UInt16(f.bitsAllocated), for: .bitsAllocated)
        ds.setUInt16(UInt16(f.bitsStored), for: .bitsStored)
        ds.setUInt16(UInt16(f.highBit), for: .highBit)
        if let lossyMethod {
            if ds.string(.lossyImageCompression) != "01" { ds.setString("01", for: .lossyImageCompression, vr: .CS) }
            // Type 1C once 2110 is 01 (the DX, MG and IO image modules): the source's syntax names the method.
            // The ratio is kept when present; the syntax does not tell it (an earlier lossy step may have set it).
            if ds[.lossyImageCompressionMethod] == nil { ds.setString(lossyMethod, for: .lossyImageCompressionMethod, vr: .CS) }
        }
    }

    static func fileMetaBytes(_ reader: FrameReader, syntax: TransferSyntax) throws -> [UInt8] {
        let meta = FileMeta.make(
            sopClassUID: reader.meta.uid(.mediaStorageSOPClassUID) ?? reader.dataSet.uid(.sopClassUID) ?? "",
            sopInstanceUID: reader.meta.uid(.mediaStorageSOPInstanceUID) ?? reader.dataSet.uid(.sopInstanceUID) ?? "",
            transferSyntax: syntax, sourceAETitle: reader.meta.string(.sourceApplicationEntityTitle))
        var out = [UInt8](repeating: 0, count: 128)
        out += [0x44, 0x49, 0x43, 0x4D]
        do { out += try FileMeta.encode(meta) } catch { throw PixelError(.invalidAttributes, "cannot write the meta header: \(error)") }
        return out
    }

    static func elementHeader(vr: VR, length: UInt32, _ ts: TransferSyntax) -> [UInt8] {
        let be = ts.isBigEndian
        var out: [UInt8] = be ? [0x7F, 0xE0, 0x00, 0x10] : [0xE0, 0x7F, 0x10, 0x00]
        if ts.isExplicitVR { out += [vr.byte0, vr.byte1, 0, 0] }
        out += be ? [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
                  : [UInt8(truncatingIfNeeded: length), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length >> 16), UInt8(length >> 24)]
        return out
    }

    static func item(length: UInt32) -> [UInt8] {
        [0xFE, 0xFF, 0x00, 0xE0, UInt8(truncatingIfNeeded: length), UInt8(truncatingIfNeeded: length >> 8),
         UInt8(truncatingIfNeeded: length >> 16), UInt8(length >> 24)]
    }

    static func sequenceDelimiter() -> [UInt8] { [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0] }

    /// The deflated syntax: the whole dataset in memory, then deflated by the DICOM module's writer.
    static func deflated(_ reader: FrameReader, header: DataSet, format out: PixelFormat, rawCopy: Bool, target: PixelSyntax,
                         fileMeta: Bool, write: ([UInt8]) throws -> Void) throws -> Result {
        var ds = header
        var pixels: [UInt8] = []
        var packer = BitPacker()
        let frames = reader.format.numberOfFrames
        for i in 0..<frames {
            var bytes = rawCopy ? try reader.frameData(i)
                : NativeCodec.encode(try reader.decodeFrame(i), bitsAllocated: out.bitsAllocated, planar: false)
            if out.bitsAllocated == 1 { bytes = packer.append(bytes, bits: out.nativeFrameBits, last: i == frames - 1) }
            pixels += bytes
            guard pixels.count <= reader.limits.maxFrameBytes else {
                throw PixelError(.tooLarge, "a deflated dataset is built in memory: \(pixels.count) bytes exceed the limit")
            }
        }
        if pixels.count % 2 == 1 { pixels.append(0) }
        ds.set(Element(tag: .pixelData, vr: out.bitsAllocated > 8 ? .OW : .OB, bytes: pixels))
        var bytes: [UInt8] = []
        do {
            if fileMeta { bytes = try fileMetaBytes(reader, syntax: target.transferSyntax) }
            bytes += try DataSetWriter.encode(ds, syntax: target.transferSyntax)
        } catch let e as PixelError {
            throw e
        } catch {
            throw PixelError(.invalidAttributes, "cannot write the dataset: \(error)")
        }
        try write(bytes)
        return Result(frames: frames, bytesWritten: UInt64(bytes.count), pixelDataBytes: UInt64(pixels.count))
    }
}

/// Packs 1-bit frames end to end (PS3.5 8.1.1: the next frame starts at the bit after the previous one ends).
struct BitPacker {
    var carry: UInt8 = 0
    var carryBits = 0

    /// The whole bytes now complete; the last frame flushes its partial byte.
    mutating func append(_ frame: [UInt8], bits: Int, last: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(frame.count + 1)
        for i in 0..<((bits + 7) / 8) {
            let b = frame[i]
            let valid = min(8, bits - 8 * i)
            let value = valid == 8 ? b : b & UInt8((1 << valid) - 1)
            carry |= value << UInt8(carryBits)
            let total = carryBits + valid
            if total >= 8 {
                out.append(carry)
                carry = carryBits > 0 ? value >> UInt8(8 - carryBits) : 0
                carryBits = total - 8
            } else {
                carryBits = total
            }
        }
        if last && carryBits > 0 {
            out.append(carry)
            carry = 0
            carryBits = 0
        }
        return out
    }
}
