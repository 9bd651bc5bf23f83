import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules

/// Detection: evaluates each event of a chunk against the compiled rules, turns every match of a stand-alone rule
/// into an alert, and hands the matches that correlations, detectors and tuned rules read to the detector stage,
/// whose alerts follow in event time. One instance per thread (its evaluator keeps scratch space).
public final class Detection {
    public let ruleSet: RuleSet
    private let evaluator: RuleEvaluator
    /// What alerts say about each rule, made once per rule rather than once per alert.
    let alertRules: [AlertRule]
    /// Alerts raised per rule (index = rule index), stand-alone matches only.
    public internal(set) var alertsPerRule: [Int]
    /// The stateful stage (nil when the rules have no correlation, detector or tuning).
    public let detectors: DetectorStage?
    let plain: [Bool]
    let consumed: [Bool]
    /// Where the matches the detector stage consumes go instead of a stage of its own (a scaled-out daemon sends
    /// them to its repartition topic), with the rule and the event's index in the chunk; nil runs the stage here.
    private let forward: ((EventView, Int, Int) -> Void)?

    public init(
        ruleSet: RuleSet, detectorOptions: DetectorOptions = DetectorOptions(),
        forward: ((EventView, Int, Int) -> Void)? = nil
    ) {
        self.ruleSet = ruleSet
        evaluator = ruleSet.engine.makeEvaluator()
        alertRules = ruleSet.rules.map(Detection.alertRule)
        alertsPerRule = [Int](repeating: 0, count: ruleSet.rules.count)
        let stage = DetectorStage(ruleSet: ruleSet, options: detectorOptions)
        detectors = stage.isEmpty || forward != nil ? nil : stage
        self.forward = stage.isEmpty ? nil : forward
        plain = stage.plainAlerts
        consumed = stage.consumed
    }

    /// Calls `handle` with an alert for every stand-alone rule that matches an event of the decoder's last chunk,
    /// then with the alerts of the detector stage that the chunk's events let through the watermark. Events for
    /// which `skip` (given the event's index in the chunk) is true are left out, as when resuming mid-file; events
    /// for which `inState` is true are already part of the detector state (read again after a restart or a
    /// rebalance) and only run through the stand-alone rules.
    public func evaluate(
        _ decoder: EventDecoder, skip: ((Int) -> Bool)? = nil, inState: ((Int) -> Bool)? = nil,
        _ handle: (Alert) throws -> Void
    ) rethrows {
        try decoder.forEachView { index, view in
            if let skip, skip(index) { return }
            let held = inState?(index) == true
            let stage = held ? nil : detectors
            stage?.observe(time: view.event.time, source: view.event.source)
            try evaluator.forEachMatch(in: view) { rule in
                if plain[rule.index] {
                    alertsPerRule[rule.index] += 1
                    try handle(Alert(rule: alertRules[rule.index], view: view))
                }
                if consumed[rule.index] {
                    if let forward { if !held { forward(view, rule.index, index) } } else { stage?.ingest(view, rule: rule.index) }
                }
            }
        }
        guard let detectors else { return }
        detectors.advance()
        for alert in detectors.takeAlerts() { try handle(alert) }
    }

    /// Releases what the detector stage's watermark passed since the last batch (after sources were marked idle, or
    /// event time carried forward on a clock) and calls `handle` with the alerts.
    public func advance(_ handle: (Alert) throws -> Void) rethrows {
        guard let detectors else { return }
        detectors.advance()
        for alert in detectors.takeAlerts() { try handle(alert) }
    }

    /// The end of the input: the detector stage judges what the last events closed. Not called when the stream
    /// goes on in a later run (its state is saved instead).
    public func finish(_ handle: (Alert) throws -> Void) rethrows {
        guard let detectors else { return }
        detectors.finish()
        for alert in detectors.takeAlerts() { try handle(alert) }
    }

    public var totalAlerts: Int { alertsPerRule.reduce(0, +) + (detectors?.statistics.alerts ?? 0) }

    /// Summary lines: alerts per rule that fired, most first, then the detector stage's.
    public func summaryLines() -> [String] {
        var lines = ["alerts: \(totalAlerts)"]
        let fired = alertsPerRule.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
        for (index, count) in fired {
            let rule = ruleSet.rules[index]
            lines.append("  \(count)  \(rule.title) [\(rule.reference)]")
        }
        return lines + (detectors?.summaryLines() ?? [])
    }

    static func alertRule(_ rule: Rule) -> AlertRule {
        AlertRule(
            id: rule.reference, title: rule.title, level: Severity(sigmaLevel: rule.level?.rawValue),
            description: rule.description, tags: rule.tags, references: rule.references, author: rule.author,
            status: rule.status?.rawValue)
    }
}
