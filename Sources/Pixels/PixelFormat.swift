import DICOM

/// Photometric Interpretation (0028,0004): how samples make a colour (PS3.3 C.7.6.3.1.2).
public enum Photometric: String, Sendable, Equatable {
    case monochrome1 = "MONOCHROME1"
    case monochrome2 = "MONOCHROME2"
    case paletteColor = "PALETTE COLOR"
    case rgb = "RGB"
    case ybrFull = "YBR_FULL"
    case ybrFull422 = "YBR_FULL_422"
    case ybrPartial420 = "YBR_PARTIAL_420"
    case ybrICT = "YBR_ICT"
    case ybrRCT = "YBR_RCT"

    public var isMonochrome: Bool { self == .monochrome1 || self == .monochrome2 }
    public var samplesPerPixel: Int { isMonochrome || self == .paletteColor ? 1 : 3 }
}

/// The Image Pixel module's description of an instance's pixels, checked against each other and bounded, so
/// nothing downstream trusts a value read from the file: every size below fits the limits.
public struct PixelFormat: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    /// 1, 8, 16 or 32.
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    public var isSigned: Bool
    public var photometric: Photometric
    /// 0: samples interleaved (R G B R G B); 1: one plane per sample.
    public var planarConfiguration: Int
    public var numberOfFrames: Int

    public init(rows: Int, columns: Int, samplesPerPixel: Int, bitsAllocated: Int, bitsStored: Int, highBit: Int,
                isSigned: Bool, photometric: Photometric, planarConfiguration: Int = 0, numberOfFrames: Int = 1) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.highBit = highBit
        self.isSigned = isSigned
        self.photometric = photometric
        self.planarConfiguration = planarConfiguration
        self.numberOfFrames = numberOfFrames
    }

    /// Reads and checks the attributes; `limits` bounds what one frame may cost.
    public init(_ ds: DataSet, limits: PixelLimits = .default) throws {
        // These are US by the standard, but a file names its own VRs: an SV or IS holding Int.min must be
        // refused here, before any arithmetic on it (Bits Stored − 1 would trap).
        func unsignedShort(_ tag: Tag, _ name: String) throws -> Int? {
            guard let v = ds.int(tag) else { return nil }
            guard (0...65535).contains(v) else { throw PixelError(.invalidAttributes, "\(name) \(tag) = \(v) is out of range") }
            return v
        }
        func required(_ tag: Tag, _ name: String) throws -> Int {
            guard let v = try unsignedShort(tag, name) else { throw PixelError(.invalidAttributes, "\(name) \(tag) is missing") }
            return v
        }
        rows = try required(.rows, "Rows")
        columns = try required(.columns, "Columns")
        bitsAllocated = try required(.bitsAllocated, "Bits Allocated")
        bitsStored = try unsignedShort(.bitsStored, "Bits Stored") ?? bitsAllocated
        highBit = try unsignedShort(.highBit, "High Bit") ?? (bitsStored - 1)
        isSigned = try unsignedShort(.pixelRepresentation, "Pixel Representation") == 1
        planarConfiguration = try unsignedShort(.planarConfiguration, "Planar Configuration") ?? 0
        let frames = ds.string(.numberOfFrames).flatMap { Int($0.trimmingSpaces) } ?? ds.int(.numberOfFrames) ?? 1
        numberOfFrames = frames
        let pi = (ds.string(.photometricInterpretation) ?? "").trimmingSpaces
        guard let photometric = Photometric(rawValue: pi.isEmpty ? "MONOCHROME2" : pi) else {
            throw PixelError(.unsupported, "Photometric Interpretation \"\(pi)\" is not supported")
        }
        self.photometric = photometric
        samplesPerPixel = try unsignedShort(.samplesPerPixel, "Samples per Pixel") ?? photometric.samplesPerPixel
        try validate(limits)
    }

    /// The checks every format passes before a byte of pixel data is read.
    public func validate(_ limits: PixelLimits = .default) throws {
        guard (1...65535).contains(rows), (1...65535).contains(columns) else {
            throw PixelError(.invalidAttributes, "Rows \(rows) × Columns \(columns) is out of range")
        }
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw PixelError(.unsupported, "Bits Allocated \(bitsAllocated) is not supported (1, 8, 16 or 32)")
        }
        guard (1...bitsAllocated).contains(bitsStored), (bitsStored - 1..<bitsAllocated).contains(highBit) else {
            throw PixelError(.invalidAttributes,
                             "Bits Stored \(bitsStored) / High Bit \(highBit) do not fit Bits Allocated \(bitsAllocated)")
        }
        guard samplesPerPixel == photometric.samplesPerPixel else {
            throw PixelError(.invalidAttributes, "Samples per Pixel \(samplesPerPixel) does not match \(photometric.rawValue)")
        }
        guard planarConfiguration == 0 || planarConfiguration == 1 else {
            throw PixelError(.invalidAttributes, "Planar Configuration \(planarConfiguration) is neither 0 nor 1")
        }
        guard numberOfFrames >= 1, numberOfFrames <= limits.maxFrames else {
            throw PixelError(.invalidAttributes, "Number of Frames \(numberOfFrames) is out of range (1–\(limits.maxFrames))")
        }
        if bitsAllocated == 1 && samplesPerPixel != 1 {
            throw PixelError(.invalidAttributes, "Bits Allocated 1 with \(samplesPerPixel) samples per pixel")
        }
        guard decodedFrameLength <= limits.maxFrameBytes else {
            throw PixelError(.tooLarge, "a frame of \(rows) × \(columns) × \(samplesPerPixel) × \(bitsAllocated) bits "
                             + "(\(decodedFrameLength) bytes decoded) exceeds the limit of \(limits.maxFrameBytes) bytes")
        }
    }

    public var pixelsPerFrame: Int { rows * columns }

    /// Bytes one sample takes once decoded: 1 (1–8 bits allocated), 2 or 4.
    public var bytesPerSample: Int { bitsAllocated <= 8 ? 1 : bitsAllocated / 8 }

    /// Length of one decoded frame: interleaved samples of `bytesPerSample` each.
    public var decodedFrameLength: Int { rows * columns * samplesPerPixel * bytesPerSample }

    /// Bits one native (uncompressed) frame takes in the Pixel Data value; 4:2:2 keeps two samples a pixel.
    public var nativeFrameBits: Int {
        let samples = photometric == .ybrFull422 ? rows * columns * 2 : rows * columns * samplesPerPixel
        return samples * bitsAllocated
    }

    /// Length in bytes of one native frame (a 1-bit frame rounded up; frames of 1-bit data follow each other
    /// bit after bit, so only the first starts on a byte).
    public var nativeFrameLength: Int { (nativeFrameBits + 7) / 8 }

    /// The description of one decoded frame: interleaved, the bits of a 1-bit image unpacked one per byte.
    public var decoded: PixelFormat {
        var f = self
        f.planarConfiguration = 0
        f.numberOfFrames = 1
        if bitsAllocated == 1 { f.bitsAllocated = 8 }
        if photometric == .ybrFull422 { f.photometric = .ybrFull }
        return f
    }
}

/// What one instance may make Arca allocate: a declared size is not a memory budget.
public struct PixelLimits: Sendable {
    /// Largest decoded frame (default 1 GiB: a 16-bit 16k × 16k × 2 whole-slide tile is 0.5 GiB).
    public var maxFrameBytes: Int
    /// Most frames an instance may declare.
    public var maxFrames: Int

    public init(maxFrameBytes: Int = 1 << 30, maxFrames: Int = 1 << 20) {
        self.maxFrameBytes = maxFrameBytes
        self.maxFrames = maxFrames
    }

    public static let `default` = PixelLimits()
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\0" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\0" { s.removeLast() }
        return String(s)
    }
}
