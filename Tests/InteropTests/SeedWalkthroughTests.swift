import ArcaServer
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Testing
import TestSupport

/// The first seed's "Testing" section, verbatim with DCMTK and sqlite3: echoscu, storescu of one file and of a
/// folder, the archive tree, and the four SELECTs. Plus the Swift hooks of its "Handler Callbacks".
@Suite(.serialized, .stopsServers) struct SeedWalkthroughTests {
    struct RecordingHook: PostStoreHook, PreStoreCheck {
        let seen = Seen()
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var ids: [String] = []
            let (stream, arrivals) = AsyncStream.makeStream(of: String.self)
            func add(_ s: String) { lock.lock(); ids.append(s); lock.unlock(); arrivals.yield(s) }
            var all: [String] { lock.lock(); defer { lock.unlock() }; return ids }
            /// Returns once `count` instances were seen (hooks run once each file is in place, in the background).
            func wait(for count: Int) async {
                var seen = 0
                for await _ in stream {
                    seen += 1
                    if seen == count { return }
                }
            }
        }
        func instanceStored(_ instance: StoredInstance) async {
            seen.add(instance.attributes.patientID + " " + instance.attributes.sopInstanceUID)
        }
        func check(_ attributes: InstanceAttributes, request: StoreRequest) -> ArchiveError? {
            attributes.patientID == "REFUSE_ME" ? .rejected("pre-store handler refused patient REFUSE_ME") : nil
        }
    }

    @Test(.needs(.dcmtk, .sqlite3), .timeLimit(.minutes(2))) func seedTestingSection() async throws {
        let work = try ExternalTool.temporaryDirectory("arca-seed")
        defer { try? FileManager.default.removeItem(at: work) }
        // hello_dicom_output.dcm, as `arca hello` writes it, and a folder of three more.
        let hello = work.appendingPathComponent("hello_dicom_output.dcm")
        try FileWriter.write(try SampleImage.secondaryCapture().serialized(), to: hello.path)
        let folder = work.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<3 {
            var f = SampleImage.secondaryCapture()
            f.dataSet.setString("SMITH^ANNA", for: .patientName, vr: .PN)
            f.dataSet.setString("P-\(i % 2)", for: .patientID, vr: .LO)
            try FileWriter.write(try f.serialized(), to: folder.appendingPathComponent("img\(i).dcm").path)
        }
        var refused = SampleImage.secondaryCapture()
        refused.dataSet.setString("REFUSE_ME", for: .patientID, vr: .LO)
        let refusedURL = work.appendingPathComponent("refused.dcm")
        try FileWriter.write(try refused.serialized(), to: refusedURL.path)

        let hook = RecordingHook()
        let server = try await TestServer.start(preStoreChecks: [hook], postStoreHooks: [hook])
        defer { Task { await server.stop() } }
        let port = String(server.port)
        let echo = try await ExternalTool.runAsync("/usr/bin/echoscu", ["-v", "-aec", "STORE_SCP", "localhost", port])
        #expect(echo.stderr.contains("Received Echo Response (Success)"), "\(echo.stderr)")
        let one = try await ExternalTool.runAsync("/usr/bin/storescu", ["-v", "-aec", "STORE_SCP", "localhost", port, hello.path])
        #expect(one.stderr.contains("I: Association Accepted") && one.stderr.contains("Received Store Response (Success)"), "\(one.stderr)")
        let many = try await ExternalTool.runAsync("/usr/bin/storescu", ["-v", "-aec", "STORE_SCP", "localhost", port]
                                                   + (0..<3).map { folder.appendingPathComponent("img\($0).dcm").path })
        #expect(many.stderr.components(separatedBy: "Received Store Response (Success)").count == 4, "\(many.stderr)")
        let bad = try await ExternalTool.runAsync("/usr/bin/storescu", ["-v", "-aec", "STORE_SCP", "localhost", port, refusedURL.path])
        // DCMTK names every 0xCxxx status "CannotUnderstand"; Arca's own SCU shows the code: 0xC001.
        #expect(bad.stderr.contains("Received Store Response (Error: CannotUnderstand)"), "\(bad.stderr)")
        let direct = try await StoreSCU(host: "127.0.0.1", port: server.port).send([refusedURL.path])
        #expect(direct.first?.status == .storageFailed, "\(String(describing: direct.first?.comment))")

        #expect(server.archivedFiles().count == 4)
        let db = server.archive.appendingPathComponent("index.db").path
        func query(_ table: String) throws -> [String] {
            try ExternalTool.run("/usr/bin/sqlite3", [db, "SELECT * FROM \(table);"]).stdout.split(separator: "\n").map(String.init)
        }
        let patients = try query("patients")
        #expect(patients.count == 3, "\(patients)")
        #expect(patients.contains { $0.contains("|HELLO001||DOE^JOHN|19700101|M|") })
        #expect(patients.contains { $0.contains("|P-0||SMITH^ANNA|") })
        #expect(try query("studies").count == 4)
        #expect(try query("series").count == 4)
        let instances = try query("instances")
        #expect(instances.count == 4)
        #expect(instances.allSatisfy { $0.contains("|1.2.840.10008.5.1.4.1.1.7|") && $0.contains("|STORESCU") })
        // The post-store hook saw each stored instance; the pre-store check kept REFUSE_ME out.
        await hook.seen.wait(for: 4)
        #expect(hook.seen.all.count == 4)
        #expect(!hook.seen.all.contains { $0.hasPrefix("REFUSE_ME") })
    }
}
