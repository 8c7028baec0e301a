import DICOM

/// The character-repertoire index of an ATRC (§1).
enum Repertoire {
    private static let single: [String: UInt16] = [
        "ISO_IR 6": 0, "ISO_IR 100": 1, "ISO_IR 101": 2, "ISO_IR 109": 3, "ISO_IR 110": 4, "ISO_IR 148": 5,
        "ISO_IR 126": 6, "ISO_IR 127": 7, "ISO_IR 192": 8, "RFC3986": 9, "ISO_IR 13": 10, "ISO_IR 144": 11,
        "ISO_IR 138": 12, "ISO_IR 166": 13, "GB18030": 14, "GBK": 15,
    ]
    private static let iso2022: [String: UInt16] = [
        "ISO 2022 IR 6": 16, "ISO 2022 IR 100": 17, "ISO 2022 IR 101": 18, "ISO 2022 IR 109": 19,
        "ISO 2022 IR 110": 20, "ISO 2022 IR 148": 21, "ISO 2022 IR 126": 22, "ISO 2022 IR 127": 23,
        "ISO 2022 IR 87": 24, "ISO 2022 IR 159": 25, "ISO 2022 IR 13": 26, "ISO 2022 IR 144": 27,
        "ISO 2022 IR 138": 28, "ISO 2022 IR 166": 29, "ISO 2022 IR 149": 30, "ISO 2022 IR 58": 31,
    ]

    /// The index of a character set. A set of several ISO 2022 terms is named by its last extension beyond
    /// IR 6 (the one that makes it that set); values are kept as they are, so decoding uses (0008,0005) itself.
    static func index(of set: SpecificCharacterSet) -> UInt16 {
        guard !set.terms.isEmpty else { return 0 }
        if set.terms.count == 1 || set.terms.allSatisfy({ $0.isEmpty || $0 == "ISO 2022 IR 6" }) {
            let t = set.terms[0]
            return single[t] ?? iso2022[t] ?? 0
        }
        for term in set.terms.reversed() where !term.isEmpty && term != "ISO 2022 IR 6" {
            if let i = iso2022[term] ?? single[term] { return i }
        }
        return 16
    }

    /// The index an element's ATRC carries.
    static func index(for vr: VR, in set: SpecificCharacterSet) -> UInt16 {
        switch vr {
        case .LO, .LT, .PN, .SH, .ST, .UC, .UT: index(of: set)
        case .UR: 8
        default: 0
        }
    }
}
