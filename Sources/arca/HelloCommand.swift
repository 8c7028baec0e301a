import ArgumentParser
import DICOM

struct Hello: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a small valid Secondary Capture image (patient DOE^JOHN, study \"Test Study\").")

    @Argument(help: "Output file.")
    var output = "hello_dicom_output.dcm"

    func run() throws {
        let file = SampleImage.secondaryCapture()
        try FileWriter.write(try file.serialized(), to: output)
        print("Wrote \(output) (SOP Instance UID \(file.dataSet.uid(.sopInstanceUID) ?? ""))")
    }
}
