// b64uid: a compact, filename- and key-safe spelling of a DICOM UID.
//
// The UID is split greedily, left to right, into tokens with 4-bit codes:
//   `1.2.840.10008.` → 0, `.` → 1, `0.` → 2, `0` → 3, `1.` → 4, `1` → 5, `2.` → 6, `2` → 7,
//   `3.` → 8, `3` → 9, `4` … `9` → 10 … 15
// (the root token applies wherever it starts; `0`–`3` take their `d.` form when a dot follows).
// Two `.` codes (1, 1) are appended, the whole triads are kept, and each triad (a, b, c) becomes the
// two characters ALPH[(a << 2) | (b >> 2)], ALPH[((b & 3) << 4) | c] of the ASCII-ascending alphabet
// ALPH = `-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`.
// So 0, 1 or 2 pad codes survive; a UID never ends in `.`, and no token other than `.` itself has
// code 1, so decoding drops at most two trailing 1 codes.

/// Why a UID or a b64uid string was rejected.
public enum B64UIDError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The UID is empty.
    case emptyUID
    /// The UID is longer than 64 characters.
    case uidTooLong(length: Int)
    /// The UID contains something other than digits and dots.
    case invalidUIDCharacter(Character)
    /// The UID ends with a dot.
    case trailingDot
    /// The b64uid string is empty.
    case emptyEncoding
    /// The b64uid string has an odd number of characters.
    case oddLength(length: Int)
    /// The b64uid string is longer than any encoding of a 64-character UID (44).
    case encodingTooLong(length: Int)
    /// The b64uid string contains a character outside the alphabet.
    case invalidEncodingCharacter(Character)
    /// The b64uid string decodes to codes that no valid UID encodes to (a trailing dot, a UID
    /// over 64 characters, or tokens the greedy encoder would have spelled differently).
    case nonCanonical(String)

    public var description: String {
        switch self {
        case .emptyUID: "b64uid: the UID is empty"
        case .uidTooLong(let length): "b64uid: the UID has \(length) characters (at most 64)"
        case .invalidUIDCharacter(let c): "b64uid: the UID contains \(String(reflecting: c)) (only digits and dots are allowed)"
        case .trailingDot: "b64uid: the UID ends with a dot"
        case .emptyEncoding: "b64uid: the encoded string is empty"
        case .oddLength(let length): "b64uid: the encoded string has an odd length (\(length))"
        case .encodingTooLong(let length): "b64uid: the encoded string has \(length) characters (at most 44)"
        case .invalidEncodingCharacter(let c): "b64uid: \(String(reflecting: c)) is not in the b64uid alphabet"
        case .nonCanonical(let s): "b64uid: \(String(reflecting: s)) is not the encoding of a valid UID"
        }
    }
}

public enum B64UID {
    /// Longest UID accepted.
    public static let maxUIDLength = 64
    /// Longest encoding (of a 64-character UID).
    public static let maxEncodedLength = 44

    private static let alphabet: [UInt8] = Array("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz".utf8)

    /// Alphabet index of each ASCII byte, or -1.
    private static let alphabetIndex: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    private static let root: [UInt8] = Array("1.2.840.10008.".utf8)

    /// The text of each 4-bit code.
    private static let tokens: [[UInt8]] = [
        root, [dot], Array("0.".utf8), Array("0".utf8), Array("1.".utf8), Array("1".utf8),
        Array("2.".utf8), Array("2".utf8), Array("3.".utf8), Array("3".utf8),
        Array("4".utf8), Array("5".utf8), Array("6".utf8), Array("7".utf8), Array("8".utf8), Array("9".utf8),
    ]

    private static let dot = UInt8(ascii: ".")
    private static let zero = UInt8(ascii: "0")
    private static let padCode: UInt8 = 1

    /// Encodes a UID (1…64 digits and dots, not ending with a dot).
    public static func encode(_ uid: String) throws(B64UIDError) -> String {
        for scalar in uid.unicodeScalars where !(scalar == "." || ("0"..."9").contains(scalar)) {
            throw .invalidUIDCharacter(Character(scalar))
        }
        let bytes = Array(uid.utf8)
        guard !bytes.isEmpty else { throw .emptyUID }
        guard bytes.count <= maxUIDLength else { throw .uidTooLong(length: bytes.count) }
        guard bytes[bytes.count - 1] != dot else { throw .trailingDot }

        var codes: [UInt8] = []
        codes.reserveCapacity(bytes.count + 2)
        var i = 0
        while i < bytes.count {
            if bytes.count - i >= root.count && bytes[i..<(i + root.count)].elementsEqual(root) {
                codes.append(0)
                i += root.count
                continue
            }
            let c = bytes[i]
            if c == dot {
                codes.append(1)
                i += 1
                continue
            }
            let digit = c - zero
            if digit <= 3 {
                if i + 1 < bytes.count && bytes[i + 1] == dot {
                    codes.append(2 + 2 * digit)
                    i += 2
                } else {
                    codes.append(3 + 2 * digit)
                    i += 1
                }
            } else {
                codes.append(digit + 6)
                i += 1
            }
        }
        codes.append(padCode)
        codes.append(padCode)

        var out: [UInt8] = []
        out.reserveCapacity(codes.count / 3 * 2)
        var t = 0
        while t + 3 <= codes.count {
            let (a, b, c) = (codes[t], codes[t + 1], codes[t + 2])
            out.append(alphabet[Int((a << 2) | (b >> 2))])
            out.append(alphabet[Int(((b & 3) << 4) | c)])
            t += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a b64uid string back to the UID; only canonical encodings of valid UIDs are accepted,
    /// so `encode(decode(s)) == s` whenever `decode` succeeds.
    public static func decode(_ s: String) throws(B64UIDError) -> String {
        var codes: [UInt8] = []
        codes.reserveCapacity(66)
        var high: Int8 = -1
        for scalar in s.unicodeScalars {
            guard scalar.isASCII, case let index = alphabetIndex[Int(scalar.value)], index >= 0 else {
                throw .invalidEncodingCharacter(Character(scalar))
            }
            if high < 0 {
                high = index
            } else {
                let bits = (UInt16(UInt8(high)) << 6) | UInt16(UInt8(index))
                codes.append(UInt8(bits >> 8))
                codes.append(UInt8((bits >> 4) & 15))
                codes.append(UInt8(bits & 15))
                high = -1
            }
        }
        let length = s.unicodeScalars.count
        guard length > 0 else { throw .emptyEncoding }
        guard length % 2 == 0 else { throw .oddLength(length: length) }
        guard length <= maxEncodedLength else { throw .encodingTooLong(length: length) }

        // Drop the surviving pad codes (at most two).
        var count = codes.count
        var dropped = 0
        while dropped < 2 && count > 0 && codes[count - 1] == padCode {
            count -= 1
            dropped += 1
        }
        var uid: [UInt8] = []
        uid.reserveCapacity(maxUIDLength + root.count)
        for code in codes[..<count] {
            uid.append(contentsOf: tokens[Int(code)])
            if uid.count > maxUIDLength { throw .nonCanonical(s) }
        }
        let text = String(decoding: uid, as: UTF8.self)
        // Reject strings no valid UID encodes to (e.g. `1` `.` spelled as two codes instead of `1.`).
        guard let again = try? encode(text), again == s else { throw .nonCanonical(s) }
        return text
    }
}
