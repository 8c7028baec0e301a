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
        do { return try YAMLDecoder().decode(ServerSettings.self, from: text) } catch {
            throw SettingsError("\(path): \(error)")
        }
    }

    /// The settings as YAML, in the file's format (what `--print-config` shows).
    public static func yaml(_ settings: ServerSettings) throws -> String {
        try YAMLEncoder().encode(settings)
    }
}

public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
