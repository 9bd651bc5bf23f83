import Foundation

/// Where and how a `SyslogSink` sends, parsed from a sink string:
///
///     syslog+udp://127.0.0.1:514
///     syslog+tcp://siem.example.com:6514?app-name=pipewatch&facility=local4
///     syslog+tls://[2001:db8::5]:6514?ca=/etc/pipewatch/ca.pem&cert=/etc/pipewatch/client.pem&key=/etc/pipewatch/client.key
///
/// Options: `app-name` (default `pipewatch`), `hostname` (default this machine's name), `facility` (a name such as
/// `local4`, the default, or a number 0–23), `msgid` (default `-`), `timeout` (seconds for connect and for a blocked
/// write, default 10), `max-size` (UDP only: the largest datagram in octets, default 8192 — longer messages are
/// truncated, see `SyslogMessage.truncated`), and for TLS `ca`, `cert`, `key`. Default ports: 514 for UDP and
/// TCP, 6514 for TLS. TCP and TLS use octet-counting framing (RFC 6587 §3.4.1, RFC 5425 §4.3).
public struct SyslogConfiguration: Sendable, Equatable {
    public enum Transport: Sendable, Equatable {
        case udp
        case tcp
        /// RFC 5425. `ca` verifies the receiver; `cert` and `key` authenticate this sender (mutual TLS).
        case tls(ca: String, cert: String?, key: String?)

        public var scheme: String {
            switch self {
            case .udp: return "syslog+udp"
            case .tcp: return "syslog+tcp"
            case .tls: return "syslog+tls"
            }
        }
    }

    public var transport: Transport
    public var host: String
    public var port: UInt16
    /// 0–23 (16–23 are local0–local7).
    public var facility: Int
    public var appName: String
    public var hostname: String
    public var msgID: String
    /// Seconds to wait for a connection, or for a blocked write to make progress.
    public var timeout: Double
    /// UDP only: the largest message sent in one datagram, in octets.
    public var maxDatagramSize: Int
    /// The RFC 5424 severity of payloads that arrive without a `SyslogPayload` tag (Warning, as for a Sigma rule
    /// without a level).
    public var defaultSeverity: Int

    public static let defaultFacility = 20  // local4

    public init(
        transport: Transport, host: String, port: UInt16? = nil, facility: Int = SyslogConfiguration.defaultFacility,
        appName: String = "pipewatch", hostname: String = ProcessInfo.processInfo.hostName, msgID: String = "-",
        timeout: Double = 10, maxDatagramSize: Int = 8192, defaultSeverity: Int = Severity.medium.syslogSeverity
    ) {
        self.transport = transport
        self.host = host
        switch transport {
        case .udp, .tcp: self.port = port ?? 514
        case .tls: self.port = port ?? 6514
        }
        self.facility = facility
        self.appName = appName
        self.hostname = hostname
        self.msgID = msgID
        self.timeout = timeout
        self.maxDatagramSize = maxDatagramSize
        self.defaultSeverity = defaultSeverity
    }

    /// Facility names (RFC 5424 §6.2.1, with the names syslog.conf uses).
    public static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7, "uucp": 8,
        "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "audit": 13, "console": 14, "clock": 15,
        "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
    ]

    /// Parses `syslog+udp://HOST[:PORT][?OPTIONS]` (also `syslog+tcp`, `syslog+tls`; an IPv6 host in brackets).
    public init(parsing url: String) throws {
        func fail(_ reason: String) -> OutputSpecificationError { OutputSpecificationError(url, reason) }
        guard let schemeEnd = url.range(of: "://") else {
            throw fail("expected syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT or syslog+tls://HOST:PORT")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard ["syslog+udp", "syslog+tcp", "syslog+tls"].contains(scheme) else {
            throw fail("unknown scheme '\(scheme)'; expected syslog+udp, syslog+tcp or syslog+tls")
        }
        var rest = url[schemeEnd.upperBound...]
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }

        // HOST[:PORT], HOST an IPv6 literal in brackets, a name or an IPv4 address.
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("unterminated [ in the host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("expected :PORT after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw fail("missing host") }
        guard !host.contains(where: { $0 == "/" || $0 == "@" || $0 == ":" && !rest.hasPrefix("[") || $0.isWhitespace }) else {
            throw fail("'\(host)' is not a host name or address")
        }
        var port: UInt16?
        if let portText {
            guard let value = UInt16(portText), value > 0 else { throw fail("port must be 1–65535") }
            port = value
        }

        var options: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw fail("'\(pair)' is not key=value") }
            guard options[parts[0]] == nil else { throw fail("option '\(parts[0])' given twice") }
            options[parts[0]] = parts[1].removingPercentEncoding ?? parts[1]
        }
        func take(_ key: String) -> String? { options.removeValue(forKey: key) }

        let transport: Transport
        switch scheme {
        case "syslog+udp": transport = .udp
        case "syslog+tcp": transport = .tcp
        default:
            guard let ca = take("ca"), !ca.isEmpty else { throw fail("syslog+tls needs ca=PATH (the receiver's CA)") }
            let cert = take("cert"), key = take("key")
            guard (cert == nil) == (key == nil) else { throw fail("cert= and key= go together") }
            transport = .tls(ca: ca, cert: cert, key: key)
        }
        self.init(transport: transport, host: String(host), port: port)

        if let value = take("facility") {
            if let number = Int(value), (0...23).contains(number) {
                facility = number
            } else if let number = SyslogConfiguration.facilities[value.lowercased()] {
                facility = number
            } else {
                throw fail("facility must be a name (kern, user, …, local0–local7) or 0–23, not '\(value)'")
            }
        }
        func headerOption(_ key: String, limit: Int) throws -> String? {
            guard let value = take(key) else { return nil }
            guard !value.isEmpty, value.utf8.count <= limit, value.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                throw fail("\(key) must be 1–\(limit) printable US-ASCII characters without spaces")
            }
            return value
        }
        if let value = try headerOption("app-name", limit: SyslogMessage.appNameLimit) { appName = value }
        if let value = try headerOption("hostname", limit: SyslogMessage.hostnameLimit) { hostname = value }
        if let value = try headerOption("msgid", limit: SyslogMessage.msgIDLimit) { msgID = value }
        if let value = take("timeout") {
            guard let seconds = Double(value), seconds > 0, seconds <= 3600 else {
                throw fail("timeout must be a number of seconds (0–3600]")
            }
            timeout = seconds
        }
        if let value = take("max-size") {
            guard transport == .udp else { throw fail("max-size applies to syslog+udp only") }
            guard let size = Int(value), (480...SyslogMessage.udpHardLimit).contains(size) else {
                throw fail("max-size must be 480–\(SyslogMessage.udpHardLimit) octets")
            }
            maxDatagramSize = size
        }
        if let unknown = options.keys.sorted().first {
            let known = transport == .udp ? "app-name, hostname, facility, msgid, timeout, max-size"
                : transport == .tcp ? "app-name, hostname, facility, msgid, timeout"
                : "ca, cert, key, app-name, hostname, facility, msgid, timeout"
            throw fail("unknown \(transport.scheme) option '\(unknown)' (\(known))")
        }
    }
}
