/// UIDs the Upper Layer and association negotiation need. Kept local to DICOMNetwork so this
/// module does not depend on the DICOM module's dictionary.
public enum UpperLayerUID {
    /// DICOM Application Context Name (PS3.7 Annex A.2.1).
    public static let applicationContextName = "1.2.840.10008.3.1.1.1"
    /// Verification SOP Class.
    public static let verificationSOPClass = "1.2.840.10008.1.1"

    public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
    public static let explicitVRBigEndian = "1.2.840.10008.1.2.2"
    public static let deflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"

    /// The native (not encapsulated) transfer syntaxes.
    public static let nativeTransferSyntaxes: Set<String> = [
        implicitVRLittleEndian, explicitVRLittleEndian, explicitVRBigEndian, deflatedExplicitVRLittleEndian,
    ]

    /// True when `uid` is syntactically a UID (PS3.5 9.1): 1...64 characters, digits and
    /// dots, components non-empty and without leading zeros (except "0" itself).
    public static func isValidUID(_ uid: String) -> Bool {
        let bytes = Array(uid.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        var componentStart = true
        var componentLeadingZero = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "."):
                if componentStart { return false }
                componentStart = true
                componentLeadingZero = false
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if componentLeadingZero { return false }
                if componentStart { componentLeadingZero = (byte == UInt8(ascii: "0")) }
                componentStart = false
            default:
                return false
            }
        }
        return !componentStart
    }
}
