import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// An association that lives long (a workstation's, a router's) must not cost more memory with each request
/// it makes. Through the `arca serve` binary, so the server's memory is its own process's.
@Suite struct LongAssociationTests {
    /// The resident memory of a process, from /proc (kB).
    static func residentKB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// 3,000 C-FINDs on one association: the server's memory after the last is within a few MB of what it was
    /// after the first 300. Each operation runs in a task of its own; a task group that keeps finished tasks until
    /// their results are read held ~14 KB per request (40 MB here) until the association ended.
    @Test func manyQueriesOnOneAssociationHoldNoMemory() async throws {
        let arca = ExternalTool.repositoryRoot.appendingPathComponent(".build/debug/arca").path
        guard ExternalTool.exists(arca) else { Issue.record(".build/debug/arca is not built: run `swift build` first"); return }
        let archive = try ExternalTool.temporaryDirectory("arca-long")
        defer { try? FileManager.default.removeItem(at: archive) }
        let (port, process) = try await PynetdicomTests.startPeerOnFreePort(arca) {
            ["serve", String($0), "--archive", archive.path, "--http-port", "0", "--log-level", "warning"]
        }
        defer { PynetdicomTests.stop(process) }
        var identifier = DataSet()
        identifier.setString("STUDY", for: .queryRetrieveLevel, vr: .CS)
        identifier.setString("NOBODY*", for: .patientName, vr: .PN)
        identifier.setString("", for: .studyInstanceUID, vr: .UI)
        let sop = QueryModelUID.studyFind
        let request = AssociateRequest(calledAETitle: "STORE_SCP", callingAETitle: "LONG_SCU",
                                       presentationContexts: AssociateRequest.presentationContexts(abstractSyntaxes: [sop]))
        let (warm, after) = try await ClientAssociation.withAssociation(host: "127.0.0.1", port: port, request: request) { association in
            var warm: Int?
            for n in 1...3_000 {
                let final = try await association.find(identifier, sopClassUID: sop) { _ in true }
                #expect(final.status == .success)
                if n == 300 { warm = Self.residentKB(process.processIdentifier) }
            }
            return (warm, Self.residentKB(process.processIdentifier))
        }
        let (before, last) = try #require(warm.flatMap { w in after.map { (w, $0) } })
        #expect(last - before < 10_000, "the server grew from \(before) kB to \(last) kB over 2,700 queries on one association")
    }
}
