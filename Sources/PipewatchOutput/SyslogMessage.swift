import Foundation

/// RFC 5424 message construction and RFC 6587/5425 octet-counting framing, as pure functions.
///
///     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
///     <163>1 2026-11-03T10:07:00.123Z sensor-1.example.com pipewatch 4711 - - CEF:0|Pipewatch|…
///
/// STRUCTURED-DATA is always the NILVALUE `-`: everything the alert says is in MSG, in the chosen format.
///
/// MSG is sent as MSG-ANY, without the UTF-8 BOM that RFC 5424 §6.4 suggests for UTF-8 text: CEF and LEEF parsers
/// (ArcSight connectors, QRadar DSMs, Elastic's CEF decoder) recognise the payload by the literal `CEF:`/`LEEF:` at
/// the start of MSG, and receivers keep a BOM as part of MSG (rsyslog does), so a BOM in front breaks that match. The
/// bytes are still UTF-8; JSON payloads do not need a BOM either (RFC 8259 §8.1 forbids one).
public enum SyslogMessage {
    /// Maximum lengths of the header fields (RFC 5424 §6), in octets of printable US-ASCII.
    public static let hostnameLimit = 255
    public static let appNameLimit = 48
    public static let procIDLimit = 128
    public static let msgIDLimit = 32

    /// The largest payload a UDP datagram over IPv4 can carry (65535 − 20 IP − 8 UDP).
    public static let udpHardLimit = 65507

    /// PRI = facility × 8 + severity (facility 0–23, severity 0–7).
    public static func priority(facility: Int, severity: Int) -> Int {
        min(max(facility, 0), 23) * 8 + min(max(severity, 0), 7)
    }

    /// A header field as RFC 5424 allows it: only PRINTUSASCII (33–126) — anything else becomes `_` — cut to
    /// `limit` octets, and the NILVALUE `-` when empty (an empty field would shift every field after it).
    public static func headerField(_ text: String, limit: Int) -> String {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            if bytes.count >= limit { break }
            bytes.append(scalar.value >= 33 && scalar.value <= 126 ? UInt8(scalar.value) : UInt8(ascii: "_"))
        }
        return bytes.isEmpty ? "-" : String(decoding: bytes, as: UTF8.self)
    }

    /// TIMESTAMP in UTC with millisecond precision: `2026-11-03T10:07:00.123Z` (upper-case `T` and `Z`, at most six
    /// fractional digits, which rsyslog requires; leap seconds never appear since the clock is POSIX time).
    public static func timestamp(millisecondsSinceEpoch milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        let fraction = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String { String(value).leftPadded(width) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(String(fraction).leftPadded(3))Z"
    }

    /// The header fields that do not change from one message to the next.
    public struct Header: Sendable, Equatable {
        public var facility: Int
        public var hostname: String
        public var appName: String
        public var procID: String
        public var msgID: String

        /// Fields are sanitized here, once, with `SyslogMessage.headerField`.
        public init(facility: Int, hostname: String, appName: String, procID: String, msgID: String = "-") {
            self.facility = min(max(facility, 0), 23)
            self.hostname = SyslogMessage.headerField(hostname, limit: SyslogMessage.hostnameLimit)
            self.appName = SyslogMessage.headerField(appName, limit: SyslogMessage.appNameLimit)
            self.procID = SyslogMessage.headerField(procID, limit: SyslogMessage.procIDLimit)
            self.msgID = SyslogMessage.headerField(msgID, limit: SyslogMessage.msgIDLimit)
        }
    }

    /// One RFC 5424 message: the header, the NILVALUE for STRUCTURED-DATA, a space and `message` unchanged.
    public static func format(_ message: some Collection<UInt8>, header: Header, severity: Int, millisecondsSinceEpoch: Int64)
        -> [UInt8]
    {
        let prefix = "<\(priority(facility: header.facility, severity: severity))>1 "
            + "\(timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch)) \(header.hostname) \(header.appName) "
            + "\(header.procID) \(header.msgID) - "
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8.count + message.count)
        bytes.append(contentsOf: prefix.utf8)
        bytes.append(contentsOf: message)
        return bytes
    }

    /// The number of octets before MSG in a message built by `format` (PRI through the space after SD).
    public static func headerLength(of message: [UInt8]) -> Int {
        // PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD: the MSG starts after the seventh space.
        var spaces = 0
        for (index, byte) in message.enumerated() where byte == UInt8(ascii: " ") {
            spaces += 1
            if spaces == 7 { return index + 1 }
        }
        return message.count
    }

    /// `message` cut to at most `limit` octets for a datagram transport (RFC 5426 §3.2 lets the sender truncate;
    /// RFC 5424 §6.1 has the receiver do the same). Only MSG is cut, on a UTF-8 character boundary, and never after
    /// an odd run of backslashes, so a CEF/LEEF escape (`\=`, `\\`, `\|`) is not left half there. The header is kept.
    public static func truncated(_ message: [UInt8], to limit: Int) -> [UInt8] {
        guard message.count > limit else { return message }
        let headerEnd = headerLength(of: message)
        var cut = max(limit, headerEnd)
        if cut >= message.count { return message }
        while cut > headerEnd && message[cut] & 0xC0 == 0x80 { cut -= 1 }
        var backslashes = 0
        while cut - backslashes > headerEnd && message[cut - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
        if backslashes % 2 == 1 { cut -= 1 }
        return Array(message[..<cut])
    }

    /// RFC 6587 §3.4.1 / RFC 5425 §4.3 octet counting: `MSG-LEN SP SYSLOG-MSG`, where MSG-LEN counts the octets of
    /// SYSLOG-MSG only. No trailer.
    public static func octetCounted(_ message: [UInt8]) -> [UInt8] {
        var frame = Array("\(message.count) ".utf8)
        frame.append(contentsOf: message)
        return frame
    }
}

/// How the severity of an alert travels with its formatted payload to a `SyslogSink`, whose `deliver` (like every
/// `AlertSink`'s) receives only `[[UInt8]]`: the formatter path prefixes the payload with two octets, NUL and the
/// ASCII digit of the RFC 5424 severity (`"\0" "3" CEF:0|…`). No text format starts with NUL, so a tagged payload
/// is never mistaken for an untagged one; the sink strips the tag, and sends untagged payloads with its configured
/// default severity.
public enum SyslogPayload {
    static let marker: UInt8 = 0

    /// `payload` tagged with `severity` (Sigma level → RFC 5424 severity via `Severity.syslogSeverity`).
    public static func tagged(_ payload: [UInt8], severity: Severity) -> [UInt8] {
        var bytes: [UInt8] = [marker, UInt8(ascii: "0") + UInt8(severity.syslogSeverity)]
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// The RFC 5424 severity of a tagged payload (nil when untagged) and the payload without the tag.
    public static func untagged(_ payload: [UInt8]) -> (severity: Int?, body: ArraySlice<UInt8>) {
        if payload.count >= 2 && payload[0] == marker && (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(payload[1]) {
            return (Int(payload[1] - UInt8(ascii: "0")), payload[2...])
        }
        return (nil, payload[...])
    }
}

extension AlertFormat {
    /// One alert in this format, tagged with its severity for a `SyslogSink` (see `SyslogPayload`).
    public func syslogPayload(_ alert: Alert) -> [UInt8] {
        SyslogPayload.tagged(format(alert), severity: alert.rule.level)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (times before 1970 keep a positive fraction).
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
