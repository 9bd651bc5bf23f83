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
    public var id: String { didSet { encode() } }
    public var title: String { didSet { encode() } }
    public var level: Severity { didSet { encode() } }
    public var description: String? { didSet { encode() } }
    public var tags: [String] { didSet { attacks = AttackEntry.entries(forTags: tags); encode() } }
    public var references: [String]
    public var author: String?
    public var status: String?
    /// ATT&CK entries from the tags, made once per rule rather than once per alert.
    private(set) var attacks: [AttackEntry]
    /// The finding's constant parts for this rule, encoded once per rule rather than once per alert.
    public private(set) var ocsf: OCSFDetectionFinding.RuleFragments

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
        ocsf = OCSFDetectionFinding.RuleFragments.empty
        encode()
    }

    private mutating func encode() { ocsf = OCSFDetectionFinding.RuleFragments(self) }

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
    /// The normalized fields (escapes decoded), read as bytes by the formatters.
    public var fieldValues: AlertFields
    /// The normalized fields as Strings, indexed by `EventField.rawValue` (nil where absent).
    public var fields: [String?] {
        get { fieldValues.strings }
        set { fieldValues = AlertFields(newValue) }
    }
    /// The normalized event as JSON (with `raw`, the original record), for evidence. Always compact (written by
    /// `JSONWriter`), so formatters copy it as it is.
    public var eventJSON: [UInt8]

    public init(rule: AlertRule, view: EventView) {
        self.rule = rule
        let event = view.eventPointer
        timeAbsent = !event.pointee.hasTime
        time = timeAbsent ? Alert.now() : event.pointee.time
        source = event.pointee.source
        outcome = event.pointee.outcome
        fieldValues = AlertFields(view: view)
        let record = view.document.rawBytes(view.record)
        var writer = JSONWriter(capacity: 1024 + record.count)
        EventJSON.write(view, to: &writer, includeRaw: true)
        eventJSON = writer.bytes
        // Events without an id of their own are identified by their record's bytes.
        let isPreliminary = event.pointee.isPreliminary
        let ruleID = rule.id
        let source = source
        uid = fieldValues.withBytes(.uid) {
            Alert.findingUID(ruleID: ruleID, source: source, eventIdentity: $0, isPreliminary: isPreliminary)
        } ?? Alert.findingUID(ruleID: ruleID, source: source, eventIdentity: record, isPreliminary: isPreliminary)
    }

    public subscript(field: EventField) -> String? { fieldValues[field] }

    /// Who or what the alert is about: the actor, else the source address, else the resource (empty if none).
    public var entity: String { self[.actorUser] ?? self[.srcIP] ?? self[.resourceName] ?? "" }

    /// `rule id|entity`: the Kafka message key, so one entity's alerts of one rule stay in order on one partition.
    public var partitionKey: [UInt8] { Array("\(rule.id)|\(entity)".utf8) }

    /// The wall clock in milliseconds since the epoch.
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A UUID-shaped id from two FNV-1a hashes over rule, source and event identity.
    static func findingUID(ruleID: String, source: EventSource, eventIdentity: [UInt8], isPreliminary: Bool) -> String {
        eventIdentity.withUnsafeBufferPointer {
            findingUID(ruleID: ruleID, source: source, eventIdentity: $0, isPreliminary: isPreliminary)
        }
    }

    static func findingUID(
        ruleID: String, source: EventSource, eventIdentity: UnsafeBufferPointer<UInt8>, isPreliminary: Bool
    ) -> String {
        var low: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt64 = 0x8422_2325_cbf2_9ce4
        @inline(__always) func mix(_ byte: UInt8) {
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ (high >> 29)
        }
        for byte in ruleID.utf8 { mix(byte) }
        mix(0)
        for byte in source.name.utf8 { mix(byte) }
        mix(isPreliminary ? 1 : 2)
        for byte in eventIdentity { mix(byte) }
        // 32 hex digits of high then low, dashed 8-4-4-4-12, written straight into the String's storage.
        return String(unsafeUninitializedCapacity: 36) { out in
            var k = 0
            func hex(_ word: UInt64) {
                var shift = 60
                while shift >= 0 {
                    if k == 8 || k == 13 || k == 18 || k == 23 {
                        out[k] = UInt8(ascii: "-")
                        k += 1
                    }
                    out[k] = JSONWriter.hexDigit(UInt8(truncatingIfNeeded: word >> UInt64(shift)) & 0xF)
                    k += 1
                    shift -= 4
                }
            }
            hex(high)
            hex(low)
            return 36
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
