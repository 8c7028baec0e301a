/// Why pixel data cannot be read, decoded, encoded or rendered: one error type for the module, with a message
/// a user can act on ("frame 3 of 2", "JPEG-LS: invalid marker (CharLS)").
public struct PixelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The image attributes are missing, inconsistent or out of range.
        case invalidAttributes
        /// The transfer syntax, photometric interpretation or bit depth is one Arca does not decode or encode.
        case unsupported
        /// The pixel data is shorter than the attributes say, or its fragments are malformed.
        case truncated
        /// A codestream is corrupt (the codec's own message follows).
        case corrupt
        /// A frame number outside the instance.
        case noSuchFrame
        /// The instance has no Pixel Data (a presentation state, a report, an encapsulated document).
        case noPixelData
        /// Decoding would need more memory than the limit allows.
        case tooLarge
        /// Reading or writing a file failed.
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
