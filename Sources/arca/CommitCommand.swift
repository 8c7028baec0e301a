import ArgumentParser
import Archive
import DICOM
import DICOMNetwork
import Logging
import NIOSSL

struct Commit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask an archive to commit to keeping files (Storage Commitment, N-ACTION), and print its report.",
        discussion: """
            The report is awaited on the same association; with --listen PORT it may also come on an association \
            the archive opens to us (give the archive our AE title and address). With --tls the request goes over \
            DICOM TLS, and the --listen port then takes TLS too, presenting --tls-certificate (configure us at the \
            archive as AE=host:port+tls).
            """)

    @Argument(help: "Host of the peer.") var host: String
    @Argument(help: "Port of the peer (1 to 65535).") var port: PortArgument
    @Argument(help: "Files and folders whose instances to commit.") var paths: [String]
    @Option(help: "Our (calling) AE title.") var aet = "ARCA_SCU"
    @Option(help: "The peer's (called) AE title.") var aec = "STORE_SCP"
    @Option(help: "Also accept the report on an association to this port (1 to 65535).") var listen: PortArgument?
    @Option(help: "Seconds to wait for the report.") var timeout: Double = 60
    @OptionGroup var tls: TLSClientOptions

    func run() async throws {
        var references: [DataSet] = []
        for path in Store.collect(paths) {
            do {
                let header = try DICOMFile.read(path: path, options: .headerOnly)
                guard let cls = header.meta.uid(.mediaStorageSOPClassUID) ?? header.dataSet.uid(.sopClassUID),
                      let inst = header.meta.uid(.mediaStorageSOPInstanceUID) ?? header.dataSet.uid(.sopInstanceUID) else {
                    printError("skipped \(path): no SOP Class/Instance UID")
                    continue
                }
                var item = DataSet()
                item.setString(cls, for: .referencedSOPClassUID, vr: .UI)
                item.setString(inst, for: .referencedSOPInstanceUID, vr: .UI)
                references.append(item)
            } catch {
                printError("skipped \(path): \(error)")
            }
        }
        guard !references.isEmpty else {
            printError("arca commit: no DICOM files")
            throw ExitCode.failure
        }
        let transaction = UIDGenerator.make()
        let information: DataSet = {
            var ds = DataSet()
            ds.setString(transaction, for: .transactionUID, vr: .UI)
            ds.setItems(references, for: .referencedSOPSequence)
            return ds
        }()

        let clientTLS: NIOSSLContext?
        let listenerTLS: NIOSSLContext?
        do {
            clientTLS = try tls.context()
            listenerTLS = try listenerContext()
        } catch {
            printError("arca commit: \(error)")
            throw ExitCode.failure
        }
        let receiver = CommitmentReportReceiver()
        let listener: DICOMServer? = listen.map { listenPort in
            var policy = AssociationPolicy(aeTitle: aet, abstractSyntaxes: { _ in nil })
            policy.strictCalledAETitle = false
            var configuration = SCPConfiguration(port: listenPort.value, policy: policy)
            configuration.tls = listenerTLS
            configuration.associationThreads = 2  // the report's association, and perhaps an echo
            return DICOMServer(configuration: configuration,
                               services: DIMSEServiceRegistry([VerificationService(), receiver]),
                               logger: Logger(label: "arca-commit") { _ in SwiftLogNoOpLogHandler() })
        }
        let (host, port, timeout, referenceCount) = (self.host, self.port.value, self.timeout, references.count)
        let request = AssociateRequest(
            calledAETitle: aec, callingAETitle: aet,
            presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [CommitmentReportReceiver.sopClassUID]),
            maxPDULength: 131_072)
        let report: (CommandSet, DataSet?)?
        do {
            report = try await withThrowingTaskGroup(of: (CommandSet, DataSet?)?.self) { group in
                if let listener {
                    group.addTask { try await listener.run(); return nil }
                    group.addTask {
                        for await r in receiver.reports where Self.isReport(r, of: transaction) { return r }
                        return nil
                    }
                }
                group.addTask {
                    try await ClientAssociation.withAssociation(host: host, port: port, request: request, tls: clientTLS) { association in
                        let rsp = try await association.action(sopClassUID: CommitmentReportReceiver.sopClassUID,
                                                               sopInstanceUID: "1.2.840.10008.1.20.1.1", actionTypeID: 1, information: information)
                        guard rsp.status?.isSuccess == true else {
                            throw AssociationError("N-ACTION refused: \(rsp.status.map { "\($0)" } ?? "?")\(rsp.errorComment.map { " — \($0)" } ?? "")")
                        }
                        print("N-ACTION accepted: transaction \(transaction), \(referenceCount) instance(s)")
                        // On this association, unless the peer releases it to report on another one.
                        do {
                            while true {
                                let r = try await association.nextEventReport()
                                if Self.isReport(r, of: transaction) { return r }
                            }
                        } catch where listener != nil { return nil }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    throw AssociationError("no storage commitment report within \(Int(timeout)) s")
                }
                while let next = try await group.next() {
                    if let r = next {
                        group.cancelAll()
                        listener?.shutdown()
                        receiver.finish()
                        return r
                    }
                }
                return nil
            }
        } catch {
            listener?.shutdown()
            printError("arca commit: \(host):\(port): \(error)")
            throw ExitCode.failure
        }
        guard let (command, data) = report else {
            printError("arca commit: no report")
            throw ExitCode.failure
        }
        let committed = data?.items(.referencedSOPSequence) ?? []
        let failed = data?.items(.failedSOPSequence) ?? []
        print("Report (event \(command.dataSet.int(.eventTypeID) ?? 0)) for \(data?.uid(.transactionUID) ?? "?"): \(committed.count) committed, \(failed.count) failed")
        for f in failed {
            let reason = f.int(.failureReason).map { "0x" + String($0, radix: 16, uppercase: true) } ?? "?"
            print("FAILED \(f.uid(.referencedSOPInstanceUID) ?? "?"): reason \(reason)")
        }
        // Every instance asked about is accounted for: one the report does not name is not committed.
        let reported = Set((committed + failed).compactMap { $0.uid(.referencedSOPInstanceUID) })
        let unreported = references.compactMap { $0.uid(.referencedSOPInstanceUID) }.filter { !reported.contains($0) }
        for uid in unreported { print("NOT REPORTED \(uid)") }
        if !failed.isEmpty || !unreported.isEmpty { throw ExitCode.failure }
    }

    /// Whether an N-EVENT-REPORT is the report of our transaction: another (a stale transaction's, or anyone's
    /// sent to the --listen port) is ignored, and the wait goes on. Taking the first one that came let any peer
    /// that could reach the port end the command with success, and the operator delete the local copies.
    static func isReport(_ report: (CommandSet, DataSet?), of transaction: String) -> Bool {
        let theirs = report.1?.uid(.transactionUID)
        if theirs == transaction { return true }
        printError("arca commit: ignored a report for transaction \(theirs ?? "(none)"), not ours")
        return false
    }

    /// The `--listen` port's TLS: with `--tls` a report comes as the request went, so the port serves TLS with our
    /// certificate (the archive need not present one: the report only tells us what it keeps).
    func listenerContext() throws -> NIOSSLContext? {
        guard listen != nil, tls.tls || tls.tlsCertificate != nil else { return nil }
        guard let certificate = tls.tlsCertificate, let key = tls.tlsKey else {
            throw ValidationError("--listen with --tls needs --tls-certificate and --tls-key (the archive connects to us over TLS)")
        }
        return try DICOMTLS.serverContext(certificate: certificate, key: key, clientCA: nil)
    }
}
