import Foundation
import PipewatchEvents

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func lit(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func put(_ bytes: [UInt8]) {
        append(contentsOf: bytes)
    }

    /// A non-negative integer in decimal.
    mutating func decimal(_ value: Int) {
        var n = UInt64(truncatingIfNeeded: value)
        if n < 10 {
            append(UInt8(truncatingIfNeeded: n) &+ 48)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            repeat {
                i -= 1
                buffer[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
                n /= 10
            } while n > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i..<20]))
        }
    }

    /// A non-negative integer in decimal, zero-padded to `width` digits.
    mutating func padded(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor &*= 10 }
        var n = value
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: n / divisor) &+ 48)
            n %= divisor
            divisor /= 10
        }
    }

    @inline(__always)
    mutating func two(_ value: Int) {
        append(UInt8(truncatingIfNeeded: value / 10) &+ 48)
        append(UInt8(truncatingIfNeeded: value % 10) &+ 48)
    }

    /// The low `digits` nibbles of `value` in lowercase hex.
    mutating func hex(_ value: UInt64, digits: Int) {
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 15)
            append(d < 10 ? d &+ 48 : d &+ 87)
            shift -= 4
        }
    }

    /// `YYYY-MM-DD`
    mutating func isoDate(_ epochSeconds: Int64) {
        let c = civilDate(days: floorDiv(epochSeconds, 86_400))
        padded(c.year, width: 4)
        append(45)
        two(c.month)
        append(45)
        two(c.day)
    }

    /// `YYYY-MM-DDTHH:MM:SS` without a zone designator.
    mutating func isoDateTime(_ epochSeconds: Int64) {
        isoDate(epochSeconds)
        let s = Int(epochSeconds - floorDiv(epochSeconds, 86_400) * 86_400)
        append(84)
        two(s / 3600)
        append(58)
        two(s / 60 % 60)
        append(58)
        two(s % 60)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (CloudTrail).
    mutating func isoSeconds(_ epochSeconds: Int64) {
        isoDateTime(epochSeconds)
        append(90)
    }

    /// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` (Kubernetes audit).
    mutating func isoMicros(_ epochMicros: Int64) {
        let seconds = floorDiv(epochMicros, 1_000_000)
        isoDateTime(seconds)
        append(46)
        padded(Int(epochMicros - seconds * 1_000_000), width: 6)
        append(90)
    }

    /// `Nov 3, 2026 3:05:40 PM` (the style of STS and IAM response dates).
    mutating func awsLongDate(_ epochSeconds: Int64) {
        let c = civilDate(days: floorDiv(epochSeconds, 86_400))
        lit(monthAbbreviation(c.month))
        append(32)
        decimal(c.day)
        lit(", ")
        decimal(c.year)
        append(32)
        let s = Int(epochSeconds - floorDiv(epochSeconds, 86_400) * 86_400)
        let hour = s / 3600
        let hour12 = hour % 12 == 0 ? 12 : hour % 12
        decimal(hour12)
        append(58)
        two(s / 60 % 60)
        append(58)
        two(s % 60)
        lit(hour < 12 ? " AM" : " PM")
    }
}

@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Calendar date of a day count since 1970-01-01.
func civilDate(days: Int64) -> (year: Int, month: Int, day: Int) {
    let (c, _) = Timestamp.components(milliseconds: days * 86_400_000)
    return (c.year, c.month, c.day)
}

func monthAbbreviation(_ month: Int) -> StaticString {
    switch month {
    case 1: return "Jan"
    case 2: return "Feb"
    case 3: return "Mar"
    case 4: return "Apr"
    case 5: return "May"
    case 6: return "Jun"
    case 7: return "Jul"
    case 8: return "Aug"
    case 9: return "Sep"
    case 10: return "Oct"
    case 11: return "Nov"
    default: return "Dec"
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
