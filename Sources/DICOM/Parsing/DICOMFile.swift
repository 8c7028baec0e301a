/// A Part-10 file (or a bare dataset as old archives hold them): preamble, meta header and dataset.
public struct DICOMFile: Sendable, Equatable {
    /// The 128 preamble bytes, nil for a file that had none.
    public var preamble: [UInt8]?
    public var meta: DataSet
    public var dataSet: DataSet
    /// The syntax the dataset is encoded in (and was read in).
    public var transferSyntax: TransferSyntax
    /// Set when the meta header named another syntax than the one the dataset's bytes are in.
    public var encodingMismatch: EncodingMismatch?

    public init(preamble: [UInt8]? = [UInt8](repeating: 0, count: 128), meta: DataSet, dataSet: DataSet, transferSyntax: TransferSyntax,
                encodingMismatch: EncodingMismatch? = nil) {
        self.preamble = preamble
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
        self.encodingMismatch = encodingMismatch
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
    /// `byteBudget`: the most the dataset may hold (`DataSetBuilder.byteBudget`), past which the read fails.
    public static func read(path: String, options: ParseOptions = .default, byteBudget: Int = .max) throws -> DICOMFile {
        var parser = Part10Parser(options: options)
        var builder = DataSetBuilder(byteBudget: byteBudget)
        try read(path: path, options: options, &parser, &builder)
        return try make(parser, builder)
    }

    /// What a read got before an error stopped it (a truncated or damaged file), and the error.
    public struct PartialRead: Sendable {
        /// The meta header and dataset as far as they were read; nil when the read stopped before the
        /// dataset's encoding was known.
        public var file: DICOMFile?
        /// The meta header's elements read, also when `file` is nil.
        public var meta: DataSet
        /// Nil when the whole file was read.
        public var error: (any Error)?
    }

    /// Reads what can be read: every element before the point where the file is cut or damaged, as
    /// dcmdump prints them, then the error that stopped the read.
    public static func readAsFarAsPossible(path: String, options: ParseOptions = .default) -> PartialRead {
        var parser = Part10Parser(options: options)
        var builder = DataSetBuilder()
        do {
            try read(path: path, options: options, &parser, &builder)
            return PartialRead(file: try make(parser, builder), meta: parser.meta, error: nil)
        } catch {
            let file = parser.transferSyntax.map {
                DICOMFile(preamble: parser.preamble, meta: parser.meta, dataSet: builder.dataSetSoFar, transferSyntax: $0,
                          encodingMismatch: parser.encodingMismatch)
            }
            return PartialRead(file: file, meta: parser.metaReadSoFar, error: error)
        }
    }

    private static func read(path: String, options: ParseOptions, _ parser: inout Part10Parser, _ builder: inout DataSetBuilder) throws {
        let file = try FileReader(path: path)
        try file.forEachChunk(size: options.stopBefore == nil ? 1 << 20 : 64 * 1024) { chunk in
            try parser.feed(chunk, to: &builder)
            return !parser.isStopped
        }
        try parser.finish(&builder)
    }

    private static func make(_ parser: Part10Parser, _ builder: DataSetBuilder) throws -> DICOMFile {
        guard let ts = parser.transferSyntax else {
            throw DICOMParseError(.notDICOM, offset: 0, "no dataset found")
        }
        return DICOMFile(preamble: parser.preamble, meta: parser.meta, dataSet: builder.dataSet, transferSyntax: ts,
                         encodingMismatch: parser.encodingMismatch)
    }

    /// Whether the file had a meta header.
    public var hasMeta: Bool { !meta.isEmpty }

    /// Where a file's dataset starts and how it is encoded, reading only the preamble, the meta header and the
    /// dataset's first element: what a sender needs to stream the dataset bytes as they are.
    public struct DataSetLocation: Sendable {
        public var meta: DataSet
        /// The syntax the dataset's bytes are in (the meta header's unless `encodingMismatch` says otherwise).
        public var transferSyntax: TransferSyntax
        /// File offset of the dataset's first byte.
        public var offset: UInt64
        public var encodingMismatch: EncodingMismatch?
        /// The 128 preamble bytes, nil for a file that had none.
        public var preamble: [UInt8]?

        /// Whether the file is a Part-10 file as Arca writes them: a zero preamble, `DICM`, a meta header whose
        /// group length is its length and which names the syntax the dataset is read in (no implicit/explicit
        /// mismatch found). Such a file can be sent as it is where a Part-10 file is wanted.
        public var isPlainPartTen: Bool {
            // 128 preamble bytes, `DICM`, and the group length element itself (12 bytes) before what it counts.
            encodingMismatch == nil && meta.uid(.transferSyntaxUID) == transferSyntax.uid
                && meta.int(.fileMetaInformationGroupLength).map { $0 >= 0 && UInt64($0) + 144 == offset } == true
                && preamble.map { $0.count == 128 && $0.allSatisfy { $0 == 0 } } == true
        }
    }

    public static func locateDataSet(path: String) throws -> DataSetLocation {
        let file = try FileReader(path: path)
        return try locateDataSet(path: path) { buffer in try file.read(into: buffer) }
    }

    /// `locateDataSet` of an open file, read from its start with `pread` (the descriptor's position is left
    /// alone): for a sender that keeps the descriptor to send from.
    public static func locateDataSet(descriptor fd: Int32, path: String) throws -> DataSetLocation {
        var position = 0
        return try locateDataSet(path: path) { buffer in
            let n = try FileReader.read(fd, into: buffer, at: position, path: path)
            position += n
            return n
        }
    }

    /// `read` fills a buffer from where the last read ended and answers how many bytes it holds (0 at the end).
    private static func locateDataSet(path: String, read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> DataSetLocation {
        var parser = Part10Parser(options: ParseOptions(stopBefore: Tag(rawValue: 0)))
        var builder = DataSetBuilder()
        // 4 KB holds a meta header and the first bytes of the dataset (what tells its encoding) in every file
        // Arca writes; more is read 16 KB at a time for a file whose header is longer.
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var size = 4096
        while parser.dataSetOffset == nil {
            let n = try buffer.withUnsafeMutableBytes { try read(UnsafeMutableRawBufferPointer(rebasing: $0[0..<size])) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try parser.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n]), to: &builder) }
            size = buffer.count
        }
        // A dataset shorter than the bytes the syntax check reads (an empty one) starts at the end of the file.
        if parser.dataSetOffset == nil { try parser.finish(&builder) }
        guard let ts = parser.transferSyntax, let offset = parser.dataSetOffset else {
            throw DICOMParseError(.notDICOM, offset: 0, "\(path): no dataset found")
        }
        return DataSetLocation(meta: parser.meta, transferSyntax: ts, offset: offset, encodingMismatch: parser.encodingMismatch,
                               preamble: parser.preamble)
    }
}
