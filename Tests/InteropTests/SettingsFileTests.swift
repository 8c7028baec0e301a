@testable import ArcaServer
import DICOMweb
import Foundation
import Testing
import TestSupport

/// The settings file refuses what no setting reads: a misspelt key used to be ignored without a word, so a
/// typo in `allowed_calling_ae_titles` or `move_destinations` left the archive more open than written.
struct SettingsFileTests {
    /// The message `SettingsFile.load` gives for `yaml`, or nil when it loads.
    func refusal(_ yaml: String) throws -> String? {
        let folder = try ExternalTool.temporaryDirectory("settings-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("arca.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try SettingsFile.load(file.path)
            return nil
        } catch let error as SettingsError {
            return error.description.replacingOccurrences(of: file.path + ": ", with: "")
        }
    }

    @Test func unknownKeysAreRefusedWithWhereAndWhatWasMeant() throws {
        // A near miss names the key it probably meant; a flag's name names the setting it is in the file.
        #expect(try refusal("allowed_calling_ae_title: [CT1]")
                == "allowed_calling_ae_title: no such setting (did you mean allowed_calling_ae_titles?)")
        #expect(try refusal("allow_aet: [CT1]") == "allow_aet: no such setting (did you mean allowed_calling_ae_titles?)")
        #expect(try refusal("any_called_aet: true") == "any_called_aet: no such setting (did you mean strict_called_ae_title: false?)")
        #expect(try refusal("colour: blue") == "colour: no such setting")
        // Inside the nested settings too, with the path to the key.
        #expect(try refusal("validation: {require_patient_ids: false}")
                == "validation.require_patient_ids: no such setting (did you mean require_patient_id?)")
        #expect(try refusal("dicom_access: [{ae_title: CT1}, {ae_title: WS1, move_destination: [WS1]}]")
                == "dicom_access[1].move_destination: no such setting (did you mean move_destinations?)")
        let hash = TokenHash.make("t")
        #expect(try refusal("http_tokens: [{name: v, role: read-only, token_hash: \"\(hash)\", expires: never}]")
                == "http_tokens[0].expires: no such setting")
        #expect(try refusal("http_users: [{name: a, role: read-only, password: secret}]")?.hasPrefix("http_users[0].password: no such setting") == true)
    }

    @Test func wrongValuesSayWhereAndWhat() throws {
        #expect(try refusal("port: eleven")?.hasPrefix("port: expected Int") == true)
        #expect(try refusal("tls_port: 70000") == "tls_port 70000 is not a port (0 to 65535)")
        // Wrapped modulo 65536 before (99999 listened on 34463), and max_pdu was checked in the file only.
        #expect(try refusal("http_port: 70000") == "http_port 70000 is not a port (0 to 65535)")
        var flags = ServerSettings()
        flags.port = 99999
        #expect(flags.problem == "port 99999 is not a port (0 to 65535)")
        flags.port = 11112
        flags.maxPDU = 1
        #expect(flags.problem == "max_pdu 1 is below 4096")
        // Intervals become nanoseconds: an infinite one trapped the merger's first pass.
        #expect(try refusal("merge_after: .inf") == "merge_after inf is not a number of seconds from 0 to 86400")
        #expect(try refusal("merge_interval: 1e16") == "merge_interval 1e+16 is not a number of seconds from 0 to 86400")
        #expect(try refusal("hook_concurrency: 0") == "hook_concurrency 0 is below 1")
        #expect(try refusal("merge_after: 86400\nhook_concurrency: 1\nidle_timeout: 1") == nil)
        #expect(try refusal("idle_timeout: 0") == "idle_timeout 0 is below 1")
        // An unknown level ran at info, without a word.
        #expect(try refusal("log_level: verbose") == "log_level verbose is not one of trace, debug, info, notice, warning, error, critical")
        #expect(try refusal("log_level: debug") == nil)
        #expect(try refusal("dicom_access: [{hosts: [10.0.0.1]}]") == "dicom_access[0]: ae_title is required")
    }

    /// Every key `--print-config` writes is one the file may hold: its output loads back as it was.
    @Test func printedSettingsLoadBack() throws {
        let folder = try ExternalTool.temporaryDirectory("settings-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("arca.yml")
        try """
            ae_title: ARCHIVE1
            exec_on_store: "true"
            remotes: ["WS1=10.0.0.2:104"]
            validation: {require_patient_id: false, allowed_modalities: [CT], allowed_calling_ae_titles: [CT1]}
            dicom_access: [{ae_title: CT1, certificate_subject: CN=ct1, move_destinations: [WS1]}]
            http_tokens: [{name: v, role: read-only, token_hash: "\(TokenHash.make("t"))"}]
            """.write(to: file, atomically: true, encoding: .utf8)
        let settings = try SettingsFile.load(file.path)
        #expect(settings.validation.allowedModalities == ["CT"] && settings.dicomAccess.first?.moveDestinations == ["WS1"])
        try SettingsFile.yaml(settings).write(to: file, atomically: true, encoding: .utf8)
        #expect(try SettingsFile.load(file.path) == settings)
        #expect(try SettingsFile.load(file.path) != ServerSettings())
    }

    /// A file others may write is refused (its hooks run as the server's user), one holding the index password
    /// when everyone may read it; `--print-config` leaves the password out, and PGPASSWORD gives it back.
    @Test func permissionsAndTheIndexPassword() throws {
        let folder = try ExternalTool.temporaryDirectory("settings-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("arca.yml")
        try "index: \"postgres://arca:s3cret@db.example:5432/arca\"\n".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        #expect(throws: SettingsError.self) { try SettingsFile.load(file.path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        let settings = try SettingsFile.load(file.path)
        let printed = try SettingsFile.printable(settings)
        #expect(!printed.contains("s3cret"))
        #expect(printed.contains("postgres://arca@db.example:5432/arca"))
        try printed.write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: file.path)
        #expect(throws: SettingsError.self) { try SettingsFile.load(file.path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        #expect(try SettingsFile.load(file.path).index == "postgres://arca@db.example:5432/arca")
    }
}
