import Foundation
import Testing

@testable import DICOMNetwork

/// Keys and settings other users could read or change stop the start with a message that says what to do.
@Suite struct FilePermissionsTests {
    func file(_ mode: Int, in folder: URL, _ name: String = "f") throws -> String {
        let path = folder.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("perm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aPrivateKeyReadableByOthersIsRefused() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(FilePermissions.privateKeyProblem(try file(0o600, in: folder)) == nil)
        #expect(FilePermissions.privateKeyProblem(try file(0o400, in: folder)) == nil)
        let open = try file(0o644, in: folder)
        #expect(FilePermissions.privateKeyProblem(open) == "\(open) is readable by other users (mode 0644): chmod 600 \(open)")
        // Group-readable only when root owns it (the tests may run as root or not).
        let group = try file(0o640, in: folder)
        #expect((FilePermissions.privateKeyProblem(group) == nil) == (getuid() == 0))
        #expect(FilePermissions.privateKeyProblem(folder.appendingPathComponent("missing").path) == nil)
        // The key is checked before it is read: DICOMTLS refuses it with the same message.
        #expect(throws: TLSFileError.self) { try DICOMTLS.loadKey(open) }
    }

    @Test func settingsOthersCanWriteAreRefused() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(FilePermissions.settingsProblem(try file(0o644, in: folder), holdsSecret: false) == nil)
        #expect(FilePermissions.settingsProblem(try file(0o664, in: folder), holdsSecret: false)?.contains("chmod go-w") == true)
        #expect(FilePermissions.settingsProblem(try file(0o646, in: folder), holdsSecret: false)?.contains("writable by other users") == true)
        #expect(FilePermissions.settingsProblem(try file(0o644, in: folder), holdsSecret: true)?.contains("holds the index password") == true)
        #expect(FilePermissions.settingsProblem(try file(0o640, in: folder), holdsSecret: true) == nil)
    }

    /// A file another user owns is theirs to change whatever its mode: refused (checked where the tests may chown).
    @Test(.enabled(if: getuid() == 0, "needs root to give a file to another user")) func aFileOfAnotherUserIsRefused() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try file(0o600, in: folder)
        #expect(chown(path, 65534, 65534) == 0)
        #expect(FilePermissions.privateKeyProblem(path)?.contains("belongs to user 65534") == true)
        #expect(FilePermissions.settingsProblem(path, holdsSecret: false)?.contains("chown") == true)
    }
}
