import Foundation
import Testing
import TestSupport

/// `scripts/crash-test`: 1,000 instances from DCMTK storescu, the server SIGKILLed at random moments 10 times;
/// after each restart every acknowledged instance is on disk with identical bytes and indexed, no temporary
/// file remains, and `arca index check` passes.
@Suite struct CrashSafetyTests {
    @Test func sigkillDuringIngestLosesNothing() async throws {
        guard try ExternalTool.require(ExternalTool.exists("/usr/bin/storescu"), "DCMTK"),
              try ExternalTool.require(ExternalTool.hasPythonModule("pydicom"), "pydicom") else { return }
        let root = ExternalTool.repositoryRoot
        let arca = root.appendingPathComponent(".build/debug/arca").path
        guard FileManager.default.isExecutableFile(atPath: arca) else {
            Issue.record("\(arca) is not built: run `swift build` first (scripts/test does)")
            return
        }
        let r = try await ExternalTool.runAsync(root.appendingPathComponent("scripts/crash-test").path, ["1000", "10"],
                                                environment: ["ARCA": arca])
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("crash-test: 10 rounds passed"))
    }
}
