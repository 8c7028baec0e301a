/// How a dataset is encoded: VR explicit or implicit, byte order, deflate, encapsulated pixel data.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    public let uid: String
    public let isExplicitVR: Bool
    public let isBigEndian: Bool
    public let isDeflated: Bool
    /// Pixel data is encapsulated (fragments), as in every compressed syntax.
    public let isEncapsulated: Bool

    public init(uid: String, isExplicitVR: Bool, isBigEndian: Bool, isDeflated: Bool, isEncapsulated: Bool) {
        self.uid = uid
        self.isExplicitVR = isExplicitVR
        self.isBigEndian = isBigEndian
        self.isDeflated = isDeflated
        self.isEncapsulated = isEncapsulated
    }

    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", isExplicitVR: false, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", isExplicitVR: true, isBigEndian: true, isDeflated: false, isEncapsulated: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", isExplicitVR: true, isBigEndian: false, isDeflated: true, isEncapsulated: false)
    public static let jpegBaseline = TransferSyntax(
        uid: "1.2.840.10008.1.2.4.50", isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)
    public static let rleLossless = TransferSyntax(
        uid: "1.2.840.10008.1.2.5", isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)

    /// The uncompressed syntaxes, in Arca's default order of preference.
    public static let uncompressed: [TransferSyntax] = [
        .explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian,
    ]

    /// Any transfer syntax UID under the DICOM root. Unknown ones are taken as encapsulated explicit VR little
    /// endian, which is what every syntax added since 1993 is; nil for a UID that is not a transfer syntax.
    public init?(uid raw: String) {
        let uid = UIDString.trim(raw)
        switch uid {
        case Self.implicitVRLittleEndian.uid: self = .implicitVRLittleEndian
        case Self.explicitVRLittleEndian.uid: self = .explicitVRLittleEndian
        case Self.explicitVRBigEndian.uid: self = .explicitVRBigEndian
        case Self.deflatedExplicitVRLittleEndian.uid: self = .deflatedExplicitVRLittleEndian
        // JPIP Referenced: pixel data is referenced, not encapsulated.
        case "1.2.840.10008.1.2.4.94":
            self.init(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: false)
        case "1.2.840.10008.1.2.4.95":
            self.init(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: true, isEncapsulated: false)
        default:
            guard uid.hasPrefix("1.2.840.10008.1.2."), UIDString.isValid(uid) else { return nil }
            self.init(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)
        }
    }

    public var description: String { uid }
}

/// UID values: validation and trimming of their NUL/space padding.
public enum UIDString {
    /// Removes trailing NUL and space padding (and leading/trailing spaces some senders add).
    public static func trim(_ s: String) -> String {
        var u = Substring(s)
        while let last = u.last, last == "\0" || last == " " { u.removeLast() }
        while let first = u.first, first == " " { u.removeFirst() }
        return String(u)
    }

    /// PS3.5 9.1: 1–64 characters, digits and dots, no empty component, no leading zero in a component.
    /// Leading zeros are tolerated (real archives hold them); everything else is refused.
    public static func isValid(_ uid: String) -> Bool {
        let bytes = uid.utf8
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        var componentLength = 0
        for b in bytes {
            if b == UInt8(ascii: ".") {
                if componentLength == 0 { return false }
                componentLength = 0
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                componentLength += 1
            } else {
                return false
            }
        }
        return componentLength > 0
    }
}
