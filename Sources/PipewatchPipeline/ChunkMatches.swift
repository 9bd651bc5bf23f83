import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules

/// What a worker thread needs to match chunks the way a `Detection` does: the compiled rules and, per rule,
/// whether a match is an alert of its own and whether the detector stage reads it. Read-only; every worker makes
/// its own evaluator from it (each evaluator keeps Hyperscan scratch space).
public struct MatchPlan: Sendable {
    let engine: RuleEngine
    let alertRules: [AlertRule]
    let plain: [Bool]
    let consumed: [Bool]
}

/// One chunk's rule matches, made on a worker thread: every (event, rule) pair in the order `Detection.evaluate`
/// meets them, and the stand-alone alerts among them, made already. Reused from chunk to chunk.
public final class ChunkMatches {
    /// Event index in the chunk of each match, ascending.
    var events: [Int32] = []
    /// Rule index of each match.
    var rules: [Int32] = []
    /// The alerts of the matches whose rule is plain, in match order.
    var alerts: [Alert] = []

    public init() {}

    /// Matches every event of the decoder's last chunk (one evaluator per thread).
    func match(_ decoder: EventDecoder, plan: MatchPlan, evaluator: RuleEvaluator) {
        events.removeAll(keepingCapacity: true)
        rules.removeAll(keepingCapacity: true)
        alerts.removeAll(keepingCapacity: true)
        decoder.forEachView { index, view in
            evaluator.forEachMatch(in: view) { rule in
                events.append(Int32(index))
                rules.append(Int32(rule.index))
                if plan.plain[rule.index] { alerts.append(Alert(rule: plan.alertRules[rule.index], view: view)) }
            }
        }
    }
}

extension Detection {
    /// What the worker threads need to match as this detection does.
    public var matchPlan: MatchPlan {
        MatchPlan(engine: ruleSet.engine, alertRules: alertRules, plain: plain, consumed: consumed)
    }

    /// `evaluate` with the matching done already (on a worker, `matches` of the decoder's last chunk): the same
    /// alerts in the same order, the same detector state.
    public func deliver(
        _ matches: ChunkMatches, of decoder: EventDecoder, skip: ((Int) -> Bool)? = nil, _ handle: (Alert) throws -> Void
    ) rethrows {
        var match = 0
        var alert = 0
        try decoder.forEachView { index, view in
            let skipped = skip?(index) == true
            if !skipped { detectors?.observe(time: view.event.time, source: view.event.source) }
            while match < matches.events.count && Int(matches.events[match]) == index {
                let rule = Int(matches.rules[match])
                match += 1
                if plain[rule] {
                    alert += 1
                    if !skipped {
                        alertsPerRule[rule] += 1
                        try handle(matches.alerts[alert - 1])
                    }
                }
                if consumed[rule] && !skipped { detectors?.ingest(view, rule: rule) }
            }
        }
        try advance(handle)
    }
}
