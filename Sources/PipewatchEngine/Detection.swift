import PipewatchEvents
import PipewatchOutput
import PipewatchRules

/// The stateless half of detection: evaluates each event of a chunk against the compiled rules and turns every
/// match into an alert. One instance per thread (its evaluator keeps scratch space).
public final class Detection {
    public let ruleSet: RuleSet
    private let evaluator: RuleEvaluator
    /// What alerts say about each rule, made once per rule rather than once per alert.
    private let alertRules: [AlertRule]
    /// Alerts raised per rule (index = rule index).
    public private(set) var alertsPerRule: [Int]

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        evaluator = ruleSet.engine.makeEvaluator()
        alertRules = ruleSet.rules.map(Detection.alertRule)
        alertsPerRule = [Int](repeating: 0, count: ruleSet.rules.count)
    }

    /// Calls `handle` with an alert for every rule that matches an event of the decoder's last chunk.
    public func evaluate(_ decoder: EventDecoder, _ handle: (Alert) throws -> Void) rethrows {
        try decoder.forEachView { _, view in
            try evaluator.forEachMatch(in: view) { rule in
                alertsPerRule[rule.index] += 1
                try handle(Alert(rule: alertRules[rule.index], view: view))
            }
        }
    }

    public var totalAlerts: Int { alertsPerRule.reduce(0, +) }

    /// Summary lines: alerts per rule that fired, most first.
    public func summaryLines() -> [String] {
        var lines = ["alerts: \(totalAlerts)"]
        let fired = alertsPerRule.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
        for (index, count) in fired {
            let rule = ruleSet.rules[index]
            lines.append("  \(count)  \(rule.title) [\(rule.reference)]")
        }
        return lines
    }

    static func alertRule(_ rule: Rule) -> AlertRule {
        AlertRule(
            id: rule.reference, title: rule.title, level: Severity(sigmaLevel: rule.level?.rawValue),
            description: rule.description, tags: rule.tags, references: rule.references, author: rule.author,
            status: rule.status?.rawValue)
    }
}
