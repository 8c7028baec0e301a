/// A Part-10 file (or a bare dataset as old archives hold them): preamble, meta header and dataset.
public struct DICOMFile: Sendable, Equatable {
    /// The 128 preamble bytes, nil for a file that had none.
    public var preamble: [UInt8]?
    public var meta: DataSet
    public var dataSet: DataSet
    public var transferSyntax: TransferSyntax

    public init(preamble: [UInt8]? = [UInt8](repeating: 0, count: 128), meta: DataSet, dataSet: DataSet, transferSyntax: TransferSyntax) {
        self.preamble = preamble
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
    }

    /// Parses a whole file held in memory.
    public static func read(_ bytes: [UInt8], options: ParseOptions = .default) throws -> DICOMFile {
        var parser = Part10Parser(options: options)
        var builder = DataSetBuilder()
        try parser.feed(bytes, to: &builder)
        try parser.finish(&builder)
        return try make(parser, builder)
    }

    /// Reads a file in pieces, so a header-only pass (`ParseOptions.headerOnly`) reads only the header's bytes.
    public static func read(path: String, options: ParseOptions = .default) throws -> DICOMFile {
        var parser = Part10Parser(options: options)
        var builder = DataSetBuilder()
        let file = try FileReader(path: path)
        try file.forEachChunk(size: options.stopBefore == nil ? 1 << 20 : 64 * 1024) { chunk in
            try parser.feed(chunk, to: &builder)
            return !parser.isStopped
        }
        try parser.finish(&builder)
        return try make(parser, builder)
    }

    private static func make(_ parser: Part10Parser, _ builder: DataSetBuilder) throws -> DICOMFile {
        guard let ts = parser.transferSyntax else {
            throw DICOMParseError(.notDICOM, offset: 0, "no dataset found")
        }
        return DICOMFile(preamble: parser.preamble, meta: parser.meta, dataSet: builder.dataSet, transferSyntax: ts)
    }

    /// Whether the file had a meta header.
    public var hasMeta: Bool { !meta.isEmpty }

    /// Where a file's dataset starts and how it is encoded, reading only the preamble and meta header:
    /// what a sender needs to stream the dataset bytes as they are.
    public static func locateDataSet(path: String) throws -> (meta: DataSet, transferSyntax: TransferSyntax, offset: UInt64) {
        var parser = Part10Parser(options: ParseOptions(stopBefore: Tag(rawValue: 0)))
        var builder = DataSetBuilder()
        let file = try FileReader(path: path)
        try file.forEachChunk(size: 16 * 1024) { chunk in
            try parser.feed(chunk, to: &builder)
            return parser.dataSetOffset == nil
        }
        guard let ts = parser.transferSyntax, let offset = parser.dataSetOffset else {
            throw DICOMParseError(.notDICOM, offset: 0, "\(path): no dataset found")
        }
        return (parser.meta, ts, offset)
    }
}
