import Foundation

/// The folded form of a person name that C-FIND and QIDO-RS match against by default: upper case, accents
/// and other diacritics removed (NFKD, combining marks dropped), so "Müller" and "MULLER" meet. PS3.4
/// C.2.2.2.1 allows such matching for PN only; every other VR is matched literally. The index stores this
/// form of each name beside the name itself, and a query's value is folded the same way.
public enum TextFolding {
    public static func fold(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.decomposedStringWithCompatibilityMapping.unicodeScalars {
            // Combining marks (Mn, Mc, Me) are what NFKD split the accents into.
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: out.append(scalar)
            }
        }
        return String(out).uppercased()
    }
}
