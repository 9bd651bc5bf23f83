import PipewatchEvents

/// IBM QRadar LEEF 2.0 for one alert, one line without a trailing newline, attributes separated by TAB (declared
/// as `x09` in the header):
///
///     LEEF:2.0|Pipewatch|Pipewatch|<version>|<rule id>|x09|devTime=…<TAB>sev=…<TAB>…
///
/// LEEF defines no escaping. Header fields get `|`, TAB, CR and LF replaced by a space; attribute values get the
/// delimiter (TAB), CR and LF replaced by a space. Everything else (`=`, `\`, `|`, non-ASCII) passes unchanged:
/// QRadar reads a value up to the next delimiter.
///
/// Attributes: `devTime` (13-digit epoch milliseconds, which needs no `devTimeFormat`; other times are written as
/// `yyyy-MM-dd'T'HH:mm:ss.SSSZ` with that `devTimeFormat`), `sev` (1–10), `cat` (event source, `aws.cloudtrail`),
/// `usrName` (≤255 bytes), `src` (IP literals only; any other source value goes to `srcHost`), `resource`,
/// `accountName` (cloud account), and the custom keys `alertId`, `ruleName`, `msg`, `action`, `outcome`,
/// `service`, `userAgent`, `resourceType`, `namespace`, `cloudProvider`, `region`, `attackTags`, and
/// `timeAbsent=true` instead of `devTime` when the event had no time.
public enum LEEFFormatter {
    /// The attribute delimiter, and how the header declares it.
    public static let delimiter: UInt8 = 0x09
    public static let delimiterDeclaration = "x09"
    /// `devTimeFormat` for times that are not 13-digit epoch milliseconds.
    public static let devTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"

    public static func format(_ alert: Alert, product: ProductInfo = .pipewatch) -> [UInt8] {
        var pairs: [(key: String, value: String)] = []
        if alert.timeAbsent {
            pairs.append(("timeAbsent", "true"))  // no devTime: QRadar takes its receipt time
        } else if alert.time >= 1_000_000_000_000 && alert.time < 10_000_000_000_000 {
            pairs.append(("devTime", String(alert.time)))
        } else {
            // `2026-11-03T10:07:00.000Z` → Java's `Z` pattern wants `+0000`.
            let iso = Timestamp.format(milliseconds: alert.time)
            pairs.append(("devTime", String(iso.dropLast()) + "+0000"))
            pairs.append(("devTimeFormat", devTimeFormat))
        }
        pairs.append(("sev", String(alert.rule.level.leefSeverity)))
        pairs.append(("cat", alert.source.name))
        if let user = alert[.actorUser] { pairs.append(("usrName", FormatSupport.prefix(clean(user), utf8Bytes: 255))) }
        if let source = alert[.srcIP] {
            pairs.append((FormatSupport.isIPLiteral(source) ? "src" : "srcHost", source))
        }
        if let name = alert[.resourceName] { pairs.append(("resource", name)) }
        if let account = alert[.cloudAccount] { pairs.append(("accountName", account)) }
        pairs.append(("alertId", alert.uid))
        pairs.append(("ruleName", alert.rule.title))
        if let description = alert.rule.description { pairs.append(("msg", description)) }
        if let operation = alert[.apiOperation] { pairs.append(("action", operation)) }
        if alert.outcome != .unknown { pairs.append(("outcome", alert.outcome.name)) }
        if let service = alert[.apiService] { pairs.append(("service", service)) }
        if let agent = alert[.userAgent] { pairs.append(("userAgent", agent)) }
        if let type = alert[.resourceType] { pairs.append(("resourceType", type)) }
        if let namespace = alert[.resourceNamespace] { pairs.append(("namespace", namespace)) }
        if let provider = alert[.cloudProvider] { pairs.append(("cloudProvider", provider)) }
        if let region = alert[.cloudRegion] { pairs.append(("region", region)) }
        let attackTags = FormatSupport.attackTags(alert.rule)
        if !attackTags.isEmpty { pairs.append(("attackTags", attackTags.joined(separator: ","))) }

        return line(
            vendor: product.vendor, product: product.name, version: product.version, eventID: alert.rule.id,
            attributes: pairs)
    }

    /// A LEEF 2.0 line with TAB-delimited attributes. Empty values are omitted.
    public static func line(
        vendor: String, product: String, version: String, eventID: String, attributes: [(key: String, value: String)]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: "LEEF:2.0|".utf8)
        for field in [vendor, product, version, FormatSupport.prefix(eventID, utf8Bytes: 255)] {
            out.append(contentsOf: cleanHeader(field).utf8)
            out.append(UInt8(ascii: "|"))
        }
        out.append(contentsOf: delimiterDeclaration.utf8)
        out.append(UInt8(ascii: "|"))
        var first = true
        for (key, value) in attributes where !value.isEmpty {
            if !first { out.append(delimiter) }
            first = false
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: clean(value).utf8)
        }
        return out
    }

    /// An attribute value: the delimiter, CR and LF become spaces (a CR LF pair becomes one space).
    public static func clean(_ text: String) -> String {
        replacing(text) { $0 == "\t" || $0 == "\r" || $0 == "\n" }
    }

    /// A header field: `|`, TAB, CR and LF become spaces (LEEF has no header escape).
    public static func cleanHeader(_ text: String) -> String {
        replacing(text) { $0 == "|" || $0 == "\t" || $0 == "\r" || $0 == "\n" }
    }

    private static func replacing(_ text: String, _ isBad: (Unicode.Scalar) -> Bool) -> String {
        guard text.unicodeScalars.contains(where: isBad) else { return text }
        var result = String.UnicodeScalarView()
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            defer { previous = scalar }
            if scalar == "\n", previous == "\r" { continue }
            result.append(isBad(scalar) ? " " : scalar)
        }
        return String(result)
    }
}
