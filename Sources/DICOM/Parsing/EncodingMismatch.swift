/// A file whose meta header names one of the two uncompressed little-endian syntaxes while its dataset is
/// written in the other (explicit VR declared, implicit VR written, or the reverse): files like that exist
/// (pydicom reads them with a warning, DCMTK's dcmdump with `-td`). The dataset is read in the encoding its
/// bytes are in; the bytes themselves are never changed.
public struct EncodingMismatch: Sendable, Equatable, CustomStringConvertible {
    /// What the meta header's Transfer Syntax UID says.
    public let declared: TransferSyntax
    /// What the dataset's first element is written in, and what it was read as.
    public let detected: TransferSyntax
    /// File offset of the dataset's first element.
    public let offset: UInt64

    public init(declared: TransferSyntax, detected: TransferSyntax, offset: UInt64) {
        self.declared = declared
        self.detected = detected
        self.offset = offset
    }

    public var description: String {
        "meta header says \(Self.name(declared)) but the dataset (offset \(offset)) is written in \(Self.name(detected)): "
            + "read as \(Self.name(detected))"
    }

    static func name(_ ts: TransferSyntax) -> String { UIDRegistry.entry(for: ts.uid)?.name ?? ts.uid }

    /// The declared syntaxes a dataset is checked against: the two uncompressed little-endian ones.
    static func isChecked(_ declared: TransferSyntax) -> Bool {
        declared == .explicitVRLittleEndian || declared == .implicitVRLittleEndian
    }

    /// How many of the dataset's first bytes `detect` reads: a tag, then a VR and length or a 4-byte length.
    static let bytesNeeded = 8

    /// The syntax the dataset starting with `b` is really written in, when it is the other uncompressed
    /// little-endian syntax than `declared`; nil when the bytes agree with it, or cannot tell.
    ///
    /// Explicit VR puts two letters at offset 4; implicit VR puts the low bytes of a 32-bit length there.
    /// - Declared explicit, and bytes 4–5 are not a VR and not two capitals (an unknown VR an explicit writer
    ///   made up stays an explicit-VR error): implicit.
    /// - Declared implicit, and bytes 4–5 spell a VR that the dictionary allows for the tag (or the tag is not
    ///   in it), with the reserved bytes zero for a VR with a 4-byte length: explicit. An implicit length whose
    ///   low bytes spell a VR is at least 0x4141 (16 705) bytes, which a dataset's first element rarely is,
    ///   and the dictionary check rules out nearly all of those.
    static func detect(declared: TransferSyntax, _ b: UnsafeRawBufferPointer) -> TransferSyntax? {
        guard isChecked(declared), b.count >= bytesNeeded else { return nil }
        let group = UInt16(b[0]) | UInt16(b[1]) << 8
        let element = UInt16(b[2]) | UInt16(b[3]) << 8
        // Items and delimiters carry no VR in any encoding.
        guard group != 0xFFFE else { return nil }
        let vr = VR(byte0: b[4], byte1: b[5])
        switch declared {
        case .explicitVRLittleEndian:
            let capitals = (0x41...0x5A).contains(b[4]) && (0x41...0x5A).contains(b[5])
            return vr == nil && !capitals ? .implicitVRLittleEndian : nil
        case .implicitVRLittleEndian:
            guard let vr else { return nil }
            if vr.hasLongLength && (b[6] != 0 || b[7] != 0) { return nil }
            if let entry = DataDictionary.entry(for: Tag(group, element)), !entry.vrs.contains(vr), vr != .UN { return nil }
            return .explicitVRLittleEndian
        default:
            return nil
        }
    }
}
