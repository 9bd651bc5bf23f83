import PipewatchEvents

/// What correlation and detector documents share with detection rules: their metadata.
public struct RuleInfo: Sendable {
    public let id: String?
    public let name: String?
    public let title: String
    public let status: RuleStatus?
    public let description: String?
    public let author: String?
    public let references: [String]
    public let tags: [String]
    public let falsepositives: [String]
    public let level: RuleLevel?
    /// The whole document as written.
    public let document: RuleValue
    public let file: String
    public let line: Int

    init(document node: YAMLNode, file: String) {
        let document = node.ruleValue
        self.document = document
        id = document["id"]?.string
        name = document["name"]?.string
        title = document["title"]?.string ?? ""
        status = document["status"]?.string.flatMap(RuleStatus.init(rawValue:))
        description = document["description"]?.string
        author = document["author"]?.string
        references = document["references"]?.strings ?? []
        tags = document["tags"]?.strings ?? []
        falsepositives = document["falsepositives"]?.strings ?? []
        level = document["level"]?.string.flatMap(RuleLevel.init(rawValue:))
        self.file = file
        line = node.line
    }

    /// What names the document in reports: its id, else its name, else its title.
    public var reference: String { id ?? name ?? title }
}

/// Durations as Sigma writes them: a number and a lowercase unit (`30s`, `5m`, `1h`, `7d`; Pipewatch adds `w`).
public enum DurationText {
    /// Milliseconds, or nil when the text is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let number = Int64(text.dropLast()), number >= 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        case "w": scale = 7 * 86_400_000
        default: return nil
        }
        let (result, overflow) = number.multipliedReportingOverflow(by: scale)
        return overflow ? nil : result
    }

    /// The shortest text for a duration in milliseconds (`90m` stays `90m`, `3600000` is `1h`).
    public static func text(_ milliseconds: Int64) -> String {
        for (unit, scale) in [("w", Int64(7 * 86_400_000)), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds % scale == 0 && milliseconds > 0 {
            return "\(milliseconds / scale)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}

/// A Sigma correlation condition: one comparison or a range (`gt: 100`, `lte: 200` together mean 101…200).
public struct ThresholdCondition: Sendable, Equatable, CustomStringConvertible {
    public var gt: Double?
    public var gte: Double?
    public var lt: Double?
    public var lte: Double?
    public var eq: Double?
    public var neq: Double?

    public init(gt: Double? = nil, gte: Double? = nil, lt: Double? = nil, lte: Double? = nil, eq: Double? = nil, neq: Double? = nil) {
        self.gt = gt
        self.gte = gte
        self.lt = lt
        self.lte = lte
        self.eq = eq
        self.neq = neq
    }

    public static let operators = ["gt", "gte", "lt", "lte", "eq", "neq"]

    public func holds(_ value: Double) -> Bool {
        if let gt, !(value > gt) { return false }
        if let gte, !(value >= gte) { return false }
        if let lt, !(value < lt) { return false }
        if let lte, !(value <= lte) { return false }
        if let eq, value != eq { return false }
        if let neq, value == neq { return false }
        return true
    }

    public var isEmpty: Bool { gt == nil && gte == nil && lt == nil && lte == nil && eq == nil && neq == nil }

    /// Whether only lower bounds are set (gt, gte): adding events can only make such a condition hold, so it can be
    /// judged as events arrive. Any other condition needs the complete window.
    public var isLowerBoundOnly: Bool { lt == nil && lte == nil && eq == nil && neq == nil && !isEmpty }

    /// The smallest whole count that satisfies the lower bounds (`gte: 10` → 10, `gt: 10` → 11).
    public var minimumCount: Int {
        var minimum = 1
        if let gte { minimum = max(minimum, Int(gte.rounded(.up))) }
        if let gt { minimum = max(minimum, Int(gt.rounded(.down)) + 1) }
        return minimum
    }

    public var description: String {
        var parts: [String] = []
        for (name, value) in [("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte), ("eq", eq), ("neq", neq)] {
            if let value { parts.append("\(name) \(ThresholdCondition.format(value))") }
        }
        return parts.joined(separator: " and ")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// The tuning controls of any rule, correlation or detector (the custom top-level key `tuning`).
public struct Tuning: Sendable, Equatable {
    /// Evaluate and record signals, never alert.
    public var observe = false
    /// Event time after which findings may alert: counted from the first event of the group for baseline
    /// detectors (volume, drift, outside_hours), from the first event of the rule for everything else. nil: the
    /// type's default (0, except new_value 7d and outside_hours 14d).
    public var learning: Int64?
    /// Alert only when `persist` of the last `persistOf` windows had a finding (3 of 3 = three consecutive windows).
    public var persist = 1
    public var persistOf = 1
    /// The window `persist` counts in, for rules without one of their own (correlations use `timespan`, bucketed
    /// detectors their `bucket`).
    public var window: Int64?
    /// One alert per group per period; what is suppressed is counted on the next alert.
    public var suppress: Int64?
    /// The group for `suppress` and `persist` of a single-event rule (correlations and detectors use their own).
    public var groupBy: [String] = []
    /// Correlations: a looser condition whose matches are recorded as signals (the condition itself alerts).
    public var signalCondition: ThresholdCondition?

    public init() {}

    /// Whether the block changes nothing.
    public var isNeutral: Bool { self == Tuning() }
}

/// Sigma correlation types.
public enum CorrelationType: String, Sendable, CaseIterable {
    case eventCount = "event_count"
    case valueCount = "value_count"
    case temporal
    case temporalOrdered = "temporal_ordered"
    case valueSum = "value_sum"
    case valueAvg = "value_avg"
    case valuePercentile = "value_percentile"

    /// Types whose condition names a `field`.
    public var needsField: Bool {
        switch self {
        case .valueCount, .valueSum, .valueAvg, .valuePercentile: return true
        case .eventCount, .temporal, .temporalOrdered: return false
        }
    }
}

/// What a correlation or detector reads: a detection rule, or another correlation's matches.
public enum RuleReference: Sendable, Equatable, Hashable {
    case rule(Int)
    case correlation(Int)
}

/// A Sigma correlation rule (`correlation:` document), with its references resolved.
public struct CorrelationRule: Sendable {
    /// Position in `RuleSet.correlations`.
    public let index: Int
    public let info: RuleInfo
    public let type: CorrelationType
    /// The `rules` entries as written (ids or names).
    public let ruleNames: [String]
    /// The same, resolved; parallel to `ruleNames`.
    public internal(set) var inputs: [RuleReference] = []
    public let groupBy: [String]
    public let timespan: Int64
    /// nil for temporal types without a condition (every rule must match).
    public let condition: ThresholdCondition?
    /// `condition.field`: one field, or several whose values form a tuple.
    public let fields: [String]
    /// `aliases`: alias → (rule name or id → field name).
    public let aliases: [String: [String: String]]
    /// Whether the referenced rules also alert on their own.
    public let generate: Bool
    public let tuning: Tuning
    /// temporal_ordered only (Pipewatch extension, top-level `evidence: first`): the alert shows the event of the
    /// first step instead of the one that completed the sequence, so the later steps' events are not kept while
    /// they wait for the watermark (for a last step that matches most events).
    public var evidenceFromFirstStep = false
    /// temporal_ordered only (Pipewatch extension, `group-by: [field|prefix]`): the position in `groupBy` of the field
    /// whose later-step values join the first step's value when equal to it or under it as a `/` path (an artifact
    /// written under the prefix a model was registered from). nil: every field joins on equal values.
    public var prefixGroup: Int?

    /// The field an input reads for `name` (an alias resolved for that input, or the name itself).
    public func field(_ name: String, forInput input: Int) -> String {
        guard let mapping = aliases[name] else { return name }
        return mapping[ruleNames[input]] ?? name
    }
}

/// Pipewatch's statistical detector types.
public enum DetectorType: String, Sendable, CaseIterable {
    case volume
    case newValue = "new_value"
    case drift
    case outsideHours = "outside_hours"
    case valueChange = "value_change"
    case silence
}

/// Parameters of a statistical detector; each type reads its own (defaults in `DetectorRule`'s documentation).
public struct DetectorParameters: Sendable, Equatable {
    public enum Baseline: String, Sendable, CaseIterable { case ewma, seasonal }
    public enum Direction: String, Sendable, CaseIterable { case up, down, both }
    public enum Metric: String, Sendable, CaseIterable { case psi, js }
    public enum Profile: String, Sendable, CaseIterable { case daily, weekly }
    public enum Change: String, Sendable, CaseIterable { case decrease, increase, change, revert }
    public enum Comparison: String, Sendable, CaseIterable { case auto, number, version }

    /// volume, drift: bucket length.
    public var bucket: Int64 = 3_600_000
    /// volume: the baseline model.
    public var baseline: Baseline = .ewma
    /// volume, drift: EWMA weight of a new bucket once warmed up (until then a plain mean).
    public var alpha = 0.1
    /// Alert threshold (volume: σ; drift: PSI or JS distance; outside_hours: the largest share of the entity's
    /// activity an hour-of-week may have and still count as unusual).
    public var threshold = 2.0
    /// Signal (detection) threshold; defaults to `threshold`.
    public var signalThreshold = 2.0
    /// volume: which side of the baseline fires.
    public var direction: Direction = .up
    /// volume: a floor for σ (default for counts: √mean, at least 1; for sums: 0).
    public var minSigma: Double?
    /// volume: baseline samples needed before judging (per hour-of-week slot when seasonal); drift: baseline buckets.
    public var minSamples = 8
    /// new_value: how long a value stays known.
    public var history: Int64 = 30 * 86_400_000
    /// new_value: values remembered per group (least recently seen evicted first).
    public var maxValues = 1000
    /// drift: the distance.
    public var metric: Metric = .psi
    /// drift: categories tracked per group (the rest pooled as one "other" category).
    public var maxCategories = 64
    /// drift: events a bucket needs to be judged.
    public var minCount = 50
    /// outside_hours: hours either side of the event's hour that count as the same time.
    public var tolerance = 1
    /// outside_hours: `daily` compares the hour of the day with the entity's activity at that hour on days of the
    /// same kind (weekdays or weekend days); `weekly` with that hour of that day of the week only (needs more history).
    public var profile: Profile = .daily
    /// outside_hours: events a profile needs before it judges.
    public var minEvents = 50
    /// outside_hours, seasonal volume: offset of local time from UTC, in minutes.
    public var utcOffsetMinutes = 0
    /// outside_hours: activity profile half-life.
    public var halfLife: Int64 = 28 * 86_400_000
    /// Groups silent this long are forgotten (volume, drift, outside_hours, value_change, silence).
    public var expire: Int64 = 35 * 86_400_000
    /// value_change: which change of the value fires.
    public var change: Change = .change
    /// value_change: how two values are ordered for `decrease` and `increase`.
    public var comparison: Comparison = .auto
    /// value_change: distinct previous values remembered per group (what `revert` can return to).
    public var historyValues = 10
    /// silence: how long a group that had events must have none (while event time moves on) to alert.
    public var after: Int64 = 3_600_000

    public init() {}
}

/// A statistical detector (`detector:` document).
public struct DetectorRule: Sendable {
    /// Position in `RuleSet.detectors`.
    public let index: Int
    public let info: RuleInfo
    public let type: DetectorType
    /// `detector.rules` as written.
    public let ruleNames: [String]
    /// The events it reads: the referenced rules, or the document's own `detection` (loaded as a rule).
    public internal(set) var inputs: [RuleReference] = []
    /// The rule loaded from the document's own `logsource` and `detection`, if it has them.
    public let inlineRule: Int?
    public let groupBy: [String]
    /// volume: a numeric field summed instead of counting; new_value: the value (several form a tuple);
    /// drift: the categorical field; value_change: the value compared with the group's previous ones.
    public let fields: [String]
    public let parameters: DetectorParameters
    public let generate: Bool
    public let tuning: Tuning
}
