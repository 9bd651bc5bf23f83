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

@Suite("Timestamp: export forms and epoch numbers")
struct TimestampExportFormTests {
    static let base = epochMilliseconds(2025, 1, 21, 17, 49, 47)

    /// Each text with its milliseconds after 2025-01-21T17:49:47Z.
    @Test("the forms data lakes, SIEMs and shippers write", arguments: [
        ("2025-01-21 17:49:47", 0),  // CloudTrail Lake, Panther
        ("2025-01-21 17:49:47.000", 0),  // CloudTrail Lake, Athena
        ("2025-01-21 17:49:47.000000000", 0),  // Panther
        ("2025-01-21 17:49:47.595141000", 595),  // Snowflake TIMESTAMP_NTZ
        ("2025-01-21T17:49:47", 0),  // ISO 8601 local time (Python isoformat)
        ("2025-01-21T17:49:47.5", 500),
        ("2025-01-21 17:49:47.595141 UTC", 595),  // BigQuery
        ("2025-01-21 17:49:47 UTC", 0),
        ("2025-01-21 17:49:47.595 Z", 595),
        ("2025-01-21 09:49:47.595 -0800", 595),  // Snowflake TIMESTAMP_TZ
        ("2025-01-21 18:49:47.595+0100", 595),
        ("2025-01-21 17:49:47.595141+00", 595),  // PostgreSQL
        ("2025-01-21 14:49:47-03", 0),
        ("2025-01-21 23:19:47 +05:30", 0),
        ("2025-01-21T17:49:47Z", 0),  // RFC 3339 stays accepted
        ("2025-01-21t17:49:47.123z", 123),
        ("2025-01-21T19:49:47.123+02:00", 123),
    ])
    func forms(text: String, offset: Int64) {
        #expect(Timestamp.parseDateTime(text) == Self.base + offset)
    }

    @Test("RFC 3339 parsing stays strict: the export forms are not RFC 3339", arguments: [
        "2025-01-21 17:49:47", "2025-01-21 17:49:47.595141 UTC", "2025-01-21 09:49:47.595 -0800", "2025-01-21 17:49:47+00",
        "2025-01-21T17:49:47+0100", "2025-01-21T17:49:47 Z",
    ])
    func strictRFC3339(text: String) {
        #expect(Timestamp.parseRFC3339(text) == nil)
        #expect(Timestamp.parseDateTime(text) != nil)
    }

    @Test("dates that do not exist and malformed text stay refused", arguments: [
        "2025-13-01 00:00:00", "2025-02-29 10:00:00", "2024-02-30 10:00:00", "2025-04-31T00:00:00", "2025-00-10 00:00:00",
        "2025-01-21 24:00:00", "2025-01-21 17:60:00", "2025-01-21 17:49", "2025-01-21", "2025-01-21 17:49:47.",
        "2025-01-21 17:49:47 ", "2025-01-21 17:49:47  UTC", "2025-01-21 17:49:47 utc", "2025-01-21 17:49:47 GMT",
        "2025-01-21 17:49:47+1", "2025-01-21 17:49:47+012", "2025-01-21 17:49:47+01:0", "2025-01-21 17:49:47+24:00",
        "2025-01-21 17:49:47+0160", "2025-01-21 17:49:47Zjunk", "2025-01-21 17:49:47.123 PST", "Jan 21, 2025 5:49:47 PM",
        "2025/01/21 17:49:47", "25-01-21 17:49:47", "1737481787",
    ])
    func refused(text: String) {
        #expect(Timestamp.parseDateTime(text) == nil)
    }

    static func epoch(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { Timestamp.parseEpoch($0) }
    }

