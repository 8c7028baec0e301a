import Testing
@testable import DICOM

/// Byte sequences are the examples of PS3.5 Annexes H, I, J, K (as in pydicom's charset test files),
/// cross-checked with Python codecs and pydicom.charset.
@Suite struct CharacterSetTests {
    private func bytes(_ ascii: String) -> [UInt8] { Array(ascii.utf8) }
    private let esc: UInt8 = 0x1B

    // MARK: Parsing the value of (0008,0005)

    @Test func parsesTerms() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 87 ")
        #expect(cs.terms == ["", "ISO 2022 IR 87"])
        #expect(cs.isISO2022)
        #expect(cs.unknownTerms.isEmpty)
        #expect(cs.description == "\\ISO 2022 IR 87")

        #expect(SpecificCharacterSet("").terms.isEmpty)
        #expect(SpecificCharacterSet("  ") == .default)
        #expect(SpecificCharacterSet.default.description == "")
        #expect(!SpecificCharacterSet("ISO_IR 100").isISO2022)
        #expect(SpecificCharacterSet("ISO_IR 100\0") == SpecificCharacterSet(terms: ["ISO_IR 100"]))
        #expect(SpecificCharacterSet("ISO 2022 IR 13\\ISO 2022 IR 87").terms == ["ISO 2022 IR 13", "ISO 2022 IR 87"])
    }

    @Test func unknownTermsAreRecordedAndDecodeAsLatin1() {
        let cs = SpecificCharacterSet("ISO_IR 999")
        #expect(cs.unknownTerms == ["ISO_IR 999"])
        #expect(cs.decode([0x4A, 0xE9], vr: .PN) == "Jé")
        let multi = SpecificCharacterSet("ISO_IR 100\\FOO")
        #expect(multi.unknownTerms == ["FOO"])
    }

    @Test func misspelledTermsAreTolerated() {
        let cs = SpecificCharacterSet("ISO-IR 100")
        #expect(cs.unknownTerms.isEmpty)
        #expect(cs.decode([0x4A, 0xE9], vr: .LO) == "Jé")
        #expect(SpecificCharacterSet("ISO_IR144").decode([0xBB], vr: .LO) == "Л")
    }

    // MARK: Default repertoire and VRs without specific character set

    @Test func defaultRepertoire() {
        let cs = SpecificCharacterSet.default
        #expect(cs.decode(bytes("Doe^John"), vr: .PN) == "Doe^John")
        #expect(cs.decode(bytes("A\\B"), vr: .LO) == "A\\B")
        #expect(cs.decode([UInt8](), vr: .LO) == "")
        // Tolerated: 8-bit bytes without a declared character set decode as Latin-1.
        #expect(cs.decode([0x42, 0xE9], vr: .LO) == "Bé")
        #expect(SpecificCharacterSet("ISO_IR 6").decode(bytes("ABC"), vr: .SH) == "ABC")
        #expect(SpecificCharacterSet("ISO 2022 IR 6").decode(bytes("ABC"), vr: .SH) == "ABC")
    }

    @Test func nonTextVRsIgnoreTheCharacterSet() {
        let cs = SpecificCharacterSet("ISO_IR 144")
        #expect(cs.decode([0x41, 0xE9], vr: .CS) == "Aé")   // Latin-1, not Cyrillic
        #expect(cs.decode(bytes("1.2.840.10008.1.2"), vr: .UI) == "1.2.840.10008.1.2")
        #expect(cs.decode([0x68, 0xC3, 0xA9], vr: .UR) == "hé")  // UR is UTF-8
        #expect(cs.decode([0xBB], vr: .LO) == "Л")
    }

    // MARK: Single-byte character sets

    @Test(arguments: [
        ("ISO_IR 100", [0x42, 0x75, 0x63, 0x5E, 0x4A, 0xE9, 0x72, 0xF4, 0x6D, 0x65] as [UInt8], "Buc^Jérôme"),
        ("ISO_IR 100", [0xC4, 0x6E, 0x65, 0x61, 0x73, 0x5E, 0x52, 0xFC, 0x64, 0x69, 0x67, 0x65, 0x72], "Äneas^Rüdiger"),
        ("ISO_IR 101", [0x44, 0x76, 0x6F, 0xF8, 0xE1, 0x6B, 0x5E, 0xC8, 0x65, 0x6E, 0xEC, 0x6B], "Dvořák^Čeněk"),
        ("ISO_IR 109", [0xA1, 0x61, 0x6C, 0x5E, 0xD5, 0x75, 0xBF, 0x65, 0x70, 0x70, 0x69], "Ħal^Ġużeppi"),
        ("ISO_IR 110", [0xAA, 0x72, 0x69, 0x6B, 0x73, 0x5E, 0xA6, 0x61, 0x75, 0x64, 0x69, 0x73], "Ēriks^Ļaudis"),
        ("ISO_IR 126", [0xC4, 0xE9, 0xEF, 0xED, 0xF5, 0xF3, 0xE9, 0xEF, 0xF2], "Διονυσιος"),
        ("ISO_IR 127", [0xE2, 0xC8, 0xC7, 0xE6, 0xEA, 0x5E, 0xE4, 0xE6, 0xD2, 0xC7, 0xD1], "قباني^لنزار"),
        ("ISO_IR 138", [0xF9, 0xF8, 0xE5, 0xEF, 0x5E, 0xE3, 0xE1, 0xE5, 0xF8, 0xE4], "שרון^דבורה"),
        ("ISO_IR 144", [0xBB, 0xEE, 0xDA, 0x63, 0x65, 0xDC, 0xD1, 0x79, 0x70, 0xD3], "Люкceмбypг"),
        ("ISO_IR 148", [0xD6, 0x7A, 0x74, 0xFC, 0x72, 0x6B, 0x5E, 0xDE, 0xFD, 0xF0], "Öztürk^Şığ"),
        ("ISO_IR 166", [0xCA, 0xC7, 0xD1, 0xCA, 0xB4, 0xD5, 0x5E, 0xAA, 0xD2, 0xC7, 0xE2, 0xC5, 0xA1], "สวัสดี^ชาวโลก"),
        ("ISO_IR 13", [0xD4, 0xCF, 0xC0, 0xDE, 0x5E, 0xC0, 0xDB, 0xB3], "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    ])
    func singleByte(term: String, value: [UInt8], expected: String) {
        let cs = SpecificCharacterSet(term)
        #expect(cs.unknownTerms.isEmpty)
        #expect(cs.decode(value, vr: .PN) == expected)
        #expect(cs.encode(expected) == value)
    }

    @Test func singleByteSetsInISO2022Form() {
        // ISO 2022 IR 100 as the first term designates Latin-1 to G1 initially; Greek is switched in by ESC - F.
        let cs = SpecificCharacterSet("ISO 2022 IR 100\\ISO 2022 IR 126")
        #expect(cs.isISO2022)
        let value: [UInt8] = [0x4A, 0xE9, 0x5E, esc, 0x2D, 0x46, 0xC4, 0xE9, 0x5E, 0xE9]
        // After '^' the PN state resets to the initial (Latin-1), so the last byte is é again.
        #expect(cs.decode(value, vr: .PN) == "Jé^Δι^é")
        #expect(cs.encode("Jé^Δι^é") == value)
        let cyr = SpecificCharacterSet("\\ISO 2022 IR 144")
        #expect(cyr.decode([esc, 0x2D, 0x4C, 0xBB, 0xEE], vr: .LO) == "Лю")
    }

    // MARK: UTF-8, GB18030, GBK (PS3.5 Annex J)

    @Test func utf8() {
        let value: [UInt8] = bytes("Wang^XiaoDong=") + [0xE7, 0x8E, 0x8B, 0x5E, 0xE5, 0xB0, 0x8F, 0xE6, 0x9D, 0xB1, 0x3D]
        let cs = SpecificCharacterSet("ISO_IR 192")
        #expect(cs.decode(value, vr: .PN) == "Wang^XiaoDong=王^小東=")
        #expect(cs.encode("Wang^XiaoDong=王^小東=") == value)
        // Stand-alone encodings ignore further terms.
        #expect(SpecificCharacterSet("ISO_IR 192\\ISO 2022 IR 87").decode(value, vr: .PN) == "Wang^XiaoDong=王^小東=")
    }

    @Test func gb18030() {
        let cs = SpecificCharacterSet("GB18030")
        let name: [UInt8] = bytes("Wang^XiaoDong=") + [0xCD, 0xF5, 0x5E, 0xD0, 0xA1, 0xB6, 0xAB, 0x3D]
        #expect(cs.decode(name, vr: .PN) == "Wang^XiaoDong=王^小东=")
        #expect(cs.encode("Wang^XiaoDong=王^小东=") == name)
        let text: [UInt8] = [
            0xB5, 0xDA, 0xD2, 0xBB, 0xD0, 0xD0, 0xCE, 0xC4, 0xD7, 0xD6, 0xA1, 0xA3, 0x0D, 0x0A,
            0xB5, 0xDA, 0xB6, 0xFE, 0xD0, 0xD0, 0xCE, 0xC4, 0xD7, 0xD6, 0xA1, 0xA3, 0x0D, 0x0A,
            0xB5, 0xDA, 0xC8, 0xFD, 0xD0, 0xD0, 0xCE, 0xC4, 0xD7, 0xD6, 0xA1, 0xA3, 0x0D, 0x0A,
        ]
        #expect(cs.decode(text, vr: .LT) == "第一行文字。\r\n第二行文字。\r\n第三行文字。\r\n")
        // Four-byte GB18030 sequences (U+00DF, U+1F600).
        #expect(cs.decode([0x81, 0x30, 0x89, 0x38], vr: .LO) == "ß")
        #expect(cs.decode([0x94, 0x39, 0xFC, 0x36], vr: .LO) == "😀")
        #expect(cs.encode("ß😀") == [0x81, 0x30, 0x89, 0x38, 0x94, 0x39, 0xFC, 0x36])
    }

    @Test func gbk() {
        let cs = SpecificCharacterSet("GBK")
        #expect(cs.decode([0xCD, 0xF5, 0x5E, 0xD0, 0xA1, 0xB6, 0xAB], vr: .PN) == "王^小东")
        #expect(cs.encode("王^小东") == [0xCD, 0xF5, 0x5E, 0xD0, 0xA1, 0xB6, 0xAB])
    }

    // MARK: Japanese (PS3.5 Annex H)

    private var yamadaIR87: [UInt8] {
        bytes("Yamada^Tarou=") + [esc] + bytes("$B;3ED") + [esc] + bytes("(B^") + [esc] + bytes("$BB@O:")
            + [esc] + bytes("(B=") + [esc] + bytes("$B$d$^$@") + [esc] + bytes("(B^") + [esc]
            + bytes("$B$?$m$&") + [esc] + bytes("(B")
    }

    private var yamadaIR13: [UInt8] {
        [0xD4, 0xCF, 0xC0, 0xDE, 0x5E, 0xC0, 0xDB, 0xB3, 0x3D] + [esc] + bytes("$B;3ED") + [esc] + bytes("(J^")
            + [esc] + bytes("$BB@O:") + [esc] + bytes("(J=") + [esc] + bytes("$B$d$^$@") + [esc] + bytes("(J^")
            + [esc] + bytes("$B$?$m$&") + [esc] + bytes("(J")
    }

    @Test func japaneseIR87() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 87")
        #expect(cs.decode(yamadaIR87, vr: .PN) == "Yamada^Tarou=山田^太郎=やまだ^たろう")
        #expect(cs.encode("Yamada^Tarou=山田^太郎=やまだ^たろう") == yamadaIR87)
    }

    @Test func japaneseIR13AndIR87() {
        let cs = SpecificCharacterSet("ISO 2022 IR 13\\ISO 2022 IR 87")
        #expect(cs.decode(yamadaIR13, vr: .PN) == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう")
        #expect(cs.encode("ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう") == yamadaIR13)
    }

    @Test func japaneseIR159() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 159")
        let value: [UInt8] = [esc, 0x24, 0x28, 0x44, 0x30, 0x21, esc, 0x28, 0x42]
        #expect(cs.decode(value, vr: .LO) == "丂")
        #expect(cs.encode("丂") == value)
        let both = SpecificCharacterSet("\\ISO 2022 IR 87\\ISO 2022 IR 159")
        #expect(both.decode([esc, 0x24, 0x42, 0x3B, 0x33, esc, 0x24, 0x28, 0x44, 0x30, 0x21, esc, 0x28, 0x42], vr: .LO) == "山丂")
    }

    @Test func delimitersResetTheDesignations() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 87")
        // No ESC ( B before CR LF: the line end resets G0 to ASCII anyway.
        let value: [UInt8] = [esc, 0x24, 0x42, 0x3B, 0x33, 0x0D, 0x0A, 0x41]
        #expect(cs.decode(value, vr: .LT) == "山\r\nA")
        // In LO, '\' separates values and resets; in LT it does not.
        let korean = SpecificCharacterSet("\\ISO 2022 IR 149")
        let multi: [UInt8] = [esc, 0x24, 0x29, 0x43, 0xC8, 0xAB, 0x5C, 0xC8, 0xAB]
        #expect(korean.decode(multi, vr: .LO) == "홍\\È«")   // after '\' no G1: Latin-1 fallback
        #expect(korean.decode(multi, vr: .LT) == "홍\\홍")
        // '^' resets only in PN.
        let caret: [UInt8] = [esc, 0x24, 0x29, 0x43, 0xC8, 0xAB, 0x5E, 0xC8, 0xAB]
        #expect(korean.decode(caret, vr: .LO) == "홍^홍")
        #expect(korean.encode("홍\\홍") == [esc, 0x24, 0x29, 0x43, 0xC8, 0xAB, 0x5C, esc, 0x24, 0x29, 0x43, 0xC8, 0xAB])
    }

    // MARK: Korean (PS3.5 Annex I)

    @Test func korean() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 149")
        let name: [UInt8] = bytes("Hong^Gildong=") + [esc] + bytes("$)C") + [0xFB, 0xF3, 0x5E] + [esc] + bytes("$)C")
            + [0xD1, 0xCE, 0xD4, 0xD7, 0x3D] + [esc] + bytes("$)C") + [0xC8, 0xAB, 0x5E] + [esc] + bytes("$)C")
            + [0xB1, 0xE6, 0xB5, 0xBF]
        #expect(cs.decode(name, vr: .PN) == "Hong^Gildong=洪^吉洞=홍^길동")
        #expect(cs.encode("Hong^Gildong=洪^吉洞=홍^길동") == name)

        let gildong: [UInt8] = [esc] + bytes("$)C") + [0xB1, 0xE6, 0xB5, 0xBF]
        let text: [UInt8] = bytes("The 1st line includes ") + gildong + bytes(".\r\nThe 2nd line includes ") + gildong
            + bytes(", too.\r\nThe 3rd line.")
        let expected = "The 1st line includes 길동.\r\nThe 2nd line includes 길동, too.\r\nThe 3rd line."
        #expect(cs.decode(text, vr: .LT) == expected)
        #expect(cs.encode(expected) == text)
    }

    // MARK: Chinese (PS3.5 Annex K)

    @Test func chineseIR58() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 58")
        let name: [UInt8] = bytes("Zhang^XiaoDong=") + [esc] + bytes("$)A") + [0xD5, 0xC5, 0x5E] + [esc] + bytes("$)A")
            + [0xD0, 0xA1, 0xB6, 0xAB, 0x3D]
        #expect(cs.decode(name, vr: .PN) == "Zhang^XiaoDong=张^小东=")
        #expect(cs.encode("Zhang^XiaoDong=张^小东=") == name)

        let line: (UInt8, [UInt8]) -> [UInt8] = { digit, middle in
            [digit, 0x2E, self.esc, 0x24, 0x29, 0x41, 0xB5, 0xDA] + middle + [0xD0, 0xD0, 0xCE, 0xC4, 0xD7, 0xD6, 0xA1, 0xA3, 0x0D, 0x0A]
        }
        let text = line(0x31, [0xD2, 0xBB]) + line(0x32, [0xB6, 0xFE]) + line(0x33, [0xC8, 0xFD])
        let expected = "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n"
        #expect(cs.decode(text, vr: .LT) == expected)
        #expect(cs.encode(expected) == text)
    }

    // MARK: Invalid input never crashes

    @Test func invalidBytesBecomeReplacementCharacters() {
        #expect(SpecificCharacterSet("ISO_IR 192").decode([0x41, 0xFF, 0x42], vr: .LO) == "A\u{FFFD}B")
        #expect(SpecificCharacterSet("ISO_IR 192").decode([0xE7, 0x8E], vr: .LO) == "\u{FFFD}")
        // 0xA1 is not defined in ISO 8859-6.
        #expect(SpecificCharacterSet("ISO_IR 127").decode([0xA1, 0x41], vr: .LO) == "\u{FFFD}A")
        // JIS X 0201 has no character at 0xE0.
        #expect(SpecificCharacterSet("ISO_IR 13").decode([0xE0], vr: .LO) == "\u{FFFD}")
        let gb = SpecificCharacterSet("GB18030")
        #expect(gb.decode([0x41, 0xCD], vr: .LO) == "A\u{FFFD}")             // truncated
        #expect(gb.decode([0xFF, 0x41], vr: .LO) == "\u{FFFD}A")

        let jp = SpecificCharacterSet("\\ISO 2022 IR 87")
        #expect(jp.decode([esc, 0x24, 0x42, 0x3B], vr: .LO) == "\u{FFFD}")     // odd trailing byte
        #expect(jp.decode([0x41, esc], vr: .LO) == "A\u{FFFD}")                 // truncated escape
        #expect(jp.decode([esc, 0x24, 0x7A, 0x41], vr: .LO) == "\u{FFFD}A")     // unknown escape
        #expect(jp.decode([esc, 0x24, 0x42, 0x29, 0x21, esc, 0x28, 0x42, 0x41], vr: .LO) == "\u{FFFD}A")  // unassigned
        let kr = SpecificCharacterSet("\\ISO 2022 IR 149")
        #expect(kr.decode([esc, 0x24, 0x29, 0x43, 0xC8], vr: .LO) == "\u{FFFD}")
        #expect(kr.decode([esc, 0x24, 0x29, 0x43, 0xA2, 0xFE, 0x41], vr: .LO) == "\u{FFFD}A")    // unassigned
        #expect(SpecificCharacterSet("GBK").decode([0xA2, 0xAB, 0x41], vr: .LO) == "\u{FFFD}A")

        // Every byte pattern of a few lengths, in every character set: no crash, valid strings.
        let sets = ["", "ISO_IR 100", "ISO_IR 166", "ISO_IR 192", "GB18030", "GBK", "\\ISO 2022 IR 87",
                    "ISO 2022 IR 13\\ISO 2022 IR 87\\ISO 2022 IR 159", "\\ISO 2022 IR 149", "\\ISO 2022 IR 58"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for term in sets {
            let cs = SpecificCharacterSet(term)
            for _ in 0..<200 {
                var value: [UInt8] = []
                for _ in 0..<Int(state % 24) {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    let r = UInt8(truncatingIfNeeded: state >> 56)
                    value.append(r % 7 == 0 ? 0x1B : r)
                }
                state = state &* 6364136223846793005 &+ 1442695040888963407
                for vr in [VR.PN, .LO, .LT] { _ = cs.decode(value, vr: vr) }
            }
        }
    }

    // MARK: Encoding

    @Test func encoding() {
        #expect(SpecificCharacterSet.default.encode("Doe^John") == bytes("Doe^John"))
        #expect(SpecificCharacterSet.default.encode("Jérôme") == nil)
        #expect(SpecificCharacterSet("ISO_IR 100").encode("山") == nil)
        #expect(SpecificCharacterSet("ISO_IR 100").encode("Jé") == [0x4A, 0xE9])
        #expect(SpecificCharacterSet("ISO_IR 192").encode("山") == [0xE5, 0xB1, 0xB1])
        #expect(SpecificCharacterSet("\\ISO 2022 IR 87").encode("홍") == nil)
        #expect(SpecificCharacterSet("ISO_IR 126").encode("Δ") == [0xC4])
    }

    @Test func concurrentDecoding() async {
        let cs = SpecificCharacterSet("ISO 2022 IR 13\\ISO 2022 IR 87")
        let value = yamadaIR13
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { cs.decode(value, vr: .PN) } }
            var all: [String] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう" })
    }

    @Test func decodesNonContiguousCollections() {
        let cs = SpecificCharacterSet("\\ISO 2022 IR 149")
        let value: [UInt8] = [esc, 0x24, 0x29, 0x43, 0xC8, 0xAB]
        #expect(cs.decode(value.lazy.map { $0 }, vr: .PN) == "홍")
        #expect(cs.decode(value[4...], vr: .PN) == "È«")
    }
}
