import Foundation
import PipewatchEvents
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test("RFC 3339 in the forms the sources write", arguments: [
        ("2026-11-05T02:31:07Z", epochMilliseconds(2026, 11, 5, 2, 31, 7)),  // CloudTrail
        ("2026-11-05T03:02:11.482913Z", epochMilliseconds(2026, 11, 5, 3, 2, 11, ms: 482)),  // Kubernetes (µs)
        ("2026-11-05T03:08:14.660120573Z", epochMilliseconds(2026, 11, 5, 3, 8, 14, ms: 660)),  // GCP (ns)
        ("2026-11-21T18:12:14.888917+00:00", epochMilliseconds(2026, 11, 21, 18, 12, 14, ms: 888)),  // MLflow
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.001Z", 1),
    ])
    func sources(text: String, expected: Int64) {
        #expect(Timestamp.parseRFC3339(text) == expected)
    }

    @Test("zone offsets are subtracted")
    func offsets() {
        let utc = epochMilliseconds(2026, 11, 21, 15, 30, 0)
        #expect(Timestamp.parseRFC3339("2026-11-21T15:30:00Z") == utc)
        #expect(Timestamp.parseRFC3339("2026-11-21T15:30:00+00:00") == utc)
        #expect(Timestamp.parseRFC3339("2026-11-21T15:30:00-00:00") == utc)
        #expect(Timestamp.parseRFC3339("2026-11-21T10:00:00-05:30") == utc)
        #expect(Timestamp.parseRFC3339("2026-11-21T21:00:00+05:30") == utc)
        #expect(Timestamp.parseRFC3339("2026-11-22T00:30:00+09:00") == utc)
        // Crossing a year boundary through the offset.
        #expect(Timestamp.parseRFC3339("2026-12-31T23:30:00-01:00") == epochMilliseconds(2027, 1, 1, 0, 30, 0))
    }

    @Test("fractions of 1 to 9 digits, truncated to milliseconds", arguments: [
        (".5", 500), (".12", 120), (".123", 123), (".1234", 123), (".98765", 987), (".999999", 999),
        (".0000001", 0), (".12345678", 123), (".999999999", 999),
    ])
    func fractions(fraction: String, millis: Int64) {
        let base = epochMilliseconds(2026, 11, 3, 10, 5, 12)
        #expect(Timestamp.parseRFC3339("2026-11-03T10:05:12\(fraction)Z") == base + millis)
        #expect(Timestamp.parseRFC3339("2026-11-03T10:05:12\(fraction)+00:00") == base + millis)
    }

    @Test("calendar dates, leap years included", arguments: [
        ("2024-02-29T12:00:00Z", (2024, 2, 29)),
        ("2000-02-29T00:00:00Z", (2000, 2, 29)),
        ("2000-03-01T00:00:00Z", (2000, 3, 1)),
        ("2028-12-31T23:59:59Z", (2028, 12, 31)),
        ("1999-12-31T23:59:59Z", (1999, 12, 31)),
    ])
    func calendar(text: String, date: (Int, Int, Int)) throws {
        let ms = try #require(Timestamp.parseRFC3339(text))
        let (components, _) = Timestamp.components(milliseconds: ms)
        #expect(components.year == date.0)
        #expect(components.month == date.1)
        #expect(components.day == date.2)
        // Cross-check with Foundation.
        let formatter = ISO8601DateFormatter()
        let foundation = try #require(formatter.date(from: text))
        #expect(ms == Int64(foundation.timeIntervalSince1970 * 1000))
    }

    @Test("lowercase t and z, and a space for the T, are accepted")
    func lenientSeparators() {
        let expected = epochMilliseconds(2026, 11, 5, 2, 31, 7)
        #expect(Timestamp.parseRFC3339("2026-11-05t02:31:07z") == expected)
        #expect(Timestamp.parseRFC3339("2026-11-05 02:31:07Z") == expected)
    }

    @Test("malformed timestamps are rejected", arguments: [
        "2026-13-01T00:00:00Z",  // month 13
        "2026-00-10T00:00:00Z",  // month 0
        "2026-11-00T00:00:00Z",  // day 0
        "2026-11-32T00:00:00Z",  // day 32
        "2026-11-05T24:00:00Z",  // hour 24
        "2026-11-05T02:60:00Z",  // minute 60
        "2026-11-05T02:31:07",  // no zone
        "2026-11-05T02:31:07.123",  // no zone after a fraction
        "2026-11-05T02:31:07Zjunk",  // trailing garbage
        "2026-11-05T02:31:07Z ",  // trailing space
        "2026-11-05T02:31:07+0000",  // offset without a colon
        "2026-11-05T02:31:07+00",  // short offset
        "2026-11-05T02:31:07.Z",  // empty fraction
        "2026-11-05X02:31:07Z",  // bad separator
        "2026/11/05T02:31:07Z",
        "26-11-05T02:31:07Z",
        "2026-11-5T02:31:07Z",
        "Nov 5, 2026 2:31:07 AM",
        "",
        "1793845867",
    ])
    func rejects(text: String) {
        #expect(Timestamp.parseRFC3339(text) == nil)
    }

    /// RFC 3339 section 5.7: the day must exist in its month and year.
    @Test("days that do not exist in their month are rejected", arguments: [
        "2026-02-29T00:00:00Z",  // 2026 is not a leap year
        "2100-02-29T00:00:00Z",  // nor is 2100
        "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-31T00:00:00Z",
    ])
    func impossibleDays(text: String) {
        #expect(Timestamp.parseRFC3339(text) == nil)
    }

    @Test("Unix seconds, with and without a fraction")
    func unixSeconds() {
        func parse(_ text: String) -> Int64? {
            var text = text
            return text.withUTF8 { Timestamp.parseUnixSeconds($0) }
        }
        #expect(parse("1793612418") == 1_793_612_418_000)
        #expect(parse("1793612418.5") == 1_793_612_418_500)
        #expect(parse("1793612418.123456") == 1_793_612_418_123)
        #expect(parse("0") == 0)
        #expect(parse("") == nil)
        #expect(parse("-5") == nil)
        #expect(parse("17936x") == nil)
        #expect(parse("1793612418 ") == nil)
        #expect(parse(".5") == nil)
        #expect(parse("2026-11-02T09:40:18Z") == nil)
    }

    @Test("format(milliseconds:) writes UTC with milliseconds")
    func format() {
        #expect(Timestamp.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(milliseconds: epochMilliseconds(2026, 11, 5, 3, 2, 11, ms: 482)) == "2026-11-05T03:02:11.482Z")
        #expect(Timestamp.format(milliseconds: epochMilliseconds(2024, 2, 29, 23, 59, 59, ms: 7)) == "2024-02-29T23:59:59.007Z")
        #expect(Timestamp.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(milliseconds: epochMilliseconds(9999, 12, 31, 23, 59, 59, ms: 999)) == "9999-12-31T23:59:59.999Z")
    }

    @Test("format and parse round-trip")
    func roundTrip() {
        var ms: Int64 = epochMilliseconds(1999, 1, 1, 0, 0, 0)
        let end = epochMilliseconds(2031, 1, 1, 0, 0, 0)
        // A step that is prime in milliseconds walks over every field value.
        while ms < end {
            let text = Timestamp.format(milliseconds: ms)
            #expect(Timestamp.parseRFC3339(text) == ms, "\(text)")
            ms += 86_400_000 * 3 + 3_600_000 * 7 + 60_000 * 13 + 1_000 * 17 + 271
        }
    }

    @Test("components: calendar fields and ISO weekday")
    func components() {
        let (c, m) = Timestamp.components(milliseconds: epochMilliseconds(2026, 11, 21, 18, 12, 14, ms: 888))
        #expect(c.year == 2026 && c.month == 11 && c.day == 21)
        #expect(c.hour == 18 && c.minute == 12 && c.second == 14)
        #expect(m == 888)
        #expect(c.weekday == 6)  // 2026-11-21 is a Saturday

        #expect(Timestamp.components(milliseconds: 0).0.weekday == 4)  // Thursday
        #expect(Timestamp.components(milliseconds: epochMilliseconds(2026, 11, 22, 0, 0, 0)).0.weekday == 7)  // Sunday
        #expect(Timestamp.components(milliseconds: epochMilliseconds(2026, 11, 23, 0, 0, 0)).0.weekday == 1)  // Monday
        #expect(Timestamp.components(milliseconds: epochMilliseconds(2026, 11, 5, 2, 31, 7)).0.weekday == 4)  // Thursday
        // Before the epoch.
        let (before, beforeMillis) = Timestamp.components(milliseconds: -1)
        #expect(before.year == 1969 && before.month == 12 && before.day == 31)
        #expect(before.hour == 23 && before.minute == 59 && before.second == 59)
        #expect(before.weekday == 3)  // Wednesday
        #expect(beforeMillis == 999)
    }

    @Test("weekdays agree with Foundation's calendar for every day of 2026")
    func weekdaysAgainstFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = epochMilliseconds(2026, 1, 1, 12, 0, 0)
        for day in 0..<365 {
            let ms = start + Int64(day) * 86_400_000
            let foundation = calendar.component(.weekday, from: Date(timeIntervalSince1970: Double(ms) / 1000))  // 1 = Sunday
            let iso = foundation == 1 ? 7 : foundation - 1
            #expect(Timestamp.components(milliseconds: ms).0.weekday == iso)
        }
    }
}

@Suite("Timestamp edge cases")
struct TimestampEdgeCaseTests {
    /// RFC 3339 section 5.6: time-hour is 00-23 and time-minute 00-59, in offsets too.
    @Test("zone offsets out of range are rejected", arguments: ["2026-11-05T02:31:07+24:00", "2026-11-05T02:31:07-05:60", "2026-11-05T02:31:07+99:99"])
    func offsetRange(text: String) {
        #expect(Timestamp.parseRFC3339(text) == nil)
    }

    @Test("Unix seconds too large for milliseconds are rejected, not trapped on")
    func unixSecondsOverflow() async {
        await #expect(processExitsWith: .success) {
            var text = "100000000000000000"  // 10^17 s: 10^20 ms does not fit an Int64
            precondition(text.withUTF8 { Timestamp.parseUnixSeconds($0) } == nil)
        }
        await #expect(processExitsWith: .success) {
            var text = "99999999999999999999"  // 20 digits: does not fit an Int64 even as seconds
            precondition(text.withUTF8 { Timestamp.parseUnixSeconds($0) } == nil)
        }
    }
}