    /// Each text with its milliseconds after 2025-01-21T17:49:47Z.
    @Test("epoch seconds, milliseconds, microseconds and nanoseconds, told apart by magnitude", arguments: [
        ("1737481787", 0),
        ("1737481787.595", 595),
        ("1737481787.5951419", 595),
        ("1737481787595", 595),
        ("1737481787595141", 595),
        ("1737481787595141000", 595),
        ("1.737481787E9", 0),
        ("1.737481787595e12", 595),
        ("1737481787000e-3", 0),
    ])
    func epochUnits(text: String, offset: Int64) {
        #expect(Self.epoch(text) == Self.base + offset)
    }

    /// Each unit covers 1973-03-03T09:46:40Z up to 2286-11-20T17:46:40Z; the magnitudes between the units, and
    /// before 1973 in every unit, are refused rather than guessed.
    @Test("the bounds of each unit")
    func epochBounds() {
        let low = epochMilliseconds(1973, 3, 3, 9, 46, 40)
        let high = epochMilliseconds(2286, 11, 20, 17, 46, 40)
        #expect(Self.epoch("100000000") == low)
        #expect(Self.epoch("100000000000") == low)
        #expect(Self.epoch("100000000000000") == low)
        #expect(Self.epoch("100000000000000000") == low)
        #expect(Self.epoch("9999999999") == high - 1000)
        #expect(Self.epoch("9999999999999") == high - 1)
        #expect(Self.epoch("9999999999999999") == high - 1)
        #expect(Self.epoch("9999999999999999999") == high - 1)
        for refused in [
            "99999999", "10000000000", "99999999999", "10000000000000", "99999999999999", "10000000000000000",
            "99999999999999999", "10000000000000000000", "99999999999999999999999", "0", "-1737481787", "+1737481787",
            "1737481787.", ".5", "1737481787x", "", "1e400", "-1.7e9", "1737481787 ", "0x6790",
        ] {
            #expect(Self.epoch(refused) == nil, "\(refused)")
        }
    }

    @Test("every unit agrees on the same instant, over three centuries")
    func epochRoundTrip() {
        var ms = epochMilliseconds(1973, 3, 4, 0, 0, 0)
        let end = epochMilliseconds(2286, 11, 19, 0, 0, 0)
        while ms < end {
            #expect(Self.epoch(String(ms / 1000)) == ms / 1000 * 1000)
            #expect(Self.epoch(String(ms)) == ms)
            #expect(Self.epoch(String(ms) + "123") == ms)
            #expect(Self.epoch(String(ms) + "123456") == ms)
            ms += 86_400_000 * 97 + 3_600_000 * 5 + 60_000 * 7 + 1_000 * 11 + 13
        }
    }
}

