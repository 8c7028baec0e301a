import ArgumentParser
import Archive
import DICOM
import DICOMNetwork
import Foundation

struct Find: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query an archive with C-FIND (any Q/R SCP: Arca, Orthanc, dcmqrscp…).",
        discussion: "Example: arca find localhost 11112 --level STUDY -k PatientName='DOE*' -k StudyDate=20240101-")

    @OptionGroup var query: QueryOptionsGroup
    @Flag(help: "Print the answers as JSON (one object per match, keyword: value).") var json = false
    @Flag(name: .customLong("no-default-keys"), help: "Ask only for the keys given with -k.") var noDefaultKeys = false
    @Option(name: .customLong("max-answers"), help: "Cancel the query (C-CANCEL) after this many matches.") var maxAnswers = 100_000

    func run() async throws {
        let identifier = try query.identifier(defaultReturnKeys: !noDefaultKeys)
        var answers: [DataSet] = []
        let final: CommandSet
        do {
            final = try await ClientAssociation.withAssociation(host: query.host, port: query.port.value,
                                                                 request: query.associate([query.model.findSOPClass]), tls: try query.tls.context()) { association in
                // Bounded: a peer's answers (each up to 16 MB) were kept however many came.
                try await association.find(identifier, sopClassUID: query.model.findSOPClass) { answer in
                    answers.append(answer)
                    return answers.count < maxAnswers
                }
            }
        } catch {
            printError("arca find: \(query.host):\(query.port): \(error)")
            throw ExitCode.failure
        }
        let columns = identifier.filter { $0.tag != .specificCharacterSet && $0.tag != .queryRetrieveLevel }.map(\.tag)
        if json { printJSON(answers, columns) } else { printTable(answers, columns) }
        let status = final.status ?? .processingFailure
        if answers.count >= maxAnswers {
            printError("arca find: \(maxAnswers) matches (--max-answers): the rest was cancelled")
        }
        if !status.isSuccess {
            printError("arca find: \(status)\(final.errorComment.map { ": \($0)" } ?? "") after \(answers.count) match(es)")
            throw ExitCode.failure
        }
        printError("\(answers.count) match(es)")
    }

    static func text(_ ds: DataSet, _ tag: Tag) -> String {
        guard let e = ds[tag] else { return "" }
        if case .sequence(let s) = e.value { return "(\(s.items.count) item\(s.items.count == 1 ? "" : "s"))" }
        if e.vr.isString { return ds.strings(tag).joined(separator: "\\") }
        let ints = ds.ints(tag)
        return ints.isEmpty ? "" : ints.map(String.init).joined(separator: "\\")
    }

    static func name(_ tag: Tag) -> String { DataDictionary.entry(for: tag)?.keyword ?? "\(tag)" }

    func printTable(_ answers: [DataSet], _ columns: [Tag]) {
        let header = columns.map(Self.name)
        let rows = answers.map { a in columns.map { Self.text(a, $0) } }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = min(64, max(widths[i], cell.count)) } }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { cell, w in cell.count >= w ? String(cell.prefix(w)) : cell + String(repeating: " ", count: w - cell.count) }
                .joined(separator: "  ")
        }
        print(line(header))
        for row in rows { print(line(row)) }
    }

    func printJSON(_ answers: [DataSet], _ columns: [Tag]) {
        let objects: [[String: String]] = answers.map { a in
            var o: [String: String] = [:]
            for tag in a.map(\.tag) where tag != .specificCharacterSet { o[Self.name(tag)] = Self.text(a, tag) }
            return o
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(objects) { print(String(decoding: data, as: UTF8.self)) }
    }
}
