// libFuzzer target for the C-FIND identifier → query path (PS3.4 C.2.2.2, C.4.1): the input's first byte
// chooses the context's transfer syntax, the information model and the negotiated options; the rest is the
// identifier dataset as a peer sends it. Built by Fuzz/run-all.sh as its own module over the Archive query
// sources (compiled with -enable-testing, so `@testable import` reaches the compiler).
//
// The identifier is parsed as AssociationSession does, read into a Query, compiled to SQL for both engines,
// its keys matched against the identifier itself as a stored instance, and an answer built from it. The SQL
// is not run: the check is that the statement is well formed, that every peer value is a bound argument (never
// text of the statement), and that each placeholder names an argument. A thrown QueryError/DICOMParseError is
// a correct answer; a crash, a sanitizer report or a broken invariant (fatalError) is a bug.

@testable import Archive
import DICOM
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFind(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let flags = data[0]
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let syntax: TransferSyntax = [.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .implicitVRLittleEndian][Int(flags & 3)]
    let model: QueryModel = flags & 4 != 0 ? .patientRoot : .studyRoot
    let options = QueryOptions(relational: flags & 8 != 0, combinedDateTime: flags & 16 != 0, foldPersonNames: flags & 32 == 0)

    // 1. The identifier, as the session decodes a collected request dataset.
    var parser = DataSetParser(transferSyntax: syntax, options: ParseOptions(maxDepth: 16))
    var builder = DataSetBuilder()
    do {
        try parser.feed(input, to: &builder)
        try parser.finish(&builder)
    } catch is DICOMParseError {
        return 0
    } catch {
        fatalError("the dataset parser threw something else than a DICOMParseError: \(error)")
    }
    let identifier = builder.dataSet

    // 2. The query.
    let query: Query
    do { query = try Query(identifier: identifier, model: model, options: options) } catch is QueryError {
        return 0
    } catch {
        fatalError("Query(identifier:) threw something else than a QueryError: \(error)")
    }
    checkQuery(query, against: identifier)
    return 0
}
