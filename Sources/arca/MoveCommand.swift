import ArgumentParser
import Archive
import DICOM
import DICOMNetwork

struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask an archive to send what the keys select to a destination AE (C-MOVE).",
        discussion: "Example: arca move localhost 11112 --dest VIEWER --level STUDY -k StudyInstanceUID=1.2.3")

    @OptionGroup var query: QueryOptionsGroup
    @Option(help: "The destination AE title (the archive must know its address).") var dest: String

    func run() async throws {
        let identifier = try query.identifier(defaultReturnKeys: false)
        let sopClass = query.model.moveSOPClass
        let (final, failed): (CommandSet, DataSet?)
        do {
            (final, failed) = try await ClientAssociation.withAssociation(host: query.host, port: query.port.value,
                                                                           request: query.associate([sopClass]), tls: try query.tls.context()) { association in
                try await association.move(identifier, sopClassUID: sopClass, destination: dest) { pending in
                    print("pending: \(subOperationCounts(pending))")
                    return true
                }
            }
        } catch {
            printError("arca move: \(query.host):\(query.port): \(error)")
            throw ExitCode.failure
        }
        let status = final.status ?? .processingFailure
        print("C-MOVE to \(dest): \(status)\(final.errorComment.map { " — \($0)" } ?? ""); \(subOperationCounts(final))")
        for uid in failed?.strings(.failedSOPInstanceUIDList) ?? [] { printError("FAILED \(uid)") }
        if !status.isSuccess { throw ExitCode.failure }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrieve what the keys select into a folder, on the same association (C-GET).",
        discussion: "Example: arca get localhost 11112 --out ./study --level SERIES -k StudyInstanceUID=1.2.3 -k SeriesInstanceUID=1.2.3.4")

    @OptionGroup var query: QueryOptionsGroup
    @Option(help: "Folder the instances are written into (<SOP Instance UID>.dcm).") var out = "."

    func run() async throws {
        let identifier = try query.identifier(defaultReturnKeys: false)
        let sopClass = query.model.getSOPClass
        try Directory.create(out)
        // One context for the C-GET, the rest for the storage classes we receive in the SCP role (at most 128).
        let storage = Self.storageClasses.prefix(127)
        var contexts = [PresentationContextProposal(id: 1, abstractSyntax: sopClass,
                                                    transferSyntaxes: [UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian])]
        for (i, uid) in storage.enumerated() {
            contexts.append(PresentationContextProposal(id: UInt8(2 * i + 3), abstractSyntax: uid, transferSyntaxes: Self.receivedSyntaxes))
        }
        let request = AssociateRequest(calledAETitle: query.aec, callingAETitle: query.aet, presentationContexts: contexts,
                                       maxPDULength: 131_072,
                                       roleSelections: storage.map { RoleSelection(sopClassUID: $0, scuRole: false, scpRole: true) })
        let handler = FolderStoreHandler(folder: out)
        let (final, failed): (CommandSet, DataSet?)
        do {
            (final, failed) = try await ClientAssociation.withAssociation(host: query.host, port: query.port.value, request: request, tls: try query.tls.context()) { association in
                try await association.get(identifier, sopClassUID: sopClass, incoming: handler)
            }
        } catch {
            printError("arca get: \(query.host):\(query.port): \(error)")
            throw ExitCode.failure
        }
        let status = final.status ?? .processingFailure
        print("C-GET: \(status)\(final.errorComment.map { " — \($0)" } ?? ""); \(subOperationCounts(final)); \(handler.received.withLockedValue { $0.count }) file(s) in \(out)")
        for uid in failed?.strings(.failedSOPInstanceUIDList) ?? [] { printError("FAILED \(uid)") }
        if !status.isSuccess { throw ExitCode.failure }
    }

    /// Uncompressed first; the compressed syntaxes an archive commonly holds, so it can send them as stored.
    static let receivedSyntaxes = [
        UpperLayerUID.explicitVRLittleEndian, UpperLayerUID.implicitVRLittleEndian,
        "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.5",
    ]

    /// The storage SOP classes proposed: the common image and document classes first, then the rest.
    static var storageClasses: [String] {
        let common = [
            "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1",
            "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.6.1",
            "1.2.840.10008.5.1.4.1.1.3.1", "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.20",
            "1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.481.1", "1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22",
            "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.104.1", "1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.11.1",
        ]
        let rest = UIDRegistry.storageSOPClasses.filter { !$0.isRetired }.map(\.uid).filter { !common.contains($0) }
        return common + rest
    }
}
