import Foundation
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Building the operators and their feeds from a rule set, and naming them for snapshots.
extension DetectorStage {
    func feedIndex(_ reference: RuleReference) -> Int {
        switch reference {
        case .rule(let index): return index
        case .correlation(let index): return ruleSet.rules.count + index
        }
    }

    func build() {
        let correlations = ruleSet.correlations
        let detectors = ruleSet.detectors
        // Who reads each rule and correlation, and whether any reader asks for `generate`.
        var ruleReaders = [[Bool]](repeating: [], count: ruleSet.rules.count)
        var correlationReaders = [[Bool]](repeating: [], count: correlations.count)
        for (inputs, generate) in correlations.map({ ($0.inputs, $0.generate) }) + detectors.map({ ($0.inputs, $0.generate) }) {
            for input in inputs {
                switch input {
                case .rule(let r): ruleReaders[r].append(generate)
                case .correlation(let c): correlationReaders[c].append(generate)
                }
            }
        }
        // Correlations inner first.
        var order: [Int] = []
        var state = [UInt8](repeating: 0, count: correlations.count)
        func visit(_ c: Int) {
            guard state[c] == 0 else { return }
            state[c] = 1
            for case .correlation(let inner) in correlations[c].inputs { visit(inner) }
            state[c] = 2
            order.append(c)
        }
        for c in correlations.indices { visit(c) }

        // Operators and what they read.
        var opInputs: [[(feed: Int, group: [String], values: [String])]] = []
        var derivedOf: [Int: Int] = [:]  // operator → correlation index
        for c in order {
            let rule = correlations[c]
            let op = makeCorrelation(rule, index: operators.count)
            op.alerts = correlationReaders[c].isEmpty || correlationReaders[c].contains(true)
            if !correlationReaders[c].isEmpty {
                op.derivedFeed = Int32(ruleSet.rules.count + c)
                derivedOf[op.index] = c
            }
            op.defaultSource = defaultSource(rule.inputs)
            operators.append(op)
            opInputs.append(rule.inputs.indices.map { k in
                (feedIndex(rule.inputs[k]), rule.groupBy.map { rule.field($0, forInput: k) }, rule.fields.map { rule.field($0, forInput: k) })
            })
        }
        for detector in detectors {
            let op = makeDetector(detector, index: operators.count)
            op.defaultSource = defaultSource(detector.inputs)
            operators.append(op)
            opInputs.append(detector.inputs.map { (feedIndex($0), detector.groupBy, detector.fields) })
        }
        for r in ruleSet.rules.indices {
            let readers = ruleReaders[r]
            let alone = readers.isEmpty || readers.contains(true)
            consumed[r] = !readers.isEmpty
            plainAlerts[r] = alone
            if alone, let tuning = ruleSet.ruleTuning[r] {
                let rule = ruleSet.rules[r]
                let gate = Gate(tuning: tuning, defaultLearning: 0, persistWindow: tuning.window ?? 3_600_000, ownLearning: false)
                let op = TunedRule(parameters: .init(
                    index: operators.count, kind: "rule", reference: rule.reference, title: rule.title,
                    alertRule: DetectorStage.alertRule(rule), groupBy: tuning.groupBy, gate: gate))
                op.defaultSource = rule.sources.first ?? .cloudTrail
                operators.append(op)
                opInputs.append([(r, tuning.groupBy, [])])
                plainAlerts[r] = false
                consumed[r] = true
            }
        }

        // The names each feed must carry: what its readers read, and for a correlation's derived feed, what the
        // readers above it read beyond its group-by (taken from the record that completed the match).
        var needs = [[String]](repeating: [], count: feeds.count)
        func need(_ feed: Int, _ name: String) {
            if !needs[feed].contains(name) { needs[feed].append(name) }
        }
        for opIndex in operators.indices.reversed() {
            let op = operators[opIndex]
            if let c = derivedOf[opIndex] {
                let feed = ruleSet.rules.count + c
                let rule = correlations[c]
                let extras = needs[feed].filter { !rule.groupBy.contains($0) }
                needs[feed] = rule.groupBy + extras
                for k in rule.inputs.indices {
                    for extra in extras { need(opInputs[opIndex][k].feed, rule.field(extra, forInput: k)) }
                }
            }
            for input in opInputs[opIndex] {
                for name in input.group + input.values { need(input.feed, name) }
            }
            _ = op
        }
        for feed in feeds.indices { feeds[feed].names = needs[feed] }
        for r in ruleSet.rules.indices where consumed[r] {
            let rule = ruleSet.rules[r]
            feeds[r].readers = needs[r].map {
                EventFieldReader(name: $0, logsource: rule.logsource, mapping: ruleSet.options.fieldMapping)
            }
        }
        // Slots, consumers, evidence.
        for (opIndex, op) in operators.enumerated() {
            op.inputs = opInputs[opIndex].enumerated().map { k, input in
                let names = needs[input.feed]
                for name in input.group + input.values { precondition(names.contains(name)) }
                let consumer = (op: opIndex, input: k)
                if op.isAggregating {
                    feeds[input.feed].aggregating.append(consumer)
                } else {
                    feeds[input.feed].sequential.append(consumer)
                }
                return OperatorInput(
                    feed: Int32(input.feed), groupSlots: input.group.map { names.firstIndex(of: $0)! },
                    valueSlots: input.values.map { names.firstIndex(of: $0)! })
            }
            if let c = derivedOf[opIndex] {
                let rule = correlations[c]
                let extras = needs[ruleSet.rules.count + c].filter { !rule.groupBy.contains($0) }
                extraSlots[opIndex] = rule.inputs.indices.map { k in
                    let names = needs[opInputs[opIndex][k].feed]
                    return extras.map { names.firstIndex(of: rule.field($0, forInput: k))! }
                }
                if op is WindowedCorrelation { closingChains.append(op) }
            }
            if op.isAggregating { aggregators.append(op) }
        }
        for feed in feeds.indices {
            feeds[feed].evidence = feeds[feed].sequential.contains { operators[$0.op].needsEvidence(input: $0.input) }
        }
    }

