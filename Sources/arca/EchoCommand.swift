import ArgumentParser
import DICOMNetwork

struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a C-ECHO (DICOM ping).")

    @Argument(help: "Host of the peer.") var host: String
    @Argument(help: "Port of the peer (1 to 65535).") var port: PortArgument
    @Option(help: "Our (calling) AE title.") var aet = "ARCA_SCU"
    @Option(help: "The peer's (called) AE title.") var aec = "STORE_SCP"
    @OptionGroup var tls: TLSClientOptions

    func run() async throws {
        let request = AssociateRequest(
            calledAETitle: aec, callingAETitle: aet,
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [UpperLayerUID.verificationSOPClass]))
        let status: DIMSEStatus
        do {
            let tls = try self.tls.context()
            status = try await ClientAssociation.withAssociation(host: host, port: port.value, request: request, tls: tls) { try await $0.echo() }
        } catch {
            printError("arca echo: \(host):\(port): \(error)")
            throw ExitCode.failure
        }
        print("C-ECHO \(aet) -> \(aec) at \(host):\(port): \(status)")
        if !status.isSuccess { throw ExitCode.failure }
    }
}
