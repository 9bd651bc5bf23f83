import Foundation
import PipewatchRules

/// How `value_change` orders two values of a field: as numbers, or as versions (`1.10` after `1.9`: numeric
/// segments compared numerically, the others as text; a leading `v` ignored; `1.0` before `1.0.1`, a pre-release
/// before its release: `2.0.0-rc1` before `2.0.0`). MLflow versions are integers; SageMaker model package ARNs end in their version, so within one
/// package group they compare as versions too.
enum ValueOrder {
    /// Negative, zero or positive as `a` is before, equal to or after `b`; nil when they cannot be compared that way
    /// (a non-number with `number`).
    static func compare(_ a: String, _ b: String, as comparison: DetectorParameters.Comparison) -> Int? {
        switch comparison {
        case .number:
            guard let x = number(a), let y = number(b) else { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        case .version:
            return version(a, b)
        case .auto:
            if let x = number(a), let y = number(b) { return x < y ? -1 : (x > y ? 1 : 0) }
            return version(a, b)
        }
    }

    static func number(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }

    /// Segment by segment: runs of digits and runs of letters; anything else separates.
    static func version(_ a: String, _ b: String) -> Int {
        let x = segments(a), y = segments(b)
        for (p, q) in zip(x, y) {
            let order = compareSegments(p, q)
            if order != 0 { return order }
        }
        // One is a prefix of the other: more numbers come after (1.0 < 1.0.1), a pre-release tag before
        // (2.0.0-rc1 < 2.0.0), a post-release after (1.0 < 1.0.post1).
        if x.count == y.count { return 0 }
        let longer = x.count > y.count ? x[y.count] : y[x.count]
        let after = isDigit(longer.first!) || String(decoding: longer, as: UTF8.self).lowercased() == "post"
        return (x.count > y.count) == after ? 1 : -1
    }

    private static func segments(_ text: String) -> [Substring.UTF8View] {
        var utf8 = Substring(text).utf8
        if let first = utf8.first, first == UInt8(ascii: "v") || first == UInt8(ascii: "V"),
            let second = utf8.dropFirst().first, isDigit(second)
        {
            utf8 = utf8.dropFirst()
        }
        var result: [Substring.UTF8View] = []
        var start = utf8.startIndex
        var index = start
        var kind = 0  // 0 separator, 1 digits, 2 letters
        while index != utf8.endIndex {
            let byte = utf8[index]
            let k = isDigit(byte) ? 1 : (isSeparator(byte) ? 0 : 2)
            if k != kind {
                if kind != 0 { result.append(utf8[start..<index]) }
                start = index
                kind = k
            }
            index = utf8.index(after: index)
        }
        if kind != 0 { result.append(utf8[start..<index]) }
        return result
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "/"),
            UInt8(ascii: "+"), UInt8(ascii: " "), UInt8(ascii: "@"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Digits numerically whatever their length (leading zeros ignored), and before letters; letters as bytes.
    private static func compareSegments(_ p: Substring.UTF8View, _ q: Substring.UTF8View) -> Int {
        let pDigits = isDigit(p.first!), qDigits = isDigit(q.first!)
        if pDigits != qDigits { return pDigits ? -1 : 1 }
        if pDigits {
            let a = p.drop { $0 == UInt8(ascii: "0") }, b = q.drop { $0 == UInt8(ascii: "0") }
            if a.count != b.count { return a.count < b.count ? -1 : 1 }
            for (u, v) in zip(a, b) where u != v { return u < v ? -1 : 1 }
            return 0
        }
        for (u, v) in zip(p, q) where u != v { return u < v ? -1 : 1 }
        return p.count < q.count ? -1 : (p.count > q.count ? 1 : 0)
    }
}
