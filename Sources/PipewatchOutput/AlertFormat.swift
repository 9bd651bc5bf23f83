import Foundation

/// The wire formats an alert can be written in (`--format`).
public enum AlertFormat: String, CaseIterable, Sendable {
    /// OCSF 1.1 Detection Finding JSON.
    case ocsf
    /// ArcSight CEF line.
    case cef
    /// IBM QRadar LEEF 2.0 line.
    case leef
    /// Elastic Common Schema alert document JSON.
    case ecs
    /// Splunk HTTP Event Collector envelope JSON.
    case hec

    /// One alert in this format, without a trailing newline (framing is the sink's job).
    public func format(_ alert: Alert) -> [UInt8] {
        switch self {
        case .ocsf: return OCSFDetectionFinding.format(alert)
        case .cef: return CEFFormatter.format(alert)
        case .leef: return LEEFFormatter.format(alert)
        case .ecs: return ECSFormatter.format(alert)
        case .hec: return AlertFormat.defaultHEC.format(alert)
        }
    }

    /// HEC with this machine's host name and the `pipewatch:alert` sourcetype.
    static let defaultHEC = SplunkHECFormatter(host: ProcessInfo.processInfo.hostName)
}

/// Helpers the text formatters share.
enum FormatSupport {
    /// Whether `text` is an IPv4 dotted quad or an IPv6 literal (no zone, no brackets, no port).
    static func isIPLiteral(_ text: String) -> Bool { ipVersion(text) != nil }

    /// 4 or 6 when `text` is an IP literal of that family.
    static func ipVersion(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return 4 }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return 6 }
        return nil
    }

    /// The Sigma `attack.*` tags of a rule, in order.
    static func attackTags(_ rule: AlertRule) -> [String] {
        rule.tags.filter { $0.lowercased().hasPrefix("attack.") }
    }

    /// `text` cut to at most `limit` UTF-8 bytes on a scalar boundary.
    static func prefix(_ text: String, utf8Bytes limit: Int) -> String {
        if text.utf8.count <= limit { return text }
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let size = String(scalar).utf8.count
            if used + size > limit { break }
            result.append(scalar)
            used += size
        }
        return String(result)
    }
}
