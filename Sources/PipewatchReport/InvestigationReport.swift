/// How much of a run the report shows in detail; beyond these it counts. `maxPageBytes` is a hard bound of the
/// page's size, whatever the number of alerts or the size of their fields.
public struct ReportLimits: Sendable {
    /// Alerts listed one by one with their evidence (the first ones read); every alert is counted.
    public var detailedAlerts = 2_000
    /// Pretty-printed evidence per alert, and for all alerts together (HTML-escaped bytes).
    public var evidenceBytesPerAlert = 24 << 10
    public var evidenceBytesInAll = 12 << 20
    /// Entities tracked per kind (later ones are counted together), and those given a section of their own.
    public var entitiesPerKind = 10_000
    public var entitySections = 30
    /// Alerts listed in one entity's section.
    public var alertsPerEntity = 100
    /// Rules tracked (later ones are counted together).
    public var rules = 2_000
    /// Hours with alerts tracked, and shown in the table.
    public var hours = 50_000
    public var hourRows = 168
    /// Detector charts, and points per chart.
    public var charts = 12
    public var chartPoints = 400
    /// The page never grows past this: the sections that list (rules, entities, detectors, alerts in detail) stop
    /// adding rows, and say so, once their share is spent; the alerts in detail have what the others left.
    public var maxPageBytes = 32_000_000

    public init() {}

    /// Values (names, titles, entity values) are cut to this many characters where they are shown.
    static let maxTextLength = 300
}

/// What the report says about how the alerts came to be: filled by `pipewatch replay`, or only the input file
/// for `pipewatch report`.
public struct ReportScope: Sendable {
    /// The command line that made the alerts or the report.
    public var command: String
    public var inputs: [String]
    /// Rules loaded (replay); nil when the alerts come from a file.
    public var ruleCount: Int?
    public var records: Int?
    public var badRecords: Int?
    public var lateRecords: Int?
    /// Events per source (replay).
    public var eventsBySource: [(source: String, events: Int)] = []
    /// Events per source over event time (replay), series in the order of `activitySources`. Nil: activity is
    /// drawn from the alerts themselves, and the page says so.
    public var activity: TimeHistogram?
    public var activitySources: [String] = []
    /// Lines of the alerts file that were not OCSF Detection Findings (`pipewatch report`).
    public var unreadableLines = 0

    public init(command: String, inputs: [String]) {
        self.command = command
        self.inputs = inputs
    }
}

/// Collects alerts (OCSF Detection Findings, as JSON) into what the investigation report shows: counts by
/// severity, rule, entity and hour for every alert, the first `limits.detailedAlerts` in detail, and the detector
/// evidence the charts need. Memory and the page stay bounded by `limits`.
public final class InvestigationReport {
    public let limits: ReportLimits
    public var scope: ReportScope
    private let reader = FindingReader()

    public private(set) var alertCount = 0
    var bySeverity = [Int](repeating: 0, count: 7)
    var rules: [String: RuleTally] = [:]
    var ruleOrder: [String] = []
    var otherRules = 0
    var entities = [[String: EntityTally]](repeating: [:], count: EntityKind.allCases.count)
    var otherEntities = [Int](repeating: 0, count: EntityKind.allCases.count)
    var hours: [Int64: [Int]] = [:]
    var otherHours = 0
    /// Alerts over time by severity.
    var timeline = TimeHistogram(seriesCount: 7)
    /// Alerts over time by source (the activity shown when the report has no events).
    var alertSources: [String] = []
    var alertsBySource = TimeHistogram(seriesCount: InvestigationReport.maxAlertSources + 1)
    var detailed: [ReportedAlert] = []
    var evidenceBytes = 0
    var evidenceLeftOut = 0
    var volumeCharts: [String: VolumeSeries] = [:]
    var volumeOrder: [String] = []
    var newValueCharts: [String: NewValueSeries] = [:]
    var newValueOrder: [String] = []

    static let maxAlertSources = 8

    struct RuleTally {
        var title: String
        var severity: Int
        var count = 0
        var first = Int64.max
        var last = Int64.min
        var attacks: [String]
        var sources: Set<String> = []
    }

    struct EntityTally {
        var count = 0
        var first = Int64.max
        var last = Int64.min
        var bySeverity = [Int](repeating: 0, count: 7)
        var rules: [String: Int] = [:]
        /// Indices into `detailed`, in reading order.
        var alerts: [Int] = []
    }

    struct VolumePoint {
        var time: Int64
        var value: Double
        var mean: Double
        var sigma: Double
        var threshold: Double
        var uid: String
    }

    struct VolumeSeries {
        var rule: String
        var title: String
        var group: String
        var points: [VolumePoint] = []
        var leftOut = 0
    }

    struct Sighting {
        var time: Int64
        var group: String
        var value: String
        var uid: String
    }

    struct NewValueSeries {
        var rule: String
        var title: String
        var fields: [String]
        var sightings: [Sighting] = []
        var leftOut = 0
    }

    public init(scope: ReportScope, limits: ReportLimits = ReportLimits()) {
        self.scope = scope
        self.limits = limits
    }

