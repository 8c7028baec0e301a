import DICOM

/// DICOM → eDCKV for an instance already in memory: its entries per category (the work is
/// `StreamingEncoder`'s; this collects what it streams).
public struct InstanceEncoder {
    /// The instance's entries per category, keys ascending, under the instance's provisional prefixes.
    public struct Encoded: Sendable {
        public var entries: [Category: [Entry]]
        /// Series and instance fields of the prefixes (the merger may assign others).
        public var series: UInt16
        public var instance: UInt16
        public var studyInstanceUID: String
        public var seriesInstanceUID: String
        public var sopInstanceUID: String
        public var studyDate: String
    }

    public init() {}

    public func encode(_ file: DICOMFile) throws -> Encoded {
        var encoder = StreamingEncoder(output: MemoryEntryOutput(), syntax: file.transferSyntax)
        try Self.feed(file, to: &encoder)
        let id = try encoder.finish()
        return Encoded(entries: encoder.output.entries, series: id.series, instance: id.instance, studyInstanceUID: id.studyInstanceUID,
                       seriesInstanceUID: id.seriesInstanceUID, sopInstanceUID: id.sopInstanceUID, studyDate: id.studyDate)
    }

    /// A parsed file through the streaming encoder: its meta, then its dataset re-encoded in explicit VR little
    /// endian (values are held little endian in memory whatever the syntax; the encoder keeps the real syntax
    /// for routing).
    static func feed<O: EntryOutput>(_ file: DICOMFile, to encoder: inout StreamingEncoder<O>) throws {
        try encoder.didReadFileMeta(file.meta, transferSyntax: file.transferSyntax)
        var parser = DataSetParser(transferSyntax: .explicitVRLittleEndian)
        try parser.feed(try DataSetWriter.encode(file.dataSet, syntax: .explicitVRLittleEndian), to: &encoder)
        try parser.finish(&encoder)
    }

    /// Fragments as items: item tag, length, bytes.
    static func items(_ fragments: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fragments.reduce(0) { $0 + 8 + $1.count })
        for f in fragments {
            out += [0xFE, 0xFF, 0x00, 0xE0]
            let n = UInt32(truncatingIfNeeded: f.count)
            out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
            out.append(contentsOf: f)
        }
        return out
    }

    /// The fragments of an entry value written by `items`.
    static func fragments(_ value: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var o = 0
        while o < value.count {
            guard value.count - o >= 8, value[o] == 0xFE, value[o + 1] == 0xFF, value[o + 2] == 0x00, value[o + 3] == 0xE0 else {
                throw EDCKVError("fragment item expected at offset \(o) of a pixel data value")
            }
            let n = Int(value[o + 4]) | Int(value[o + 5]) << 8 | Int(value[o + 6]) << 16 | Int(value[o + 7]) << 24
            guard value.count - o - 8 >= n else { throw EDCKVError("fragment at offset \(o) runs past its value") }
            out.append(Array(value[(o + 8)..<(o + 8 + n)]))
            o += 8 + n
        }
        return out
    }
}
