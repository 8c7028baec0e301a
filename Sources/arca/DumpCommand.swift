import ArgumentParser
import DICOM

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print DICOM files like DCMTK's dcmdump.")

    @Flag(name: .long, help: "Stop before the pixel data (reads only the header's bytes).")
    var headerOnly = false

    @Argument(help: "DICOM files.")
    var files: [String]

    func run() throws {
        var failed = false
        let formatter = DumpFormatter()
        for path in files {
            do {
                let file = try DICOMFile.read(path: path, options: headerOnly ? .headerOnly : .default)
                if files.count > 1 { print("# File: \(path)") }
                print(formatter.format(file), terminator: "")
            } catch {
                failed = true
                printError("arca dump: \(path): \(error)")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
