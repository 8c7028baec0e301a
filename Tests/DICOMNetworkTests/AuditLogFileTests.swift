import DICOMNetwork
import Foundation
import Logging
import Testing

/// The audit file follows a rotation: logrotate renames it (and may make a new one), and the trail kept writing
/// into the renamed file until the server restarted.
struct AuditLogFileTests {
    @Test func aRotatedFileIsFollowed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("arca-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("audit.jsonl").path
        let trail = try AuditLogFile(path: path, logger: Logger(label: "audit-test"))
        func record(_ who: String) {
            trail.record(AuditRecord(event: .store, outcome: .success, who: who, address: nil, target: nil, status: "0x0000"))
            trail.flush()
        }
        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        record("BEFORE")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        record("AFTER")
        #expect(lines(path + ".1").count == 1 && lines(path + ".1").first?.contains("BEFORE") == true)
        #expect(lines(path).count == 1 && lines(path).first?.contains("AFTER") == true)
        // A symbolic link in its place is not followed: the record is not written through it.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: path + ".1")
        record("THROUGH")
        #expect(lines(path + ".1").count == 1)
    }
}
