/// ArcSight Common Event Format (CEF:0) for one alert, one line without a trailing newline:
///
///     CEF:0|Pipewatch|Pipewatch|<version>|<rule id>|<rule title>|<severity 0-10>|<extension>
///
/// Header fields escape `\` and `|` with a backslash and turn CR/LF into spaces (line breaks are not allowed there).
/// Extension values escape `\`, `=` and line breaks (`\n`); pipes stay as they are. Values longer than the
/// ArcSight field limits are cut on a character boundary, never inside an escape sequence, so the receiver does
/// not truncate them itself. Absent values are omitted.
///
/// Extension keys: `rt` (event time, epoch ms), `externalId` (alert uid), `cat` (event source, `aws.cloudtrail`),
/// `act` (API operation), `outcome`, `suser`, `src` (IPv4 literal) or `c6a2` (IPv6 literal) or `shost` (any other
/// source value), `requestClientApplication` (user agent), `msg` (rule description, else title), and labelled
/// custom strings `cs1` ruleId, `cs2` apiService, `cs3` resource, `cs4` cloudAccount, `cs5` cloudRegion,
/// `cs6` attackTags (comma-separated Sigma `attack.*` tags); `flexString1` `true` labelled timeAbsent instead of `rt`
/// when the event had no time.
public enum CEFFormatter {
    /// Header field limits (CEF v27), in bytes of escaped UTF-8.
    public static let headerLimits = (vendor: 63, product: 63, version: 31, signatureID: 1023, name: 512)

    /// Extension value limits (CEF v27 dictionary) for the keys this formatter writes; other keys are unlimited.
    public static let extensionLimits: [String: Int] = [
        "externalId": 40, "act": 63, "outcome": 63, "msg": 1023, "cat": 1023, "suser": 1023, "shost": 1023,
        "requestClientApplication": 1023,
        "cs1": 4000, "cs2": 4000, "cs3": 4000, "cs4": 4000, "cs5": 4000, "cs6": 4000,
        "flexString1": 1023, "flexString1Label": 128,  // CEF v27: flexString labels are shorter
        "cs1Label": 1023, "cs2Label": 1023, "cs3Label": 1023, "cs4Label": 1023, "cs5Label": 1023, "cs6Label": 1023,
    ]

    public static func format(_ alert: Alert, product: ProductInfo = .pipewatch) -> [UInt8] {
        var pairs: [(key: String, value: String)] = []
        if !alert.timeAbsent { pairs.append(("rt", String(alert.time))) }
        if alert.uid.utf8.count <= 40 { pairs.append(("externalId", alert.uid)) }
        pairs.append(("cat", alert.source.name))
        if let operation = alert[.apiOperation] { pairs.append(("act", operation)) }
        if alert.outcome != .unknown { pairs.append(("outcome", alert.outcome.name)) }
        if let user = alert[.actorUser] { pairs.append(("suser", user)) }
        if let source = alert[.srcIP] {
            switch FormatSupport.ipVersion(source) {
            case 4: pairs.append(("src", source))
            case 6: pairs.append(("c6a2", source))
            default: pairs.append(("shost", source))
            }
        }
        if let agent = alert[.userAgent] { pairs.append(("requestClientApplication", agent)) }
        pairs.append(("msg", alert.rule.description ?? alert.rule.title))

        let attackTags = FormatSupport.attackTags(alert.rule)
        let custom: [(String, String?)] = [
            ("ruleId", alert.rule.id),
            ("apiService", alert[.apiService]),
            ("resource", alert[.resourceName]),
            ("cloudAccount", alert[.cloudAccount]),
            ("cloudRegion", alert[.cloudRegion]),
            ("attackTags", attackTags.isEmpty ? nil : attackTags.joined(separator: ",")),
        ]
        var labels: [(key: String, value: String)] = []
        for (index, (label, value)) in custom.enumerated() {
            guard let value, !value.isEmpty else { continue }
            pairs.append(("cs\(index + 1)", value))
            labels.append(("cs\(index + 1)Label", label))
        }
        if alert.timeAbsent {
            pairs.append(("flexString1", "true"))
            labels.append(("flexString1Label", "timeAbsent"))
        }
        // Labels last: the final value is a constant, so no trailing space of a real value can be lost.
        pairs.append(contentsOf: labels)

        return line(
            vendor: product.vendor, product: product.name, version: product.version, signatureID: alert.rule.id,
            name: alert.rule.title, severity: alert.rule.level.cefSeverity, extension: pairs)
    }

    /// A CEF:0 line from its parts. Empty extension values are omitted; the pipe after Severity is always written.
    public static func line(
        vendor: String, product: String, version: String, signatureID: String, name: String, severity: Int,
        extension pairs: [(key: String, value: String)]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: "CEF:0|".utf8)
        for (field, limit) in [
            (vendor, headerLimits.vendor), (product, headerLimits.product), (version, headerLimits.version),
            (signatureID, headerLimits.signatureID), (name, headerLimits.name),
        ] {
            out.append(contentsOf: escapeHeader(field, limit: limit))
            out.append(UInt8(ascii: "|"))
        }
        out.append(contentsOf: String(min(10, max(0, severity))).utf8)
        out.append(UInt8(ascii: "|"))
        var first = true
        for (key, value) in pairs where !value.isEmpty {
            if !first { out.append(UInt8(ascii: " ")) }
            first = false
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: escapeExtension(value, limit: extensionLimits[key] ?? .max))
        }
        return out
    }

    /// A header field: `\` → `\\`, `|` → `\|`, CR LF / CR / LF → space; at most `limit` bytes.
    public static func escapeHeader(_ text: String, limit: Int = .max) -> [UInt8] {
        escape(text, limit: limit) { scalar, crlf in
            switch scalar {
            case "\\": return Array(#"\\"#.utf8)
            case "|": return Array(#"\|"#.utf8)
            case "\r", "\n": return [UInt8(ascii: " ")]
            default: return nil
            }
        }
    }

    /// An extension value: `\` → `\\`, `=` → `\=`, CR LF / CR / LF → `\n`; pipes unchanged; at most `limit` bytes.
    public static func escapeExtension(_ text: String, limit: Int = .max) -> [UInt8] {
        escape(text, limit: limit) { scalar, _ in
            switch scalar {
            case "\\": return Array(#"\\"#.utf8)
            case "=": return Array(#"\="#.utf8)
            case "\r", "\n": return Array(#"\n"#.utf8)
            default: return nil
            }
        }
    }

    /// Escapes scalar by scalar (a CR LF pair counts as one LF), stopping before the unit that would pass `limit`.
    static func escape(_ text: String, limit: Int, _ replacement: (Unicode.Scalar, Bool) -> [UInt8]?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, text.utf8.count + 8))
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            var scalar = scalars[i]
            var crlf = false
            if scalar == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" {
                scalar = "\n"
                crlf = true
            }
            let unit = replacement(scalar, crlf) ?? Array(String(scalar).utf8)
            if out.count + unit.count > limit { break }
            out.append(contentsOf: unit)
            i += crlf ? 2 : 1
        }
        return out
    }
}
