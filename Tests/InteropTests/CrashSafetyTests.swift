import Foundation
import Testing
import TestSupport

/// `scripts/crash-test`: 1,000 instances from DCMTK storescu over four associations, the server SIGKILLed at
/// random moments (3 times here; the script alone runs 20), in both durability modes; after each restart every
/// acknowledged instance is on disk with identical bytes and indexed with its BLAKE3, no partial instance or
/// temporary file remains, and `arca index check` passes.
@Suite struct CrashSafetyTests {
    @Test(.needs(.b3sum, .dcmtk, .pydicom), arguments: ["strict", "deferred"])
    func sigkillDuringIngestLosesNothing(durability: String) async throws {
        let root = ExternalTool.repositoryRoot
        let arca = root.appendingPathComponent(".build/debug/arca").path
        guard FileManager.default.isExecutableFile(atPath: arca) else {
            Issue.record("\(arca) is not built: run `swift build` first (scripts/test does)")
            return
        }
        let r = try await ExternalTool.runAsync(root.appendingPathComponent("scripts/crash-test").path, ["1000", "3"],
                                                environment: ["ARCA": arca, "ASSOCIATIONS": "4", "DURABILITY": durability])
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("crash-test: 3 rounds passed (\(durability), 4 association(s))"))
    }
}
