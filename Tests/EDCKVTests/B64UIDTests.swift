import TestSupport
import Testing

@testable import EDCKV

@Suite struct B64UIDTests {
    static let vectors: [(uid: String, encoded: String)] = [
        ("1.2.840.10008.1.2.1", "05JG"),
        ("1.2.3", "Gd"),
        ("1.2.3.4.5", "GccQ"),
        ("0.1", "8G"),
        ("9", "wG"),
        ("1.2.840.113619.2.55.3.604688119.969.1268071029.320", "Gic_LRMlPv5BDgv_MlzE4MnYpIUl_n"),
    ]

    static let alphabet = Set("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")

    @Test(arguments: vectors.map(\.uid))
    func vector(uid: String) throws {
        let expected = try #require(Self.vectors.first { $0.uid == uid }).encoded
        #expect(try B64UID.encode(uid) == expected)
        #expect(try B64UID.decode(expected) == uid)
    }

    @Test func padCounts() throws {
        // 1 code + 2 pads, 2 codes + 1 pad, 3 codes + 0 pads.
        #expect(try B64UID.encode("9") == "wG")
        #expect(try B64UID.decode("wG") == "9")
        #expect(try B64UID.encode("99").count == 2)
        #expect(try B64UID.decode(B64UID.encode("99")) == "99")
        #expect(try B64UID.encode("999").count == 2)
        #expect(try B64UID.decode(B64UID.encode("999")) == "999")
        #expect(try B64UID.encode("9999").count == 4)
        // The root token alone.
        #expect(try B64UID.decode(B64UID.encode("1.2.840.10008.9")) == "1.2.840.10008.9")
    }

    @Test func rootTokenAppliesAnywhere() throws {
        // 9 "." root 1 + pad pad -> (15, 1, 0) (5, 1, 1)
        #expect(try B64UID.encode("9.1.2.840.10008.1") == "wFJG")
        #expect(try B64UID.decode("wFJG") == "9.1.2.840.10008.1")
        // "1." root 1 -> (4, 0, 5), both pads dropped
        #expect(try B64UID.encode("1.1.2.840.10008.1") == "F4")
        #expect(try B64UID.decode("F4") == "1.1.2.840.10008.1")
        // Not the root: 11.2.840.10008.1 -> "1" "1." "2." ...
        #expect(try B64UID.decode(B64UID.encode("11.2.840.10008.1")) == "11.2.840.10008.1")
    }

    @Test(arguments: ["", ".", "1.2.", "1.2.3.", "1.2.a", "1,2", " 1.2", "1.2 ", "1.2.3\n", "１.2", "1.2-3", "+1"])
    func invalidUIDs(uid: String) {
        #expect(throws: B64UIDError.self) { try B64UID.encode(uid) }
    }

    @Test func uidLengthLimit() throws {
        let ok = String(repeating: "1", count: 64)
        let encoded = try B64UID.encode(ok)
        #expect(encoded.count <= 44)
        #expect(try B64UID.decode(encoded) == ok)
        #expect(throws: B64UIDError.uidTooLong(length: 65)) { try B64UID.encode(String(repeating: "1", count: 65)) }
        #expect(throws: B64UIDError.emptyUID) { try B64UID.encode("") }
        #expect(throws: B64UIDError.trailingDot) { try B64UID.encode("1.2.") }
        #expect(throws: B64UIDError.invalidUIDCharacter("a")) { try B64UID.encode("1.a") }
    }

    @Test func invalidEncodings() {
        #expect(throws: B64UIDError.emptyEncoding) { try B64UID.decode("") }
        #expect(throws: B64UIDError.oddLength(length: 1)) { try B64UID.decode("G") }
        #expect(throws: B64UIDError.oddLength(length: 3)) { try B64UID.decode("Gdx") }
        #expect(throws: B64UIDError.invalidEncodingCharacter("=")) { try B64UID.decode("Gd==") }
        #expect(throws: B64UIDError.invalidEncodingCharacter("+")) { try B64UID.decode("G+") }
        #expect(throws: B64UIDError.invalidEncodingCharacter(" ")) { try B64UID.decode("G d0") }
        #expect(throws: B64UIDError.invalidEncodingCharacter("é")) { try B64UID.decode("Gé") }
        #expect(throws: B64UIDError.encodingTooLong(length: 46)) { try B64UID.decode(String(repeating: "w", count: 46)) }
        // Codes 1 "." 2 (instead of the greedy "1." 2): decodes to "1.2", whose encoding is "Gd".
        #expect(throws: B64UIDError.nonCanonical("JM")) { try B64UID.decode("JM") }
        // Codes 9 "1." pad: would decode to "91.", which ends with a dot.
        #expect(throws: B64UIDError.nonCanonical("x0")) { try B64UID.decode("x0") }
        // Three root tokens: ends with a dot.
        #expect(throws: B64UIDError.nonCanonical("--")) { try B64UID.decode("--") }
        // 66 root tokens: far longer than 64 characters.
        #expect(throws: B64UIDError.nonCanonical(String(repeating: "-", count: 44))) {
            try B64UID.decode(String(repeating: "-", count: 44))
        }
    }

    @Test func randomUIDsRoundTrip() throws {
        var rng = SplitMix64(seed: 0xB64_0001D)
        var withRootInside = 0
        for _ in 0..<100_000 {
            let uid = randomUID(&rng)
            #expect(!uid.isEmpty && uid.count <= 64)
            if uid.dropFirst().contains("1.2.840.10008.") { withRootInside += 1 }
            let encoded = try B64UID.encode(uid)
            guard encoded.count % 2 == 0, encoded.count <= 44, encoded.allSatisfy(Self.alphabet.contains) else {
                Issue.record("bad encoding \(encoded) of \(uid)")
                continue
            }
            let decoded = try B64UID.decode(encoded)
            if decoded != uid {
                Issue.record("\(uid) -> \(encoded) -> \(decoded)")
            }
        }
        #expect(withRootInside > 1000)
    }
}


/// A valid UID of 1…64 characters: components without leading zeros (except "0" itself), often
/// containing the DICOM root "1.2.840.10008." at the start or in the middle.
func randomUID(_ rng: inout SplitMix64) -> String {
    let maxLength = Int.random(in: 1...64, using: &rng)
    var uid = ""
    while true {
        var component: String
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<10: component = "1.2.840.10008"
        case 10..<25: component = "0"
        case 25..<40: component = String(Int.random(in: 1...3, using: &rng))
        default:
            let digits = Int.random(in: 1...12, using: &rng)
            component = String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<digits { component.append(String(Int.random(in: 0...9, using: &rng))) }
        }
        let needed = (uid.isEmpty ? 0 : 1) + component.count
        if uid.count + needed > maxLength {
            if uid.isEmpty {
                // Make sure there is at least one component.
                component = String(component.prefix(maxLength))
                if component.count > 1, component.first == "0" || component.last == "." || component.contains(".") {
                    component = String(repeating: "7", count: maxLength)
                }
                uid = component
            }
            break
        }
        uid += (uid.isEmpty ? "" : ".") + component
        if Int.random(in: 0..<12, using: &rng) == 0 { break }
    }
    return uid
}
