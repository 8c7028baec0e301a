import Foundation
import Testing

@testable import Archive

/// The index's reception times, formatted by hand: the same text Foundation's ISO 8601 style gives (UTC,
/// milliseconds), for any time an index may hold.
@Suite struct TimestampTests {
    static func foundation(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    @Test func knownTimesAreFormattedInUTCWithMilliseconds() {
        #expect(Timestamp.of(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.of(Date(timeIntervalSince1970: 1_796_392_655.633)) == "2026-12-04T13:57:35.633Z")
        #expect(Timestamp.of(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
        #expect(Timestamp.of(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
    }

    @Test func theTextIsFoundationsForManyTimes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            // Whole milliseconds from 1971 to 2100, where both formatters agree on the rounding.
            let milliseconds = Int64.random(in: 31_536_000_000...4_102_444_800_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.0001)
            #expect(Timestamp.of(date) == Self.foundation(date))
        }
    }

    @Test func timesNoIndexCanHoldDoNotCrash() {
        #expect(Timestamp.of(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.of(Date(timeIntervalSince1970: 1e300)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.of(Date.distantFuture).count == 24)
    }
}
