import ArgumentParser
import DICOM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
            // A damaged or truncated file: every element read before the damage, then the error (with its
            // offset), and a failure exit, as dcmdump +E does.
            let read = DICOMFile.readAsFarAsPossible(path: path, options: headerOnly ? .headerOnly : .default)
            if let mismatch = read.file?.encodingMismatch { printError("arca dump: \(path): warning: \(mismatch)") }
            let text = formatter.format(read)
            if !text.isEmpty {
                if files.count > 1 { print("# File: \(path)") }
                print(text, terminator: "")
            }
            if let error = read.error {
                failed = true
                fflush(nil)  // the listing first, then the error after it, also on one terminal
                printError("arca dump: \(path): \(error)")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
