import Foundation
import PipewatchEvents

/// Text for an HTML page. Every value that comes from an alert is attacker-controlled (a user agent, a bucket
/// name, a whole raw record), so it only ever enters the page through `escape`, in text and in attributes alike.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `escape`, after cutting to `limit` characters (with an ellipsis).
    static func escape(_ text: String, cut limit: Int) -> String {
        escape(text.count > limit ? String(text.prefix(limit - 1)) + "…" : text)
    }

    static let severityNames = ["Unknown", "Informational", "Low", "Medium", "High", "Critical", "Fatal"]

    /// `2026-11-05 02:31:07Z` (milliseconds only when there are some); "—" for no time.
    static func time(_ milliseconds: Int64) -> String {
        guard milliseconds != 0 else { return "—" }
        var text = Timestamp.format(milliseconds: milliseconds)
        text = text.replacingOccurrences(of: "T", with: " ")
        if text.hasSuffix(".000Z") { text = String(text.dropLast(5)) + "Z" }
        return text
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = n < 0 ? "-" : ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// A number as the detectors write it: integers without a fraction, others with up to three decimals.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value > 0 ? "∞" : "-∞" }
        if value == value.rounded() && abs(value) < 1e15 { return grouped(Int(value)) }
        var text = String((value * 1000).rounded() / 1000)
        if text.contains("e") { text = "\(value)" }
        return text
    }

    static func bytes(_ n: Int) -> String {
        n >= 1_000_000 ? "\(number((Double(n) / 100_000).rounded() / 10)) MB" : "\(grouped(n)) bytes"
    }
}
