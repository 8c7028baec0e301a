/// The 34 value representations of PS3.5 6.2, stored as their two ASCII bytes (big-endian in the raw value,
/// so `VR.OB.rawValue == 0x4F42`).
public enum VR: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case AE = 0x4145, AS = 0x4153, AT = 0x4154, CS = 0x4353, DA = 0x4441, DS = 0x4453, DT = 0x4454
    case FD = 0x4644, FL = 0x464C, IS = 0x4953, LO = 0x4C4F, LT = 0x4C54, OB = 0x4F42, OD = 0x4F44
    case OF = 0x4F46, OL = 0x4F4C, OV = 0x4F56, OW = 0x4F57, PN = 0x504E, SH = 0x5348, SL = 0x534C
    case SQ = 0x5351, SS = 0x5353, ST = 0x5354, SV = 0x5356, TM = 0x544D, UC = 0x5543, UI = 0x5549
    case UL = 0x554C, UN = 0x554E, UR = 0x5552, US = 0x5553, UT = 0x5554, UV = 0x5556

    /// Parses the two ASCII bytes of an explicit-VR header; nil for anything that is not a VR.
    @inlinable public init?(byte0: UInt8, byte1: UInt8) {
        self.init(rawValue: UInt16(byte0) << 8 | UInt16(byte1))
    }

    /// `"OB"` for `.OB`, also for unknown codes built from a dictionary string.
    public init?(_ string: String) {
        let u = Array(string.utf8)
        guard u.count == 2 else { return nil }
        self.init(byte0: u[0], byte1: u[1])
    }

    public var description: String {
        String(decoding: [UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)], as: UTF8.self)
    }
    @inlinable public var byte0: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    @inlinable public var byte1: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    /// Explicit VR encodings give these VRs a 2-byte reserved field and a 32-bit length (PS3.5 7.1.2).
    @inlinable public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Byte width of one binary value, used to swap bytes between little and big endian. 1 means no swap.
    @inlinable public var swapWidth: Int {
        switch self {
        case .US, .SS, .OW, .AT: return 2
        case .UL, .SL, .FL, .OF, .OL: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return 1
        }
    }

    /// Character-string VRs whose values are text (PS3.5 6.2).
    @inlinable public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }

    /// String VRs whose value is affected by Specific Character Set (0008,0005) (PS3.5 6.1.2.3).
    @inlinable public var usesSpecificCharacterSet: Bool {
        switch self {
        case .LO, .LT, .PN, .SH, .ST, .UC, .UT: return true
        default: return false
        }
    }

    /// Multi-valued with a backslash separator: string VRs except the "text" ones (LT ST UT UR).
    @inlinable public var allowsBackslashMultiplicity: Bool {
        isString && self != .LT && self != .ST && self != .UT && self != .UR
    }

    /// Byte used to pad a value to an even length: NUL for UI and binary VRs, space for text.
    @inlinable public var paddingByte: UInt8 {
        (self == .UI || !isString) ? 0x00 : 0x20
    }
}
