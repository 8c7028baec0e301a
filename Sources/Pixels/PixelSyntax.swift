import DICOM

/// The transfer syntaxes as the pixel pipeline sees them: which codec their pixel data needs, whether it is
/// lossless, and the short keyword `arca transcode --to` accepts beside the UID.
public struct PixelSyntax: Sendable, Equatable {
    public enum Codec: Sendable, Equatable {
        /// Uncompressed (and deflated, whose pixel data is uncompressed once the dataset is inflated).
        case native
        case rle
        /// DCT JPEG: baseline (process 1) and extended (processes 2 and 4, 8 or 12 bits).
        case jpegDCT
        /// Lossless JPEG, process 14 (any predictor; .70 is its first-order-prediction form).
        case jpegLossless
        case jpegLS
        case jpeg2000
        case htj2k
    }

    public let uid: String
    public let keyword: String
    public let name: String
    public let codec: Codec
    /// Whether the syntax can only hold what it was given exactly (false for the lossy and near-lossless ones).
    public let isLossless: Bool

    public var transferSyntax: TransferSyntax {
        TransferSyntax(uid: uid) ?? .explicitVRLittleEndian
    }

    /// Lossy Image Compression Method (0028,2114) of what this syntax may have lost (PS3.3 C.7.6.1.1.5.1); nil
    /// for a lossless syntax.
    public var lossyMethod: String? {
        guard !isLossless else { return nil }
        switch codec {
        case .jpegDCT: return "ISO_10918_1"
        case .jpegLS: return "ISO_14495_1"
        case .jpeg2000: return "ISO_15444_1"
        case .htj2k: return "ISO_15444_15"
        case .native, .rle, .jpegLossless: return nil
        }
    }

    public static let all: [PixelSyntax] = [
        .init(uid: "1.2.840.10008.1.2", keyword: "implicit-little", name: "Implicit VR Little Endian", codec: .native, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.1", keyword: "explicit-little", name: "Explicit VR Little Endian", codec: .native, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.2", keyword: "explicit-big", name: "Explicit VR Big Endian", codec: .native, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.1.99", keyword: "deflated", name: "Deflated Explicit VR Little Endian", codec: .native, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.5", keyword: "rle", name: "RLE Lossless", codec: .rle, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.50", keyword: "jpeg-baseline", name: "JPEG Baseline (Process 1)", codec: .jpegDCT, isLossless: false),
        .init(uid: "1.2.840.10008.1.2.4.51", keyword: "jpeg-extended", name: "JPEG Extended (Process 2 & 4)", codec: .jpegDCT, isLossless: false),
        .init(uid: "1.2.840.10008.1.2.4.57", keyword: "jpeg-lossless", name: "JPEG Lossless, Non-Hierarchical (Process 14)", codec: .jpegLossless, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.70", keyword: "jpeg-lossless-sv1", name: "JPEG Lossless, First-Order Prediction (Process 14, SV1)", codec: .jpegLossless, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.80", keyword: "jpeg-ls-lossless", name: "JPEG-LS Lossless", codec: .jpegLS, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.81", keyword: "jpeg-ls", name: "JPEG-LS Lossy (Near-Lossless)", codec: .jpegLS, isLossless: false),
        .init(uid: "1.2.840.10008.1.2.4.90", keyword: "j2k-lossless", name: "JPEG 2000 (Lossless Only)", codec: .jpeg2000, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.91", keyword: "j2k", name: "JPEG 2000", codec: .jpeg2000, isLossless: false),
        .init(uid: "1.2.840.10008.1.2.4.201", keyword: "htj2k-lossless", name: "HTJ2K (Lossless Only)", codec: .htj2k, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.202", keyword: "htj2k-lossless-rpcl", name: "HTJ2K with RPCL Options (Lossless Only)", codec: .htj2k, isLossless: true),
        .init(uid: "1.2.840.10008.1.2.4.203", keyword: "htj2k", name: "HTJ2K", codec: .htj2k, isLossless: false),
    ]

    public static func forUID(_ uid: String) -> PixelSyntax? { all.first { $0.uid == uid } }

    /// A syntax by UID or keyword (case-insensitive; `explicit`, `implicit`, `little` and `none` are accepted
    /// for Explicit VR Little Endian too).
    public static func named(_ name: String) -> PixelSyntax? {
        let n = name.lowercased()
        if let s = all.first(where: { $0.uid == name || $0.keyword == n }) { return s }
        switch n {
        case "explicit", "little", "none", "native", "uncompressed": return forUID("1.2.840.10008.1.2.1")
        case "implicit": return forUID("1.2.840.10008.1.2")
        case "big": return forUID("1.2.840.10008.1.2.2")
        case "jpeg-ls-near-lossless", "jls": return forUID("1.2.840.10008.1.2.4.81")
        case "jpeg2000-lossless", "jp2k-lossless": return forUID("1.2.840.10008.1.2.4.90")
        default: return nil
        }
    }
}
