import Foundation
import PipewatchEvents
import PipewatchJSON

/// Sigma's levels and what they mean in each output format (one table, so every formatter agrees).
///
/// | level         | OCSF severity_id | CEF (0–10) | LEEF sev (1–10) | syslog (RFC 5424) |
/// |---------------|------------------|------------|-----------------|-------------------|
/// | informational | 1 Informational  | 1 (Low)    | 1               | 6 Informational   |
/// | low           | 2 Low            | 3 (Low)    | 3               | 5 Notice          |
/// | medium        | 3 Medium         | 5 (Medium) | 5               | 4 Warning         |
/// | high          | 4 High           | 8 (High)   | 8               | 3 Error           |
/// | critical      | 5 Critical       | 10 (Very-High) | 10          | 2 Critical        |
///
/// CEF bands are ArcSight's: 0–3 Low, 4–6 Medium, 7–8 High, 9–10 Very-High. LEEF has no 0. Syslog severity is
/// inverted (0 is the most severe). ECS `event.severity` reuses the CEF number.
public enum Severity: String, Sendable, CaseIterable {
    case informational, low, medium, high, critical

    public init(sigmaLevel: String?) {
        self = Severity(rawValue: (sigmaLevel ?? "").lowercased()) ?? .medium
    }

    /// OCSF `severity_id`: 1 Informational … 5 Critical.
    public var ocsfID: Int {
        switch self {
        case .informational: return 1
        case .low: return 2
        case .medium: return 3
        case .high: return 4
        case .critical: return 5
        }
    }

    /// OCSF `severity` caption.
    public var ocsfName: String {
        switch self {
        case .informational: return "Informational"
        case .low: return "Low"
        case .medium: return "Medium"
        case .high: return "High"
        case .critical: return "Critical"
        }
    }

    /// CEF header Severity, an integer 0–10.
    public var cefSeverity: Int {
        switch self {
        case .informational: return 1
        case .low: return 3
        case .medium: return 5
        case .high: return 8
        case .critical: return 10
        }
    }

    /// LEEF `sev`, an integer 1–10 (0 is out of range).
    public var leefSeverity: Int { cefSeverity }

    /// RFC 5424 severity (the low three bits of PRI): 0 Emergency … 7 Debug.
    public var syslogSeverity: Int {
        switch self {
        case .informational: return 6
        case .low: return 5
        case .medium: return 4
        case .high: return 3
        case .critical: return 2
        }
    }
}

/// What an alert says about the rule that raised it.
public struct AlertRule: Sendable, Equatable {
    public var id: String
    public var title: String
    public var level: Severity
    public var description: String?
    public var tags: [String]
    public var references: [String]
    public var author: String?
    public var status: String?
    /// ATT&CK entries from the tags, made once per rule rather than once per alert.
    let attacks: [AttackEntry]

    public init(
        id: String, title: String, level: Severity, description: String? = nil, tags: [String] = [],
        references: [String] = [], author: String? = nil, status: String? = nil
    ) {
        self.id = id
        self.title = title
        self.level = level
        self.description = description
        self.tags = tags
        self.references = references
        self.author = author
        self.status = status
        attacks = AttackEntry.entries(forTags: tags)
    }

    public static func == (a: AlertRule, b: AlertRule) -> Bool {
        a.id == b.id && a.title == b.title && a.level == b.level && a.description == b.description && a.tags == b.tags
            && a.references == b.references && a.author == b.author && a.status == b.status
    }
}

/// One detection: a rule matched an event. It owns copies of everything it needs, so it outlives the batch the
/// event came from (sinks may hold it until the SIEM acknowledges it).
public struct Alert: Sendable {
    public var rule: AlertRule
    /// Deterministic: the same rule on the same event gives the same uid, so a re-delivered alert (at-least-once)
    /// can be recognised downstream.
    public var uid: String
    /// Event time, milliseconds since the epoch; when the event had none (`timeAbsent`), the time the alert was made,
    /// since some formats require a time (OCSF `time`, ECS `@timestamp`).
    public var time: Int64
    /// The event had no time (`"time_absent": true` in its JSON): the formats say so, and those whose time is
    /// optional (CEF `rt`, LEEF `devTime`, Splunk HEC `time`) leave it out, so the SIEM takes its receipt time.
    public var timeAbsent: Bool
    public var source: EventSource
    public var outcome: Outcome
    /// The normalized fields, indexed by `EventField.rawValue` (nil where absent).
    public var fields: [String?]
    /// The normalized event as JSON (with `raw`, the original record), for evidence.
    public var eventJSON: [UInt8]

    public init(rule: AlertRule, view: EventView) {
        self.rule = rule
        let event = view.event
        timeAbsent = !event.hasTime
        time = timeAbsent ? Alert.now() : event.time
        source = event.source
        outcome = event.outcome
        fields = EventField.allCases.map { view.string($0) }
        var writer = JSONWriter(capacity: 2048)
        EventJSON.write(view, to: &writer, includeRaw: true)
        eventJSON = writer.bytes
        // Events without an id of their own are identified by their record's bytes.
        let eventIdentity = fields[EventField.uid.rawValue].map { Array($0.utf8) } ?? Array(view.document.rawBytes(view.record))
        uid = Alert.findingUID(ruleID: rule.id, source: source, eventIdentity: eventIdentity, isPreliminary: event.isPreliminary)
    }

    public subscript(field: EventField) -> String? { fields[field.rawValue] }

    /// Who or what the alert is about: the actor, else the source address, else the resource (empty if none).
    public var entity: String { self[.actorUser] ?? self[.srcIP] ?? self[.resourceName] ?? "" }

    /// `rule id|entity`: the Kafka message key, so one entity's alerts of one rule stay in order on one partition.
    public var partitionKey: [UInt8] { Array("\(rule.id)|\(entity)".utf8) }

    /// The wall clock in milliseconds since the epoch.
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A UUID-shaped id from two FNV-1a hashes over rule, source and event identity.
    static func findingUID(ruleID: String, source: EventSource, eventIdentity: [UInt8], isPreliminary: Bool) -> String {
        var low: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt64 = 0x8422_2325_cbf2_9ce4
        func mix(_ byte: UInt8) {
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ (high >> 29)
        }
        for byte in ruleID.utf8 { mix(byte) }
        mix(0)
        for byte in source.name.utf8 { mix(byte) }
        mix(isPreliminary ? 1 : 2)
        for byte in eventIdentity { mix(byte) }
        let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
