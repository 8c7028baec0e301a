/// Any key of a keyed container, to list the keys a settings file holds.
public struct AnySettingsKey: CodingKey, Sendable {
    public let stringValue: String
    public let intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    public init?(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}

extension Decoder {
    /// Refuses a key of the settings file that no setting of this level reads, naming it (and the known key it
    /// probably meant). Ignored, a misspelt `allowed_calling_ae_titles` or `move_destinations` would leave the
    /// archive more open than its administrator wrote, without a word.
    /// `hints`: what to write instead of a key that is not a near miss (a command-line flag's name).
    public func refuseUnknownKeys<Key: CodingKey & CaseIterable>(_: Key.Type, hints: [String: String] = [:]) throws {
        let known = Key.allCases.map(\.stringValue)
        for key in try container(keyedBy: AnySettingsKey.self).allKeys where !known.contains(key.stringValue) {
            let instead = hints[key.stringValue] ?? SettingsKeys.nearest(to: key.stringValue, in: known)
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath + [key],
                debugDescription: "no such setting" + (instead.map { " (did you mean \($0)?)" } ?? "")))
        }
    }
}

enum SettingsKeys {
    /// The known key within two edits of `key` (a typo, a missing `s`), if one is.
    static func nearest(to key: String, in known: [String]) -> String? {
        known.map { ($0, distance(Array(key.utf8), Array($0.utf8))) }
            .filter { $0.1 <= 2 }
            .min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance (keys are a few dozen bytes: the table is small).
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var previous = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let substituted = previous + (x == y ? 0 : 1)
                previous = row[j + 1]
                row[j + 1] = min(substituted, row[j] + 1, previous + 1)
            }
        }
        return row[b.count]
    }
}
