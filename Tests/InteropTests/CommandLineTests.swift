import DICOM
import DICOMNetwork
import Foundation
import Logging
import Testing
import TestSupport

/// What the `arca` client commands refuse before they connect.
@Suite struct CommandLineTests {
    /// A port outside 1…65535 is named and refused (exit 64, ArgumentParser's usage error): as an `Int` it went
    /// to getaddrinfo, which reads it modulo 65,536 (70000 connected to port 4464).
    @Test func clientCommandsRefuseAPortOutOfRange() async throws {
        guard let arca = SecurityTests.builtArca() else { return }
        let commands: [(arguments: [String], value: String)] = [
            (["echo", "127.0.0.1", "70000"], "70000"),
            (["store", "127.0.0.1", "0", "a.dcm"], "0"),
            (["find", "127.0.0.1", "65536"], "65536"),
            (["move", "127.0.0.1", "131183", "--dest", "X"], "131183"),
            (["get", "127.0.0.1", "99999"], "99999"),
            (["commit", "127.0.0.1", "104", "a.dcm", "--listen", "70000"], "70000"),
        ]
        for (arguments, value) in commands {
            let r = try await ExternalTool.runAsync(arca, arguments)
            #expect(r.status == 64, "\(arguments): \(r.status) \(r.stdout)")
            #expect(r.stderr.contains("The value '\(value)' is invalid"), "\(arguments): \(r.stderr)")
        }
    }

    /// `arca commit` takes only the report of its own transaction, and fails when a report leaves an instance out:
    /// it took the first N-EVENT-REPORT that came, so any peer that reached it (on the association or the --listen
    /// port) could end it with success for nothing, and the operator delete the local copies.
    @Test(.needs(.pydicom)) func commitTakesOnlyItsOwnTransactionsReport() async throws {
        guard let arca = SecurityTests.builtArca() else { return }
        let study = try CTStudy.make(count: 2)
        defer { try? FileManager.default.removeItem(at: study.folder) }
        for leavesOneOut in [false, true] {
            let server = DICOMServer(
                configuration: SCPConfiguration(host: "127.0.0.1", port: 0, policy: AssociationPolicy(aeTitle: "STORE_SCP", abstractSyntaxes: { _ in nil })),
                services: DIMSEServiceRegistry([ForgingCommitment(leavesOneOut: leavesOneOut)]), logger: Logger(label: "forging-commitment"))
            let running = Task { try await server.run() }
            defer { server.shutdown() }
            let port = try await server.waitUntilListening()
            let r = try await ExternalTool.runAsync(arca, ["commit", "127.0.0.1", String(port), "--timeout", "30"] + study.files.map(\.path))
            #expect(r.stderr.contains("ignored a report for transaction 1.2.826.0.1.3680043.10.1432.4"), "\(r.stderr)")
            if leavesOneOut {
                #expect(r.status != 0 && r.stdout.contains("1 committed") && r.stdout.contains("NOT REPORTED"), "\(r.stdout)")
            } else {
                #expect(r.status == 0 && r.stdout.contains("2 committed"), "\(r.status) \(r.stdout) \(r.stderr)")
            }
            server.shutdown()
            try await running.value
        }
    }

    /// A Storage Commitment SCP that first sends a report of another transaction committing nothing, then the real
    /// one: every reference committed, or all but the last (named nowhere).
    struct ForgingCommitment: CollectingDIMSEService {
        let leavesOneOut: Bool
        var commands: Set<CommandField> { [.nActionRQ] }
        func support(for abstractSyntax: String) -> AbstractSyntaxSupport? {
            abstractSyntax == "1.2.840.10008.1.20.1" ? AbstractSyntaxSupport(transferSyntaxes: .uncompressed) : nil
        }
        func perform(_ request: DIMSERequest, _ responder: DIMSEResponder) async throws {
            try await responder.respond(status: .success) { $0.setUS(1, .actionTypeID) }
            var references = request.dataSet?.items(.referencedSOPSequence) ?? []
            if leavesOneOut { references.removeLast() }
            let reports = [("1.2.826.0.1.3680043.10.1432.4", [DataSet]()), (request.dataSet?.uid(.transactionUID) ?? "", references)]
            for (transaction, committed) in reports {
                var command = CommandSet()
                command.setUID("1.2.840.10008.1.20.1", .affectedSOPClassUID)
                command.setUS(CommandField.nEventReportRQ.rawValue, .commandField)
                command.setUS(0x0000, .commandDataSetType)
                command.setUID("1.2.840.10008.1.20.1.1", .affectedSOPInstanceUID)
                command.setUS(1, .eventTypeID)
                var report = DataSet()
                report.setString(transaction, for: .transactionUID, vr: .UI)
                if !committed.isEmpty { report.setItems(committed, for: .referencedSOPSequence) }
                _ = try await responder.request(command, contextID: request.context.id, dataSet: report)
            }
        }
    }
}
