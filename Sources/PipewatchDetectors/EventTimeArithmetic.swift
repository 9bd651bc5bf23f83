import CCacheHints
import Foundation

/// Integer division rounding toward negative infinity (bucket indexes of times before 1970 stay ordered).
@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Hour of the week of a time, Monday 00:00 = 0 … Sunday 23:00 = 167 (1970-01-01 was a Thursday).
@inline(__always)
func hourOfWeek(_ milliseconds: Int64, offsetMinutes: Int) -> Int {
    let hours = floorDivide(milliseconds + Int64(offsetMinutes) * 60_000, 3_600_000)
    let slot = (hours + 72) % 168
    return Int(slot < 0 ? slot + 168 : slot)
}
