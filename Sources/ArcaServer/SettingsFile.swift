import DICOMNetwork
import Foundation
import Yams

/// The configuration file (`--config arca.yml`): YAML with the keys of `ServerSettings` (snake_case); flags
/// given on the command line override it.
public enum SettingsFile {
    public static func load(_ path: String) throws -> ServerSettings {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SettingsError("cannot read \(path): \(error.localizedDescription)")
        }
        let settings: ServerSettings
        do { settings = try YAMLDecoder().decode(ServerSettings.self, from: text) } catch let error as DecodingError {
            throw SettingsError("\(path): \(describe(error))")
        } catch {
            throw SettingsError("\(path): \(error)")
        }
        let holdsSecret = URLComponents(string: settings.index)?.password != nil
        if let problem = FilePermissions.settingsProblem(path, holdsSecret: holdsSecret) { throw SettingsError(problem) }
        return settings
    }

    /// A decoding error as an administrator reads it: where in the file (`dicom_access[0].services`), then what.
    static func describe(_ error: DecodingError) -> String {
        let context: DecodingError.Context
        let what: String
        switch error {
        case .dataCorrupted(let c): context = c; what = c.debugDescription
        case .keyNotFound(let key, let c): context = c; what = "\(key.stringValue) is required"
        case .typeMismatch(let type, let c): context = c; what = "expected \(type)" + (c.debugDescription.isEmpty ? "" : " (\(c.debugDescription))")
        case .valueNotFound(let type, let c): context = c; what = "expected \(type), found nothing"
        @unknown default: return "\(error)"
        }
        let place = context.codingPath.reduce("") { path, key in
            key.intValue.map { path + "[\($0)]" } ?? (path.isEmpty ? key.stringValue : path + "." + key.stringValue)
        }
        return place.isEmpty ? what : place + ": " + what
    }

    /// The settings as YAML, in the file's format.
    public static func yaml(_ settings: ServerSettings) throws -> String {
        try YAMLEncoder().encode(settings)
    }

    /// What `--print-config` shows: the settings as YAML without the index URL's password (its output is pasted
    /// into tickets and files readable by others); a comment says where the loaded-back file finds it.
    public static func printable(_ settings: ServerSettings) throws -> String {
        var shown = settings
        guard var url = URLComponents(string: settings.index), url.password != nil else { return try yaml(settings) }
        url.password = nil
        shown.index = url.string ?? "postgres://"
        return "# The index URL's password is not printed: give it in PGPASSWORD, or add it to the URL.\n" + (try yaml(shown))
    }
}

public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
