import ArgumentParser
import DICOM
import Pixels

struct Transcode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite a DICOM file in another transfer syntax.",
        discussion: "SYNTAX is a UID or one of: " + PixelSyntax.all.filter(FrameEncoder.canEncode).map(\.keyword).joined(separator: ", ")
            + ". Any syntax Arca decodes can be read; lossless ones are written.")

    @Option(name: .long, help: "The target transfer syntax (UID or keyword).")
    var to: String

    @Argument(help: "The DICOM file.")
    var file: String

    @Argument(help: "The new file.")
    var output: String

    func run() throws {
        guard let syntax = PixelSyntax.named(to) else {
            throw ValidationError("unknown transfer syntax \(to)")
        }
        do {
            try Transcoder.transcode(path: file, to: syntax, output: output)
        } catch {
            printError("arca transcode: \(file): \(error)")
            throw ExitCode.failure
        }
    }
}
