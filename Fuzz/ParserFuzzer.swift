// libFuzzer target for the dataset parser: compiled into the DICOM module's sources by Fuzz/run.sh.
// Any thrown error is a correct answer; a crash, a hang or a sanitizer report is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)

    // Whole files, fed at once and in two pieces split where the input says.
    var parsed: DICOMFile?
    do { parsed = try DICOMFile.read(Array(input)) } catch {}
    let split = size > 0 ? Int(input[0]) * size / 256 : 0
    var parser = Part10Parser(options: ParseOptions(streamThreshold: 64))
    var builder = DataSetBuilder()
    do {
        try parser.feed(UnsafeRawBufferPointer(rebasing: input[0..<split]), to: &builder)
        try parser.feed(UnsafeRawBufferPointer(rebasing: input[split...]), to: &builder)
        try parser.finish(&builder)
    } catch {}

    // Bare datasets in the syntaxes without meta header.
    for syntax in [TransferSyntax.implicitVRLittleEndian, .explicitVRBigEndian, .explicitVRLittleEndian] {
        var p = DataSetParser(transferSyntax: syntax, options: ParseOptions(maxDepth: 16))
        var b = DataSetBuilder()
        do {
            try p.feed(input, to: &b)
            try p.finish(&b)
        } catch {}
    }

    // What parses must write back and parse again.
    if let file = parsed, let bytes = try? file.serialized() {
        _ = try? DICOMFile.read(bytes)
    }
    return 0
}