    public struct UnreadableAlert: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Adds one alert, the JSON text of an OCSF Detection Finding.
    public func add(_ json: UnsafeBufferPointer<UInt8>) throws(UnreadableAlert) {
        let detail = detailed.count < limits.detailedAlerts
        let room = min(limits.evidenceBytesPerAlert, limits.evidenceBytesInAll - evidenceBytes)
        var alert: ReportedAlert
        do throws(FindingReader.Problem) {
            alert = try reader.read(json, evidenceLimit: detail && room > 0 ? room : nil)
        } catch {
            throw UnreadableAlert(description: error.description)
        }
        count(alert)
        guard detail else { return }
        // Evidence cut or left out because the budget for all alerts ran out (not by the per-alert limit).
        if let evidence = alert.evidence {
            evidenceBytes += evidence.utf8.count
            if room < limits.evidenceBytesPerAlert && alert.evidenceTruncated { evidenceLeftOut += 1 }
        } else if room <= 0 {
            evidenceLeftOut += 1
        }
        let index = detailed.count
        detailed.append(alert)
        for (kind, value) in alert.entities {
            entities[kind.rawValue][value]?.alerts.append(index)
        }
    }

    public func add(json: [UInt8]) throws(UnreadableAlert) {
        do {
            try json.withUnsafeBufferPointer { (buffer) throws(UnreadableAlert) in try add(buffer) }
        }
    }

    private func count(_ alert: ReportedAlert) {
        alertCount += 1
        bySeverity[alert.severity] += 1
        if rules[alert.ruleID] == nil {
            if rules.count < limits.rules {
                rules[alert.ruleID] = RuleTally(title: alert.ruleTitle, severity: alert.severity, attacks: alert.attacks)
                ruleOrder.append(alert.ruleID)
            } else {
                otherRules += 1
            }
        }
        if var tally = rules[alert.ruleID] {
            rules[alert.ruleID] = nil  // updated in place without a copy of its set
            tally.count += 1
            tally.first = min(tally.first, alert.time)
            tally.last = max(tally.last, alert.time)
            tally.severity = max(tally.severity, alert.severity)
            if tally.sources.count < 8 { tally.sources.insert(alert.source) }
            rules[alert.ruleID] = tally
        }
        for (kind, value) in alert.entities {
            if entities[kind.rawValue][value] == nil {
                guard entities[kind.rawValue].count < limits.entitiesPerKind else {
                    otherEntities[kind.rawValue] += 1
                    continue
                }
                entities[kind.rawValue][value] = EntityTally()
            }
            entities[kind.rawValue][value]!.count += 1
            entities[kind.rawValue][value]!.first = min(entities[kind.rawValue][value]!.first, alert.time)
            entities[kind.rawValue][value]!.last = max(entities[kind.rawValue][value]!.last, alert.time)
            entities[kind.rawValue][value]!.bySeverity[alert.severity] += 1
            if entities[kind.rawValue][value]!.rules[alert.ruleID] != nil || entities[kind.rawValue][value]!.rules.count < 50 {
                entities[kind.rawValue][value]!.rules[alert.ruleID, default: 0] += 1
            }
        }
        let hour = TimeHistogram.floorDivide(alert.time, 3_600_000)
        if hours[hour] != nil || hours.count < limits.hours {
            hours[hour, default: [Int](repeating: 0, count: 7)][alert.severity] += 1
        } else {
            otherHours += 1
        }
        timeline.add(alert.time, series: alert.severity)
        alertsBySource.add(alert.time, series: sourceIndex(alert.source))
        if let detector = alert.detector { chart(detector, of: alert) }
    }

    private func sourceIndex(_ source: String) -> Int {
        if let index = alertSources.firstIndex(of: source) { return index }
        guard alertSources.count < Self.maxAlertSources else { return Self.maxAlertSources }
        alertSources.append(source)
        return alertSources.count - 1
    }

    /// Volume findings become points against their baseline band, new values sightings, one chart per rule (and
    /// group, for volumes).
    private func chart(_ detector: DetectorEvidence, of alert: ReportedAlert) {
        if detector.type == "volume", let value = detector.value, let mean = detector.mean, let sigma = detector.sigma {
            let key = alert.ruleID + "\u{0}" + detector.group
            if volumeCharts[key] == nil {
                guard volumeCharts.count < limits.charts else { return }
                volumeCharts[key] = VolumeSeries(rule: alert.ruleID, title: alert.ruleTitle, group: detector.group)
                volumeOrder.append(key)
            }
            guard volumeCharts[key]!.points.count < limits.chartPoints else {
                volumeCharts[key]!.leftOut += 1
                return
            }
            volumeCharts[key]!.points.append(VolumePoint(
                time: detector.windowEnd ?? alert.time, value: value, mean: mean, sigma: sigma,
                threshold: detector.threshold ?? 2, uid: alert.uid))
        } else if detector.type == "new_value", let value = detector.newValue {
            let key = alert.ruleID
            if newValueCharts[key] == nil {
                guard newValueCharts.count < limits.charts else { return }
                newValueCharts[key] = NewValueSeries(rule: alert.ruleID, title: alert.ruleTitle, fields: detector.fields)
                newValueOrder.append(key)
            }
            guard newValueCharts[key]!.sightings.count < limits.chartPoints else {
                newValueCharts[key]!.leftOut += 1
                return
            }
            newValueCharts[key]!.sightings.append(Sighting(time: alert.time, group: detector.group, value: value, uid: alert.uid))
        }
    }

    /// Every alert read was shown in detail.
    var isComplete: Bool { detailed.count == alertCount }
}
