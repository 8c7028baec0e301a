/// Arca's identity in file meta headers and association requests.
public enum DICOMImplementation {
    /// Under the UID root for the Arca project.
    public static let classUID = "1.2.826.0.1.3680043.10.1432.1"
    public static let versionName = "ARCA_010"
}

extension DICOMFile {
    /// A new file: a meta header built from the dataset (SOP class and instance) and a zero preamble.
    public init(dataSet: DataSet, transferSyntax: TransferSyntax = .explicitVRLittleEndian, sourceAETitle: String? = nil) {
        let meta = FileMeta.make(
            sopClassUID: dataSet.uid(.sopClassUID) ?? "", sopInstanceUID: dataSet.uid(.sopInstanceUID) ?? "",
            transferSyntax: transferSyntax, sourceAETitle: sourceAETitle)
        self.init(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax)
    }

    /// The file's bytes: preamble and `DICM` (when it had them), the meta header with its group length
    /// recomputed, then the dataset in the file's transfer syntax.
    public func serialized() throws -> [UInt8] {
        var out: [UInt8] = []
        if let preamble {
            out.append(contentsOf: preamble.count == 128 ? preamble : [UInt8](repeating: 0, count: 128))
            out.append(contentsOf: [0x44, 0x49, 0x43, 0x4D])
        }
        if !meta.isEmpty { out.append(contentsOf: try FileMeta.encode(meta)) }
        out.append(contentsOf: try DataSetWriter.encode(dataSet, syntax: transferSyntax))
        return out
    }
}

public enum FileMeta {
    public static func make(sopClassUID: String, sopInstanceUID: String, transferSyntax: TransferSyntax,
                            sourceAETitle: String? = nil) -> DataSet {
        var meta = DataSet()
        meta.setUInt32(0, for: .fileMetaInformationGroupLength)  // computed by `encode`
        meta.set(Element(tag: .fileMetaInformationVersion, vr: .OB, bytes: [0x00, 0x01]))
        meta.setString(sopClassUID, for: .mediaStorageSOPClassUID, vr: .UI)
        meta.setString(sopInstanceUID, for: .mediaStorageSOPInstanceUID, vr: .UI)
        meta.setString(transferSyntax.uid, for: .transferSyntaxUID, vr: .UI)
        meta.setString(DICOMImplementation.classUID, for: .implementationClassUID, vr: .UI)
        meta.setString(DICOMImplementation.versionName, for: .implementationVersionName, vr: .SH)
        if let ae = sourceAETitle, !ae.isEmpty { meta.setString(ae, for: .sourceApplicationEntityTitle, vr: .AE) }
        return meta
    }

    /// Group 0002 in explicit VR little endian, led by its group length recomputed when it has one (a
    /// meta header read without one is written back without one).
    public static func encode(_ meta: DataSet) throws -> [UInt8] {
        var body = meta
        let enc = DataSetWriter.Encoding(explicitVR: true, bigEndian: false)
        var content: [UInt8] = []
        guard body.remove(.fileMetaInformationGroupLength) != nil else {
            try DataSetWriter.write(body, enc, into: &content)
            return content
        }
        try DataSetWriter.write(body, enc, into: &content)
        var out: [UInt8] = []
        try DataSetWriter.header(.fileMetaInformationGroupLength, .UL, length: 4, enc, into: &out)
        DataSetWriter.append32(UInt32(truncatingIfNeeded: content.count), false, &out)
        return out + content
    }
}
