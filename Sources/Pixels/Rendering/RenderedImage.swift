/// An 8-bit image for people: grey (1 component) or RGB (3), rows top to bottom.
public struct RenderedImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var components: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, components: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.components = components
        self.pixels = pixels
    }

    /// As a PNG file.
    public func png() throws -> [UInt8] { try PNGEncoder.encode(self) }

    /// As a JPEG (JFIF) file, quality 1–100.
    public func jpeg(quality: Int = 90) throws -> [UInt8] {
        try JPEGTurboCodec.encode(pixels, width: width, height: height, components: components, quality: max(1, min(100, quality)))
    }
}

/// Fits an image into a box, keeping its aspect ratio (a zero side does not constrain).
public struct Viewport: Sendable, Equatable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The size an image of `w` × `h` takes inside the box.
    func fit(_ w: Int, _ h: Int) -> (Int, Int) {
        let sx = width > 0 ? Double(width) / Double(w) : .infinity
        let sy = height > 0 ? Double(height) / Double(h) : .infinity
        let s = min(sx, sy)
        guard s.isFinite else { return (w, h) }
        // Clamped as doubles: converting an out-of-range double traps.
        return (Int(max(1, min(65535, (Double(w) * s).rounded()))), Int(max(1, min(65535, (Double(h) * s).rounded()))))
    }
}
