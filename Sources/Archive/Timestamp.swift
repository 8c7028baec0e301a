import Foundation

/// The reception times the index keeps: ISO 8601, UTC, with fractions of a second (`20261202T140000.123Z`).
public enum Timestamp {
    public static func now() -> String { of(Date()) }

    public static func of(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
