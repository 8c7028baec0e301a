// libFuzzer target for the QIDO-RS query parameters (PS3.18 10.6, 8.3.4): the input is a request's query
// string (what follows `?`), its first byte choosing the level and the UIDs the path names. Built by
// Fuzz/run-all.sh as a module of Sources/DICOMweb/QIDOQuery.swift over the Archive query sources.
//
// The string is split and percent-decoded as Hummingbird's `URI.queryParameters` does (names as they are,
// values decoded, left as they are when the escape is broken), read into a query by QIDOQuery, and the query
// compiled and checked as the C-FIND target does (Fuzz/FindFuzzer.swift's checks, shared source). A thrown
// QueryError is a correct answer (400); a crash, a sanitizer report or a broken invariant is a bug.

@testable import Archive
import DICOM
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQIDO(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let flags = data[0]
    let level: QueryLevel = [.study, .series, .image, .study][Int(flags & 3)]
    let study = flags & 4 != 0 ? "1.2.3" : nil
    let series = flags & 8 != 0 && level == .image ? "1.2.3.4" : nil
    let text = String(decoding: UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)

    let parameters: [(String, String)] = text.split(separator: "&").map { pair in
        guard let eq = pair.firstIndex(of: "=") else { return (String(pair), "") }
        let value = pair[pair.index(after: eq)...]
        return (String(pair[..<eq]), value.removingPercentEncoding ?? String(value))
    }
    let qido: QIDOQuery
    do { qido = try QIDOQuery(parameters, level: level, study: study, series: series, maxParameters: 256) } catch is QueryError {
        return 0
    } catch {
        fatalError("QIDOQuery threw something else than a QueryError: \(error)")
    }
    if qido.query.level != level { fatalError("the query is not at the level of the path") }
    if qido.query.offset < 0 || (qido.query.limit ?? 0) < 0 { fatalError("a negative limit or offset") }
    // The instance a query is matched against: one made of the query's own single values.
    var instance = DataSet()
    for key in qido.query.keys {
        if case .single(let v) = key.match, key.vr.isString { instance.setString(v, for: key.tag, vr: key.vr) }
    }
    checkQuery(qido.query, against: instance)
    return 0
}
