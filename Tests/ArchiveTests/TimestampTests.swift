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

    /// Recovery orders a journaled copy against its row by these keys: in time order whichever form each time was
    /// written in, and nothing for a time that cannot be ordered.
    @Test func orderKeysSortInTimeOrderAcrossForms() {
        #expect(Timestamp.orderKey("2026-12-02T14:00:00.123Z") == "20261202140000123")
        #expect(Timestamp.orderKey("20261202T140000Z") == "20261202140000000")
        #expect(Timestamp.orderKey("2026-12-02T14:00:00Z") == "20261202140000000")
        let times = ["20261202T135959Z", "2026-12-02T14:00:00.000Z", "2026-12-02T14:00:00.001Z", "20261202T140001Z",
                     "2026-12-02T14:00:01.999Z", "2027-01-01T00:00:00.000Z"]
        let keys = times.compactMap(Timestamp.orderKey)
        #expect(keys.count == times.count)
        #expect(keys == keys.sorted() && Set(keys).count == keys.count)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let a = Int64.random(in: 31_536_000_000...4_102_444_800_000, using: &generator)
            let b = Int64.random(in: 31_536_000_000...4_102_444_800_000, using: &generator)
            let ka = Timestamp.orderKey(Timestamp.of(Date(timeIntervalSince1970: Double(a) / 1000 + 0.0001)))
            let kb = Timestamp.orderKey(Timestamp.of(Date(timeIntervalSince1970: Double(b) / 1000 + 0.0001)))
            guard let ka, let kb else {
                Issue.record("no key for \(a) or \(b)")
                continue
            }
            #expect((ka < kb) == (a < b))
        }
        for bad in ["", "Z", "2026-12-02T14:00:00+01:00", "2026-12-02T14:00Z", "2026-12-02 14:00:00Z",
                    "2026-12-02T14:00:00.1234Z", "２026-12-02T14:00:00Z"] {
            #expect(Timestamp.orderKey(bad) == nil, "\(bad)")
        }
    }

    @Test func timesNoIndexCanHoldDoNotCrash() {
        #expect(Timestamp.of(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.of(Date(timeIntervalSince1970: 1e300)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.of(Date.distantFuture).count == 24)
    }
}
