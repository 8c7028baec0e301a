extension PixelSyntax {
    /// Whether Arca decodes pixel data in the syntax `uid`.
    public static func canDecode(_ uid: String) -> Bool { forUID(uid) != nil }

    /// What to send an instance stored in `stored` to a peer that accepts `accepted` (C-MOVE/C-GET
    /// sub-operations, a DICOMweb Accept header): the stored syntax when accepted (no conversion); else the
    /// first accepted syntax, in the peer's order, that keeps every value (an uncompressed one, or a lossless
    /// one Arca writes); else, for a stored lossy syntax, any accepted syntax Arca writes (the loss already
    /// happened). Nil when nothing accepted can be produced.
    public static func target(stored: String, accepted: [String]) -> PixelSyntax? {
        if accepted.contains(stored) { return forUID(stored) }
        guard let source = forUID(stored) else { return nil }
        let writable = accepted.compactMap(forUID).filter(FrameEncoder.canEncode)
        if let lossless = writable.first(where: { $0.isLossless }) { return lossless }
        return source.isLossless ? nil : writable.first
    }
}
