/// Why a byte stream is not a readable dataset, and where: the stream offset and, when known, the tag.
public struct DICOMParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case truncated, invalidLength, unknownVR, unexpectedTag, nestingTooDeep, notDICOM, invalidTransferSyntax,
            inflateFailed, valueTooLarge
    }

    public let kind: Kind
    public let offset: UInt64
    public let tag: Tag?
    public let message: String

    public init(_ kind: Kind, offset: UInt64, tag: Tag? = nil, _ message: String) {
        self.kind = kind
        self.offset = offset
        self.tag = tag
        self.message = message
    }

    public var description: String {
        var s = "\(kind.rawValue) at offset \(offset)"
        if let tag { s += ", tag \(tag)" }
        return s + ": " + message
    }
}
