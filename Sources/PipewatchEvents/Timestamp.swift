import PipewatchJSON

/// Timestamps to and from milliseconds since the Unix epoch, without Foundation's date parsers (too slow for the
/// hot path and too lenient for validation).
public enum Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; a space is accepted for the `T`, lowercase `t`/`z` too.
    public static func parseRFC3339(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        parseDateTime(s, exportForms: false)
    }

    /// Parses RFC 3339 and the forms data-lake exports and log shippers write (CloudTrail Lake, Athena, BigQuery,
    /// Snowflake, Panther, PostgreSQL): `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][zone]`, where a missing zone means UTC
    /// and the zone may follow a space and be `Z`, `UTC`, `±HH:MM`, `±HHMM` or `±HH`. Any number of fraction
    /// digits (truncated to milliseconds). The date must exist (no month 13, no February 30).
    public static func parseDateTime(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        parseDateTime(s, exportForms: true)
    }

    public static func parseDateTime(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseDateTime($0) }
    }

    private static func parseDateTime(_ s: UnsafeBufferPointer<UInt8>, exportForms: Bool) -> Int64? {
        let n = s.count
        guard n >= 19 else { return nil }
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for k in at..<(at + count) {
                let d = s[k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                value = value * 10 + Int(d)
            }
            return value
        }
        guard let year = digits(0, 4), s[4] == UInt8(ascii: "-"), let month = digits(5, 2), s[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), s[10] | 0x20 == UInt8(ascii: "t") || s[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), s[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            s[16] == UInt8(ascii: ":"), let second = digits(17, 2),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year, month), hour < 24, minute < 60, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if i < n && s[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100
            let fractionStart = i
            while i < n, s[i] &- UInt8(ascii: "0") < 10 {
                millis += Int(s[i] &- UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        var offsetSeconds = 0
        if exportForms {
            // Exports without a zone hold UTC; some put a space before the zone (BigQuery's ` UTC`, Snowflake's ` -0800`).
            guard i < n else { return epochMilliseconds(year, month, day, hour, minute, second, millis, offsetSeconds: 0) }
            if s[i] == UInt8(ascii: " ") && i + 1 < n { i += 1 }
            if n - i == 3 && s[i] == UInt8(ascii: "U") && s[i + 1] == UInt8(ascii: "T") && s[i + 2] == UInt8(ascii: "C") {
                return epochMilliseconds(year, month, day, hour, minute, second, millis, offsetSeconds: 0)
            }
        }
        guard i < n else { return nil }
        if s[i] | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            let sign = s[i] == UInt8(ascii: "+") ? 1 : -1
            // ±HH:MM always; ±HHMM and ±HH (ISO 8601 basic and short forms) in export forms only.
            let rest = n - i - 1
            let oh: Int?
            let om: Int?
            if rest == 5 && s[i + 3] == UInt8(ascii: ":") {
                oh = digits(i + 1, 2)
                om = digits(i + 4, 2)
            } else if exportForms && rest == 4 {
                oh = digits(i + 1, 2)
                om = digits(i + 3, 2)
            } else if exportForms && rest == 2 {
                oh = digits(i + 1, 2)
                om = 0
            } else {
                return nil
            }
            guard let oh, let om, oh < 24, om < 60 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * sign
            i = n
        } else {
            return nil
        }
        guard i == n else { return nil }
        return epochMilliseconds(year, month, day, hour, minute, second, millis, offsetSeconds: offsetSeconds)
    }

    @inline(__always)
    private static func epochMilliseconds(
        _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, _ millis: Int, offsetSeconds: Int
    ) -> Int64 {
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Int64(seconds) * 1000 + Int64(millis)
    }

    public static func parseRFC3339(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseRFC3339($0) }
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses decimal Unix seconds (optionally with a fraction), as in MLflow's `X-MLflow-Timestamp` header.
    /// At most 12 integer digits (beyond year 33000), so the value cannot overflow whatever a sender puts there.
    public static func parseUnixSeconds(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !s.isEmpty, s.count < 24 else { return nil }
        var seconds: Int64 = 0
        var i = 0
        while i < s.count, s[i] &- UInt8(ascii: "0") < 10 {
            guard i < 12 else { return nil }
            seconds = seconds * 10 + Int64(s[i] &- UInt8(ascii: "0"))
            i += 1
        }
        guard i > 0 else { return nil }
        var millis: Int64 = 0
        if i < s.count && s[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            while i < s.count, s[i] &- UInt8(ascii: "0") < 10 {
                millis += Int64(s[i] &- UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
        }
        guard i == s.count else { return nil }
        return seconds * 1000 + millis
    }

    /// The times an epoch number may stand for: 1973-03-03T09:46:40Z up to (not including) 2286-11-20T17:46:40Z,
    /// in each unit. Seconds are 9–10 integer digits, milliseconds 12–13, microseconds 15–16, nanoseconds 18–19;
    /// anything else (fewer digits, 11, 14 or 17 digits, negative) is before 1973 in every unit or could be two
    /// units, so it is refused rather than guessed.
    static let epochUnits: [(range: Range<UInt64>, millisecondsPerUnit: Double)] = [
        (100_000_000..<10_000_000_000, 1000),
        (100_000_000_000..<10_000_000_000_000, 1),
        (100_000_000_000_000..<10_000_000_000_000_000, 0.001),
        (100_000_000_000_000_000..<10_000_000_000_000_000_000, 0.000_001),
    ]

    /// Parses Unix time written as a number (a JSON number's text or a numeric string): seconds, milliseconds,
    /// microseconds or nanoseconds, told apart by magnitude (see `epochUnits`). Seconds may have a fraction; an
    /// exponent (`1.737481787E9`, as some SDKs serialize epoch seconds) is read through a Double.
    public static func parseEpoch(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = s.count
        guard n > 0, n <= 40 else { return nil }
        var integer: UInt64 = 0
        var i = 0
        while i < n, s[i] &- UInt8(ascii: "0") < 10 {
            guard i < 19 else { return nil }
            integer = integer * 10 + UInt64(s[i] &- UInt8(ascii: "0"))
            i += 1
        }
        guard i > 0 else { return nil }
        var fractionMillis: UInt64 = 0
        if i < n && s[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            var scale: UInt64 = 100
            while i < n, s[i] &- UInt8(ascii: "0") < 10 {
                fractionMillis += UInt64(s[i] &- UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        if i < n && s[i] | 0x20 == UInt8(ascii: "e") {
            guard let value = JSONNumber.parseDouble(s), value.isFinite, value >= 0, value < 1e19 else { return nil }
            let whole = UInt64(value)
            guard let unit = epochUnits.first(where: { $0.range.contains(whole) }) else { return nil }
            return Int64((value * unit.millisecondsPerUnit).rounded(.down))
        }
        guard i == n else { return nil }
        switch integer {
        case epochUnits[0].range: return Int64(integer * 1000 + fractionMillis)
        case epochUnits[1].range: return Int64(integer)
        case epochUnits[2].range: return Int64(integer / 1000)
        case epochUnits[3].range: return Int64(integer / 1_000_000)
        default: return nil
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func format(milliseconds: Int64) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: textLength) { buffer in
            let count = write(milliseconds: milliseconds, into: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(start: buffer.baseAddress, count: count), as: UTF8.self)
        }
    }

    /// The length of `format`'s text.
    public static let textLength = 24

    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes, years 0–9999) without allocating; returns its length.
    public static func write(milliseconds: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let (c, millis) = components(milliseconds: milliseconds)
        var k = 0
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = max(0, value)
            for _ in 0..<width {
                out[k] = UInt8(ascii: "0") + UInt8(v / divisor % 10)
                v %= divisor
                divisor /= 10
                k += 1
            }
        }
        func char(_ c: Unicode.Scalar) {
            out[k] = UInt8(ascii: c)
            k += 1
        }
        digits(c.year, 4); char("-"); digits(c.month, 2); char("-"); digits(c.day, 2); char("T")
        digits(c.hour, 2); char(":"); digits(c.minute, 2); char(":"); digits(c.second, 2); char(".")
        digits(millis, 3); char("Z")
        return k
    }

    public struct Components: Sendable, Equatable {
        public var year, month, day, hour, minute, second: Int
        /// 1 = Monday … 7 = Sunday (ISO 8601).
        public var weekday: Int
    }

    /// UTC calendar fields of a time, and the leftover milliseconds.
    public static func components(milliseconds: Int64) -> (Components, Int) {
        var seconds = milliseconds / 1000
        var millis = Int(milliseconds % 1000)
        if millis < 0 {
            millis += 1000
            seconds -= 1
        }
        var days = Int(seconds / 86_400)
        var secondOfDay = Int(seconds % 86_400)
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // civil_from_days (Howard Hinnant).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 7 + 3) % 7 + 1  // 1970-01-01 was a Thursday
        return (
            Components(
                year: year, month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
                second: secondOfDay % 60, weekday: weekday),
            millis
        )
    }
}