    func defaultSource(_ inputs: [RuleReference]) -> EventSource {
        for input in inputs {
            switch input {
            case .rule(let r): if let source = ruleSet.rules[r].sources.first { return source }
            case .correlation(let c): return defaultSource(ruleSet.correlations[c].inputs)
            }
        }
        return .cloudTrail
    }

    func makeCorrelation(_ rule: CorrelationRule, index: Int) -> DetectorOperator {
        let gate = Gate(tuning: rule.tuning, defaultLearning: 0, persistWindow: rule.tuning.window ?? rule.timespan, ownLearning: false)
        let base = DetectorOperator.Parameters(
            index: index, kind: rule.type.rawValue, reference: rule.info.reference, title: rule.info.title,
            alertRule: DetectorStage.alertRule(rule.info), groupBy: rule.groupBy, gate: gate)
        let condition = rule.condition ?? ThresholdCondition(gte: Double(rule.inputs.count))
        switch rule.type {
        case .temporal, .temporalOrdered:
            return TemporalCorrelation(
                base: base, ordered: rule.type == .temporalOrdered, timespan: rule.timespan, condition: rule.condition,
                steps: rule.inputs.count, evidenceFromFirstStep: rule.evidenceFromFirstStep, prefixGroup: rule.prefixGroup)
        case .valueAvg:
            return SlidingValueSum(base: base, timespan: rule.timespan, condition: condition, average: true)
        case .valuePercentile:
            return WindowedCorrelation(base: base, type: rule.type, timespan: rule.timespan, condition: condition, signalCondition: rule.tuning.signalCondition)
        case .eventCount, .valueCount, .valueSum:
            guard condition.isLowerBoundOnly else {
                return WindowedCorrelation(base: base, type: rule.type, timespan: rule.timespan, condition: condition, signalCondition: rule.tuning.signalCondition)
            }
            switch rule.type {
            case .eventCount:
                return SlidingEventCount(base: base, timespan: rule.timespan, condition: condition, signalCondition: rule.tuning.signalCondition)
            case .valueCount:
                return SlidingValueCount(base: base, timespan: rule.timespan, condition: condition)
            default:
                return SlidingValueSum(base: base, timespan: rule.timespan, condition: condition, average: false)
            }
        }
    }

    func makeDetector(_ rule: DetectorRule, index: Int) -> DetectorOperator {
        let p = rule.parameters
        let learning: Int64
        switch rule.type {
        case .newValue: learning = rule.tuning.learning ?? 7 * 86_400_000
        case .outsideHours: learning = rule.tuning.learning ?? 14 * 86_400_000
        case .volume, .drift, .valueChange, .silence: learning = rule.tuning.learning ?? 0
        }
        let window = rule.tuning.window ?? (rule.type == .volume || rule.type == .drift ? p.bucket : 86_400_000)
        let gate = Gate(tuning: rule.tuning, defaultLearning: learning, persistWindow: window, ownLearning: ![.newValue, .valueChange, .silence].contains(rule.type))
        let base = DetectorOperator.Parameters(
            index: index, kind: rule.type.rawValue, reference: rule.info.reference, title: rule.info.title,
            alertRule: DetectorStage.alertRule(rule.info), groupBy: rule.groupBy, gate: gate)
        switch rule.type {
        case .volume: return VolumeDetector(base: base, parameters: p, sums: !rule.fields.isEmpty, learning: learning)
        case .drift: return DriftDetector(base: base, parameters: p, learning: learning)
        case .newValue: return NewValueDetector(base: base, parameters: p)
        case .outsideHours: return OutsideHoursDetector(base: base, parameters: p, learning: learning)
        case .valueChange: return ValueChangeDetector(base: base, parameters: p)
        case .silence: return SilenceDetector(base: base, parameters: p)
        }
    }

    func programFingerprint() -> UInt64 {
        var text = "pipewatch-detectors-2\n"
        for op in operators { text += signature(of: op) + "\n" }
        for k in savedFeeds { text += "\(feedOwners[k])|\(feeds[k].names)\n" }
        return Hash64.hash(text)
    }

    /// Stable names of the feeds, in feed order: `rule:<reference>` and `correlation:<reference>`, with `#2`, `#3`…
    /// on later ones of a reference already taken (references need not be unique).
    static func feedOwners(_ ruleSet: RuleSet) -> [String] {
        var taken: [String: Int] = [:]
        func owner(_ name: String) -> String {
            taken[name, default: 0] += 1
            let n = taken[name]!
            return n == 1 ? name : "\(name)#\(n)"
        }
        return ruleSet.rules.map { owner("rule:\($0.reference)") } + ruleSet.correlations.map { owner("correlation:\($0.info.reference)") }
    }

    /// What an operator's saved state means: its definition and what it reads (feeds by reference, with the fields
    /// of each). State restores only into an operator with the same signature.
    func signature(of op: DetectorOperator) -> String {
        let reads = op.inputs.map { input in
            let names = feeds[Int(input.feed)].names
            return "\(feedOwners[Int(input.feed)])\(input.groupSlots.map { names[$0] })\(input.valueSlots.map { names[$0] })"
        }
        return op.definition + "|reads " + reads.joined(separator: ",")
    }
}
