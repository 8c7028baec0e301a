import ArgumentParser
import Foundation
import DICOM
import Pixels

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a frame of a DICOM image to PNG or JPEG.",
        discussion: "Applies the Modality LUT, the VOI (the file's first window, a VOI LUT, or the frame's range), "
            + "the Presentation LUT and the photometric interpretation, as a viewer shows the image.")

    @Option(name: .shortAndLong, help: "Frame number, from 1.")
    var frame = 1

    @Option(name: .long, help: "Window centre and width, e.g. 40,400 (overrides the file's).")
    var window: String?

    @Option(name: .long, help: "VOI LUT function with --window: LINEAR, LINEAR_EXACT or SIGMOID.")
    var function = "LINEAR"

    @Option(name: .long, help: "Fit the image inside WxH pixels, keeping its aspect ratio (e.g. 256x256).")
    var size: String?

    @Option(name: .long, help: "JPEG quality, 1–100.")
    var quality = 90

    @Argument(help: "The DICOM file.")
    var file: String

    @Argument(help: "The output file: .png, .jpg or .jpeg.")
    var output: String

    func run() throws {
        guard let format = ImageFileFormat(fileName: output, quality: quality) else {
            throw ValidationError("the output must end in .png, .jpg or .jpeg")
        }
        var win: Window?
        if let window {
            let parts = window.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts[1] > 0 else { throw ValidationError("--window takes CENTRE,WIDTH with a positive width") }
            guard let fn = VOIFunction(rawValue: function.uppercased()) else { throw ValidationError("unknown --function \(function)") }
            win = Window(center: parts[0], width: parts[1], function: fn)
        }
        var viewport: Viewport?
        if let size {
            let parts = size.lowercased().split(separator: "x").map { Int($0) }
            guard parts.count == 2, let w = parts[0], let h = parts[1], w >= 0, h >= 0, w + h > 0 else {
                throw ValidationError("--size takes WIDTHxHEIGHT, e.g. 256x256")
            }
            viewport = Viewport(width: w, height: h)
        }
        do {
            let bytes = try Renderer.render(path: file, frame: frame - 1, window: win, viewport: viewport, format: format)
            try FileWriter.write(bytes, to: output)
        } catch {
            printError("arca render: \(file): \(error)")
            throw ExitCode.failure
        }
    }
}