@Suite("Content id")
struct ContentIDTests {
    /// MurmurHash3 x64 128, seed 0, as Python's `mmh3.hash_bytes(text).hex()` gives it.
    @Test("MurmurHash3 x64 128 reference values", arguments: [
        ("", "00000000000000000000000000000000"),
        ("hello", "029bbd41b3a7d8cb191dae486a901e5b"),
        ("0123456789abcdef", "a7d14acf946de04bda08a7635c5bc387"),
        ("0123456789abcdefXYZ", "1d904a6c0275d399f39cf8ea56e2694e"),
        (#"{"a":1}"#, "a0787eea46c4b47533035d5194cf33ed"),
    ])
    func reference(text: String, hex: String) {
        #expect(ContentID.string(text) == "mmh3:" + hex)
    }

    /// Prefixes of one text across the 8- and 16-byte boundaries the hash and the scanner work in.
    @Test("MurmurHash3 reference values at block boundaries", arguments: [
        (1, "e9a49f5b08d0e50558b8265bc51d3fee"), (7, "7b0acf6419d12a71a61efdc5634123ad"),
        (8, "13edc479972f2f4a2a0d46029fe1e3e7"), (9, "cd46c9a20cfcb0006cc3410cec94e5d7"),
        (15, "b75bb721b280a9be0aac5a7328eb6263"), (16, "6004a3932dce23049d6ab82a633f0881"),
        (17, "c785649d9fc7e57cb9875f648490e8fa"), (31, "39316bef338e22f61c1d08476ed771f1"),
        (32, "93303c33bc2d8751df900ea4a7528378"), (33, "3ba77ed29248ecdbef9a4eee2e9c614e"),
        (56, "10e31a14ff4b3f726ecb94d3c67589c3"),
    ])
    func blockBoundaries(count: Int, hex: String) {
        let text = #"{"a":"0123456789abcdefghijklmnopqrstuvwxyz","b":[1,2,3]}"#
        #expect(ContentID.string(String(text.prefix(count))) == "mmh3:" + hex)
    }

    @Test("generated records: the id of any layout is the id of the compact text")
    func generatedLayouts() throws {
        var generator = SplitMix64(seed: 11)
        let pieces = [
            "a", "user agent/1.0 (linux)", #"esc\"aped"#, #"back\\slash"#, #"\n\t"#, #"\u00e9t\u00e9"#, "é漢",
            "    ", "x", "0123456789abcdef0123456789",
        ]
        for _ in 0..<300 {
            var members: [String] = []
            for k in 0..<Int.random(in: 1...12, using: &generator) {
                let string = (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
                let values = ["\"\(string)\"", "[\(k),true,null,{\"n\":-1.5e3}]", "[]", "{}", "[[],{\"e\":{}}]"]
                members.append("\"k\(k)\(string)\":\(values.randomElement(using: &generator)!)")
            }
            // A Kubernetes audit event without auditID, so the normalizer derives its uid from the parsed record.
            let compact = #"{"verb":"get","requestURI":"/x","# + members.joined(separator: ",") + "}"
            #expect((try? JSONSerialization.jsonObject(with: Data(compact.utf8))) != nil, "\(compact)")
            let id = ContentID.string(compact)
            #expect(ContentID.string(spreadOut(compact)) == id, "\(compact)")
            #expect(try NormalizedRecord(compact)[.uid] == id, "\(compact)")
            #expect(try NormalizedRecord(spreadOut(compact))[.uid] == id, "\(compact)")
        }
    }

    @Test("whitespace between tokens does not count; inside strings it does")
    func whitespace() {
        let compact = #"{"verb":"get","user":{"username":"a b"},"sourceIPs":["10.0.0.1","10.0.0.2"]}"#
        let spread = "{ \"verb\" : \"get\",\r\n\t\"user\": {\"username\": \"a b\"},\n  \"sourceIPs\": [ \"10.0.0.1\", \"10.0.0.2\" ] }"
        #expect(ContentID.string(spread) == ContentID.string(compact))
        #expect(ContentID.string(#"{"verb":"get","user":{"username":"ab"},"sourceIPs":["10.0.0.1","10.0.0.2"]}"#) != ContentID.string(compact))
        // An escaped quote does not end the string: the space after it is inside.
        #expect(ContentID.string(#"{"a":"x\" y"}"#) != ContentID.string(#"{"a":"x\"y"}"#))
        #expect(ContentID.string(#"{"a":"x\\", "b":1}"#) == ContentID.string(#"{"a":"x\\","b":1}"#))
        // Key order and escapes are the record's own: another order is another record.
        #expect(ContentID.string(#"{"a":1,"b":2}"#) != ContentID.string(#"{"b":2,"a":1}"#))
    }

    @Test("the same record always gets the same id; any changed value another")
    func deterministic() throws {
        let record = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","requestURI":"/api/v1/namespaces/kubeflow/secrets","requestReceivedTimestamp":"2025-01-21T17:49:47.120311Z"}"#
        let first = try NormalizedRecord(record)
        let second = try NormalizedRecord(record)
        let other = try NormalizedRecord(record.replacingOccurrences(of: "120311", with: "120312"))
        #expect(first[.uid] == ContentID.string(record))
        #expect(first[.uid] == second[.uid])
        #expect(first[.uid] != other[.uid])
        #expect(first[.apiRequestID] == nil)
    }
}

/// A seeded generator, so a generated case that fails fails again.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
