// libFuzzer target for the DICOM data layer: compiled into the DICOM module's sources by Fuzz/run.sh
// (`-module-name DICOM`, so internal API is in reach).
//
// Any thrown `DICOMParseError` is a correct answer. A crash, a hang, a sanitizer report, another error type, or
// a file that parses whole but not in two pieces (or the other way round) is a bug: the target traps on those.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let bytes = [UInt8](copying: input)

    // 1. The whole file at once, as `DICOMFile.read` does.
    let whole = outcome { try DICOMFile.read(bytes) }

    // 2. In two pieces split where the input says, with long values streamed in chunks: the same outcome.
    let split = size > 1 ? (Int(input[size - 1]) << 8 | Int(input[0])) % (size + 1) : 0
    let pieces = outcome { () -> DICOMFile in
        var parser = Part10Parser(options: ParseOptions(streamThreshold: 16))
        var builder = DataSetBuilder()
        try parser.feed(UnsafeRawBufferPointer(rebasing: input[0..<split]), to: &builder)
        try parser.feed(UnsafeRawBufferPointer(rebasing: input[split...]), to: &builder)
        try parser.finish(&builder)
        guard let ts = parser.transferSyntax else { throw DICOMParseError(.notDICOM, offset: 0, "no dataset") }
        return DICOMFile(preamble: parser.preamble, meta: parser.meta, dataSet: builder.dataSet, transferSyntax: ts)
    }
    switch (whole, pieces) {
    case (.success(let a), .success(let b)):
        if a != b { fatalError("split at \(split): the dataset differs from the whole parse") }
    case (.failure, .failure):
        break
    case (.success, .failure(let e)):
        fatalError("split at \(split): whole parses, in pieces fails: \(e)")
    case (.failure(let e), .success):
        fatalError("split at \(split): in pieces parses, whole fails: \(e)")
    }

    // 3. Header only: stops before the pixel data, so whatever parses whole parses header-only.
    let header = outcome { try DICOMFile.read(bytes, options: .headerOnly) }
    if case .success = whole, case .failure(let e) = header { fatalError("whole parses, header-only fails: \(e)") }

    // 4. Bare datasets in the syntaxes a file without meta header may have.
    for syntax in [TransferSyntax.implicitVRLittleEndian, .explicitVRBigEndian, .explicitVRLittleEndian] {
        _ = outcome { () -> DataSet in
            var p = DataSetParser(transferSyntax: syntax, options: ParseOptions(streamThreshold: 64, maxDepth: 16))
            var b = DataSetBuilder()
            try p.feed(input, to: &b)
            try p.finish(&b)
            return b.dataSet
        }
    }

    // 5. What parses is written back and parses again (a writer error is a fair refusal).
    if case .success(let file) = whole, let again = try? file.serialized() {
        _ = outcome { try DICOMFile.read(again) }
    }
    return 0
}

/// Runs `body`; a `DICOMParseError` is an answer, any other error a bug.
func outcome<T>(_ body: () throws -> T) -> Result<T, DICOMParseError> {
    do {
        return .success(try body())
    } catch let error as DICOMParseError {
        return .failure(error)
    } catch {
        fatalError("not a DICOMParseError: \(error)")
    }
}
