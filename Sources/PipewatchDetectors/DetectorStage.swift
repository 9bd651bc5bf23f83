import Foundation
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// How the detector stage treats time.
public struct DetectorOptions: Sendable {
    /// How far behind the latest event time of its source a record may arrive and still be placed in order
    /// (milliseconds). Each source's watermark is its latest event time minus this; records are buffered and sorted
    /// up to the smallest watermark of the sources seen so far, so any arrival order within it gives the same alerts;
    /// a record older than its source's watermark is late and goes to the side output.
    public var allowedLateness: Int64
    /// Whether to keep each signal's JSON for `takeSignals()` (signals are always counted).
    public var collectSignals: Bool
    /// Sources the input is known to carry: until its first event, such a source holds the release back (as if its
    /// watermark were before everything), so that its records are not late for coming after the others'. Any other
    /// source holds nothing back before it is seen. None by default.
    public var expectedSources: Set<EventSource>

    public init(allowedLateness: Int64 = 300_000, collectSignals: Bool = false, expectedSources: Set<EventSource> = []) {
        self.allowedLateness = allowedLateness
        self.collectSignals = collectSignals
        self.expectedSources = expectedSources
    }
}

/// Counts of a detector stage's work.
public struct DetectorStatistics: Sendable {
    /// Matched events taken in (one per rule that matched and feeds a detector).
    public var records = 0
    public var lateRecords = 0
    public var recordsWithoutTime = 0
    public var alerts = 0
    public var signals: [SignalReason: Int] = [:]
    public var signalCount: Int { signals.values.reduce(0, +) }
}

/// The stateful half of detection: Sigma correlations, statistical detectors and tuned rules, in event time.
///
/// Feed it every event's time (`observe`) and each match of a rule it consumes (`ingest`); call `advance()` after
/// each batch and `finish()` at the end of the input; take alerts, signals and late records after each call.
/// Event time is kept per source (`EventSource`), as a stream processor keeps it per input: each source's watermark
/// is its latest event time − allowed lateness, and a record older than its own source's watermark is late. The
/// stage releases up to the smallest watermark of the sources seen so far (a source never seen holds nothing back):
/// matched events of correlations, new_value, outside_hours and tuned rules wait in a buffer until then, and run in
/// (time, content hash) order; volume and drift aggregate into buckets at once and judge each bucket when the release
/// passes its end. Either way the alerts do not depend on arrival order within the allowed lateness, nor, once each
/// source has been seen (or is one of `DetectorOptions.expectedSources`), on how the sources interleave. A source that goes quiet holds the release back (its last watermark stays the smallest) and
/// the buffer keeps the other sources' records until it moves again or `finish()` flushes everything; a source first
/// seen after the release passed its records has those records late. `snapshot(position:)` / `restore(_:)` save and
/// load all of it (buffered records and per-source times included) with the caller's input position;
/// `restoreCarryingOver(_:)` loads what still applies of a snapshot taken with other rules.
public final class DetectorStage {
    public let ruleSet: RuleSet
    public let options: DetectorOptions

    struct Feed {
        /// Field names whose values its records carry, in order.
        var names: [String] = []
        var readers: [EventFieldReader] = []
        var sequential: [(op: Int, input: Int)] = []
        var aggregating: [(op: Int, input: Int)] = []
        var evidence = false
    }

    var operators: [DetectorOperator] = []
    var feeds: [Feed] = []
    var feedNames: [[String]] { feeds.map(\.names) }
    /// For a correlation's derived feed: per input of the correlation, the slots of the extra (non group-by) names.
    private var extraSlots: [Int: [[Int]]] = [:]
    /// Correlations judged on complete windows whose matches feed others: advanced before each record, so their
    /// matches reach the correlations above them in order.
    private var closingChains: [DetectorOperator] = []
    private var aggregators: [DetectorOperator] = []
    /// Whether a rule's matches alert on their own, without the detector stage.
    public private(set) var plainAlerts: [Bool]
    /// Whether a rule's matches go to `ingest`.
    public private(set) var consumed: [Bool]
    private let factory: AlertFactory
    private var fingerprint: UInt64 = 0
    /// How snapshots name each feed: by its rule's or correlation's reference, since indices shift when rules are
    /// added or removed.
    private var feedOwners: [String] = []
    /// The feeds something reads (the only ones a record can belong to), in feed order: a snapshot's feed table.
    private var savedFeeds: [Int] = []
    /// Each feed's position in `savedFeeds`; -1 for a feed nothing reads.
    private var savedFeedPosition: [Int] = []
    /// While a snapshot is restored: per entry of its feed table, how many values its records carry and which feed
    /// of this stage it is (nil: none any more).
    private var restoringFeeds: [(valueCount: Int, feed: RestoredFeed?)] = []
    /// Each operator's state before any input, to start afresh an operator that a lenient restore finds no state for.
    private var freshStates: [[UInt8]] = []

    private var buffer = ReorderBuffer()
    /// The latest event time seen per source (index = `EventSource.rawValue`); `.min` for a source not seen.
    private var sourceTimes = [Int64](repeating: .min, count: EventSource.allCases.count)
    /// The latest event time seen, any source.
    public var maxTime: Int64 { sourceTimes.max() ?? .min }
    /// The latest event time seen of `source`; nil when none was seen.
    public func latestTime(of source: EventSource) -> Int64? {
        let time = sourceTimes[Int(source.rawValue)]
        return time == .min ? nil : time
    }
    /// The watermark of `source` (its latest event time − allowed lateness); nil when none was seen.
    public func watermark(of source: EventSource) -> Int64? {
        latestTime(of: source).map(lowered)
    }
    /// What `advance()` releases up to: the smallest watermark of the sources seen; nil when none was seen, or
    /// while one of the `expectedSources` was not.
    public var watermark: Int64? {
        var smallest: Int64?
        for source in options.expectedSources where sourceTimes[Int(source.rawValue)] == .min { return nil }
        for time in sourceTimes where time != .min {
            let mark = lowered(time)
            if smallest.map({ mark < $0 }) ?? true { smallest = mark }
        }
        return smallest
    }

    private func lowered(_ time: Int64) -> Int64 {
        let (mark, overflow) = time.subtractingReportingOverflow(options.allowedLateness)
        return overflow ? .min : mark
    }
    /// Records before this time have been released; one arriving now is late.
    public private(set) var released: Int64 = .min
    private var alerts: [Alert] = []
    private var signals: [Signal] = []
    private var late: [LateRecord] = []
    public private(set) var statistics = DetectorStatistics()
    /// Alerts per operator (correlation, detector or tuned rule), in operator order.
    public private(set) var alertsPerOperator: [Int] = []
    private var scratchValues: [String?] = []

    public init(ruleSet: RuleSet, options: DetectorOptions = DetectorOptions()) {
        self.ruleSet = ruleSet
        self.options = options
        let ruleCount = ruleSet.rules.count
        plainAlerts = [Bool](repeating: true, count: ruleCount)
        consumed = [Bool](repeating: false, count: ruleCount)
        factory = AlertFactory(baseRules: ruleSet.rules.map(DetectorStage.alertRule))
        feeds = [Feed](repeating: Feed(), count: ruleCount + ruleSet.correlations.count)
        build()
        feedOwners = DetectorStage.feedOwners(ruleSet)
        savedFeeds = feeds.indices.filter { !feeds[$0].sequential.isEmpty || !feeds[$0].aggregating.isEmpty }
        savedFeedPosition = [Int](repeating: -1, count: feeds.count)
        for (position, feed) in savedFeeds.enumerated() { savedFeedPosition[feed] = position }
        fingerprint = programFingerprint()
        alertsPerOperator = [Int](repeating: 0, count: operators.count)
        for op in operators { op.stage = self }
        freshStates = operators.map(state(of:))
    }

    /// Whether there is anything stateful to run.
    public var isEmpty: Bool { operators.isEmpty }
    public var operatorCount: Int { operators.count }
    /// Records waiting for the watermark.
    public var bufferedRecords: Int { buffer.count }
    /// Groups with state, over all operators.
    public var liveGroups: Int { operators.reduce(0) { $0 + $1.groups.count } }
    /// Approximate bytes of state over all operators.
    public var stateBytes: Int { operators.reduce(0) { $0 + $1.memoryBytes } }

    static func alertRule(_ rule: Rule) -> AlertRule {
        AlertRule(
            id: rule.reference, title: rule.title, level: Severity(sigmaLevel: rule.level?.rawValue),
            description: rule.description, tags: rule.tags, references: rule.references, author: rule.author,
            status: rule.status?.rawValue)
    }

    static func alertRule(_ info: RuleInfo) -> AlertRule {
        AlertRule(
            id: info.reference, title: info.title, level: Severity(sigmaLevel: info.level?.rawValue),
            description: info.description, tags: info.tags, references: info.references, author: info.author,
            status: info.status?.rawValue)
    }

    // MARK: Building

    private func feedIndex(_ reference: RuleReference) -> Int {
        switch reference {
        case .rule(let index): return index
        case .correlation(let index): return ruleSet.rules.count + index
        }
    }

    private func build() {
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

    private func defaultSource(_ inputs: [RuleReference]) -> EventSource {
        for input in inputs {
            switch input {
            case .rule(let r): if let source = ruleSet.rules[r].sources.first { return source }
            case .correlation(let c): return defaultSource(ruleSet.correlations[c].inputs)
            }
        }
        return .cloudTrail
    }

    private func makeCorrelation(_ rule: CorrelationRule, index: Int) -> DetectorOperator {
        let gate = Gate(tuning: rule.tuning, defaultLearning: 0, persistWindow: rule.tuning.window ?? rule.timespan, ownLearning: false)
        let base = DetectorOperator.Parameters(
            index: index, kind: rule.type.rawValue, reference: rule.info.reference, title: rule.info.title,
            alertRule: DetectorStage.alertRule(rule.info), groupBy: rule.groupBy, gate: gate)
        let condition = rule.condition ?? ThresholdCondition(gte: Double(rule.inputs.count))
        switch rule.type {
        case .temporal, .temporalOrdered:
            return TemporalCorrelation(
                base: base, ordered: rule.type == .temporalOrdered, timespan: rule.timespan, condition: rule.condition,
                steps: rule.inputs.count, evidenceFromFirstStep: rule.evidenceFromFirstStep)
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

    private func makeDetector(_ rule: DetectorRule, index: Int) -> DetectorOperator {
        let p = rule.parameters
        let learning: Int64
        switch rule.type {
        case .newValue: learning = rule.tuning.learning ?? 7 * 86_400_000
        case .outsideHours: learning = rule.tuning.learning ?? 14 * 86_400_000
        case .volume, .drift: learning = rule.tuning.learning ?? 0
        }
        let window = rule.tuning.window ?? (rule.type == .volume || rule.type == .drift ? p.bucket : 86_400_000)
        let gate = Gate(tuning: rule.tuning, defaultLearning: learning, persistWindow: window, ownLearning: rule.type != .newValue)
        let base = DetectorOperator.Parameters(
            index: index, kind: rule.type.rawValue, reference: rule.info.reference, title: rule.info.title,
            alertRule: DetectorStage.alertRule(rule.info), groupBy: rule.groupBy, gate: gate)
        switch rule.type {
        case .volume: return VolumeDetector(base: base, parameters: p, sums: !rule.fields.isEmpty, learning: learning)
        case .drift: return DriftDetector(base: base, parameters: p, learning: learning)
        case .newValue: return NewValueDetector(base: base, parameters: p)
        case .outsideHours: return OutsideHoursDetector(base: base, parameters: p, learning: learning)
        }
    }

    private func programFingerprint() -> UInt64 {
        var text = "pipewatch-detectors-2\n"
        for op in operators { text += signature(of: op) + "\n" }
        for k in savedFeeds { text += "\(feedOwners[k])|\(feeds[k].names)\n" }
        return Hash64.hash(text)
    }

    /// Stable names of the feeds, in feed order: `rule:<reference>` and `correlation:<reference>`, with `#2`, `#3`…
    /// on later ones of a reference already taken (references need not be unique).
    private static func feedOwners(_ ruleSet: RuleSet) -> [String] {
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
    private func signature(of op: DetectorOperator) -> String {
        let reads = op.inputs.map { input in
            let names = feeds[Int(input.feed)].names
            return "\(feedOwners[Int(input.feed)])\(input.groupSlots.map { names[$0] })\(input.valueSlots.map { names[$0] })"
        }
        return op.definition + "|reads " + reads.joined(separator: ",")
    }

    // MARK: Input

    /// Notes an event's time (every event, matched or not: each source's watermark follows its stream).
    @inline(__always)
    public func observe(time: Int64, source: EventSource) {
        let s = Int(source.rawValue)
        if time != Event.unknownTime && time > sourceTimes[s] { sourceTimes[s] = time }
    }

    /// Whether a record of `source` at `time` can no longer be placed in order, and the bound it missed: its source's
    /// watermark, or what was already released (for a source first seen after the others moved on, or after `finish`).
    private func lateness(time: Int64, source: Int) -> (bound: Int64, reason: String)? {
        let own = sourceTimes[source] == .min ? Int64.min : lowered(sourceTimes[source])
        if time < own { return (own, "older than the watermark") }
        if time < released { return (released, "older than the watermark (already released for the other sources)") }
        return nil
    }

    /// A match of rule `rule` (one it `consumed`) on an event.
    public func ingest(_ view: EventView, rule: Int) {
        let feed = feeds[rule]
        let time = view.event.time
        let source = Int(view.event.source.rawValue)
        statistics.records += 1
        guard time != Event.unknownTime else {
            statistics.recordsWithoutTime += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: nil, watermark: released, uid: view.string(.uid), reason: "no event time"))
            return
        }
        if time > sourceTimes[source] { sourceTimes[source] = time }
        var builder = FieldValues.Builder(count: feed.readers.count)
        for reader in feed.readers {
            if reader.withFirstText(in: view, { builder.append(bytes: UnsafeRawBufferPointer($0)) }) == nil { builder.appendAbsent() }
        }
        let values = builder.values
        for (op, input) in feed.aggregating where !operators[op].aggregate(values, time: time, input: input) {
            statistics.lateRecords += 1
            late.append(LateRecord(
                rule: ruleSet.rules[rule].reference, time: time, watermark: released, uid: view.string(.uid),
                reason: "its bucket of \(operators[op].reference) was already judged"))
        }
        guard !feed.sequential.isEmpty else { return }
        if let missed = lateness(time: time, source: source) {
            statistics.lateRecords += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: time, watermark: missed.bound, uid: view.string(.uid), reason: missed.reason))
            return
        }
        guard feed.evidence else {
            // Without evidence a record is its time and values: equal ones are interchangeable.
            let order = values.storage.withUnsafeBytes { Hash64.hash($0, seed: UInt64(bitPattern: time)) }
            buffer.push(Record(time: time, order: order, feed: Int32(rule), values: values, evidence: nil))
            return
        }
        let raw = view.document.rawBytes(view.record)
        let order = Hash64.hash(UnsafeRawBufferPointer(raw))
        buffer.push(Record(time: time, order: order, feed: Int32(rule), values: values, evidence: Evidence(rule: Int32(rule), bytes: Array(raw))))
    }

    /// The field names whose values a match of `rule` carries, in the order `ingest(rule:time:values:)` takes them.
    public func fieldNames(rule: Int) -> [String] { feeds[rule].names }

    /// A match of rule `rule` given by its field values (in `fieldNames(rule:)` order) rather than by an event: for
    /// inputs that are not normalized events, and benchmarks. No evidence is kept, so alerts carry the group only.
    /// Its time counts for `source`, by default the first source the rule reads.
    public func ingest(rule: Int, time: Int64, values strings: [String?], source: EventSource? = nil) {
        ingest(rule: rule, time: time, values: FieldValues(strings), source: source)
    }

    func ingest(rule: Int, time: Int64, values: FieldValues, source: EventSource? = nil) {
        statistics.records += 1
        let source = Int((source ?? ruleSet.rules[rule].sources.first ?? .cloudTrail).rawValue)
        if time > sourceTimes[source] { sourceTimes[source] = time }
        for (op, input) in feeds[rule].aggregating where !operators[op].aggregate(values, time: time, input: input) {
            statistics.lateRecords += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: time, watermark: released, uid: nil,
                                   reason: "its bucket of \(operators[op].reference) was already judged"))
        }
        guard !feeds[rule].sequential.isEmpty else { return }
        if let missed = lateness(time: time, source: source) {
            statistics.lateRecords += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: time, watermark: missed.bound, uid: nil, reason: missed.reason))
            return
        }
        let order = values.storage.withUnsafeBytes { Hash64.hash($0, seed: UInt64(bitPattern: time)) }
        buffer.push(Record(time: time, order: order, feed: Int32(rule), values: values, evidence: nil))
    }

    /// Releases what the smallest watermark of the sources seen has passed and judges what it closed. Call after
    /// each batch.
    public func advance() {
        // A source seen for the first time may lower the smallest watermark below what was released: nothing to do.
        guard let watermark, watermark > released else { return }
        run(to: watermark)
    }

    /// The end of the input: releases everything, whatever source lags, and judges every window and bucket that
    /// ended by the last event time of any source (later ones are incomplete and stay in the state). Records up to
    /// that time are late afterwards.
    public func finish() {
        let last = maxTime
        guard last != .min else { return }
        run(to: last == .max ? .max : last + 1)
    }

    private func run(to watermark: Int64) {
        while let first = buffer.firstTime, first < watermark {
            prefetchAhead()
            let record = buffer.pop()!
            for op in closingChains { op.advance(to: record.time) }
            dispatch(record, aggregated: true)
        }
        if watermark > released { released = watermark }
        for op in operators where !op.isAggregating { op.advance(to: watermark) }
        for op in aggregators {
            if let volume = op as? VolumeDetector { volume.closeBuckets(through: watermark) }
            if let drift = op as? DriftDetector { drift.closeBuckets(through: watermark) }
        }
    }

    /// Records wait long enough in the buffer for the cache to lose their values and their groups' state: starts
    /// loading the values of a record a few releases ahead, and the table slots of the groups of one nearer (whose
    /// values an earlier call loaded), so that these loads overlap with the work on the records before them.
    @inline(__always)
    private func prefetchAhead() {
        buffer.prefetchValues(ahead: 4)
        guard let (feed, values) = buffer.ahead(2) else { return }
        let f = Int(feed)
        for k in 0..<feeds[f].sequential.count {
            let (opIndex, input) = feeds[f].sequential[k]
            operators[opIndex].prefetchGroup(values, input: input)
        }
    }

    /// Runs a record through the operators reading its feed. A record of a rule's feed was `aggregated` when it was
    /// ingested (volume and drift count at once); a correlation's finding is aggregated here.
    private func dispatch(_ record: Record, aggregated: Bool) {
        let f = Int(record.feed)
        for k in 0..<feeds[f].sequential.count {
            let (opIndex, input) = feeds[f].sequential[k]
            let op = operators[opIndex]
            op.advance(to: record.time)
            op.gate.noteTime(record.time)
            op.process(record, input: input)
        }
        if aggregated || feeds[f].aggregating.isEmpty { return }
        for (opIndex, input) in feeds[f].aggregating where !operators[opIndex].aggregate(record.values, time: record.time, input: input) {
            statistics.lateRecords += 1
            late.append(LateRecord(
                rule: operators[opIndex].reference, time: record.time, watermark: released, uid: nil,
                reason: "its bucket of \(operators[opIndex].reference) was already judged"))
        }
    }

    /// A finding of an operator: judged by its tuning into an alert or a signal, and passed on to what reads it.
    func handle(_ finding: Finding, from op: DetectorOperator) {
        if op.alerts {
            switch op.gate.judge(finding) {
            case .alert(let suppressed):
                alerts.append(factory.make(finding, from: op, suppressed: suppressed))
                statistics.alerts += 1
                alertsPerOperator[op.index] += 1
            case .signal(let reason):
                statistics.signals[reason, default: 0] += 1
                if options.collectSignals { signals.append(factory.signal(finding, from: op, reason: reason)) }
            }
        }
        guard finding.alertLevel, let feed = op.derivedFeed else { return }
        var builder = FieldValues.Builder(count: feeds[Int(feed)].names.count)
        for value in finding.groupValues { builder.append(value) }
        if let trigger = finding.trigger, let slots = extraSlots[op.index],
            let k = op.inputs.firstIndex(where: { $0.feed == trigger.feed })
        {
            for slot in slots[k] { builder.append(trigger.values, slot) }
        } else {
            for _ in finding.groupValues.count..<feeds[Int(feed)].names.count { builder.appendAbsent() }
        }
        let values = builder.values
        let order = Hash64.mix(finding.identity ^ Hash64.hash(finding.groupKey) ^ UInt64(op.index) &* 0x9e37_79b9_7f4a_7c15)
        dispatch(Record(time: finding.time, order: order, feed: feed, values: values, evidence: finding.trigger?.evidence), aggregated: false)
    }

    // MARK: Output

    /// Alerts made since the last call.
    public func takeAlerts() -> [Alert] {
        defer { alerts.removeAll(keepingCapacity: true) }
        return alerts
    }

    /// Signals made since the last call (only with `collectSignals`).
    public func takeSignals() -> [Signal] {
        defer { signals.removeAll(keepingCapacity: true) }
        return signals
    }

    /// Late records (and records without a time) since the last call.
    public func takeLateRecords() -> [LateRecord] {
        defer { late.removeAll(keepingCapacity: true) }
        return late
    }

    /// Summary lines: what ran, alerts per correlation or detector, signals, late records, state.
    public func summaryLines() -> [String] {
        guard !operators.isEmpty else { return [] }
        let kinds = Dictionary(grouping: operators, by: \.kind).map { "\($0.value.count) \($0.key)" }.sorted()
        var lines = ["detectors: \(kinds.joined(separator: ", ")); \(statistics.records) matched events in, \(statistics.alerts) alerts"]
        for (index, count) in alertsPerOperator.enumerated().filter({ $0.element > 0 }).sorted(by: { $0.element > $1.element }) {
            lines.append("  \(count)  \(operators[index].title) [\(operators[index].reference)]")
        }
        let reasons = SignalReason.allCases.compactMap { reason in statistics.signals[reason].map { "\($0) \(reason.rawValue)" } }
        lines.append("signals: \(statistics.signalCount)" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))"))
        lines.append("late records: \(statistics.lateRecords), without time: \(statistics.recordsWithoutTime)")
        lines.append("detector state: \(liveGroups) groups, \(buffer.count) buffered records, ~\(stateBytes / 1024) KiB")
        return lines
    }

    // MARK: Snapshots

    static let magic = Array("PWDETECT".utf8)
    /// 3: records name their rule or correlation by reference, through a feed table (2 named it by index, which
    /// shifts when a rule is added or removed); 2: the latest event time per source (1 had one for the whole stream).
    static let version: UInt8 = 3

    /// A feed of the snapshot being restored, as this stage has it.
    struct RestoredFeed {
        var feed: Int
        /// Per field name of this stage's feed, its slot in the saved values (nil: not saved); nil when the names are
        /// the same.
        var slots: [Int?]?
    }

    /// A record as a snapshot has it: its feed and its evidence's rule as positions in the snapshot's feed table.
    private struct SavedRecord {
        var time: Int64
        var order: UInt64
        var feed: Int
        var values: [UInt8]
        var evidence: (rule: Int, bytes: [UInt8])?
    }

    private struct SavedOperator {
        var reference: String
        var signature: String
        var alerts: Int
        var state: [UInt8]
    }

    /// A snapshot read but not yet applied.
    private struct SavedStage {
        var fingerprint: UInt64
        var position: [UInt8]
        var sourceTimes: [Int64]
        var released: Int64
        var statistics: DetectorStatistics
        var feeds: [(owner: String, names: [String])]
        var records: [SavedRecord]
        var operators: [SavedOperator]
    }

    /// Writes a record, in a snapshot of this stage: the buffer's, or one kept in an operator's state.
    func writeRecord(_ record: Record, to w: inout SnapshotWriter) {
        w.i64(record.time)
        w.u64(record.order)
        w.count(savedFeedPosition[Int(record.feed)])
        w.data(record.values.storage)
        w.bool(record.evidence != nil)
        if let evidence = record.evidence {
            // The evidence's rule read the event, so it is in the feed table.
            w.count(savedFeedPosition[Int(evidence.rule)])
            w.data(evidence.bytes)
        }
    }

    private static func readSavedRecord(_ r: inout SnapshotReader, feeds: Int) throws(SnapshotError) -> SavedRecord {
        let time = try r.i64()
        let order = try r.u64()
        let feed = try r.count()
        guard feed < feeds else { throw SnapshotError("a record names an unknown feed") }
        let values = try r.data()
        var evidence: (rule: Int, bytes: [UInt8])?
        if try r.bool() {
            let rule = try r.count()
            guard rule < feeds else { throw SnapshotError("evidence names an unknown rule") }
            evidence = (rule, try r.data())
        }
        return SavedRecord(time: time, order: order, feed: feed, values: values, evidence: evidence)
    }

    /// A saved record as a record of this stage, its values laid out as its feed has them now; nil when its feed
    /// is gone. `whole`: nil also when a field the feed has now was not saved (a record yet to reach all the feed's
    /// readers); otherwise such fields are absent (a record in an operator's state, which reads only fields it had).
    /// Evidence whose rule is gone is left out.
    private func restored(_ saved: SavedRecord, whole: Bool) throws(SnapshotError) -> Record? {
        let (valueCount, target) = restoringFeeds[saved.feed]
        guard var values = FieldValues(storage: saved.values), values.count == valueCount else {
            throw SnapshotError("a record does not fit its feed")
        }
        guard let target else { return nil }
        if let slots = target.slots {
            if whole && slots.contains(nil) { return nil }
            var builder = FieldValues.Builder(count: slots.count)
            for slot in slots {
                if let slot { builder.append(values, slot) } else { builder.appendAbsent() }
            }
            values = builder.values
        }
        var evidence: Evidence?
        if let saved = saved.evidence, let rule = restoringFeeds[saved.rule].feed?.feed {
            guard rule < ruleSet.rules.count else { throw SnapshotError("evidence names a correlation as its rule") }
            evidence = Evidence(rule: Int32(rule), bytes: saved.bytes)
        }
        return Record(time: saved.time, order: saved.order, feed: Int32(target.feed), values: values, evidence: evidence)
    }

    /// Reads a record kept in an operator's state (while a snapshot is restored).
    func readRecord(_ r: inout SnapshotReader) throws(SnapshotError) -> Record {
        let saved = try DetectorStage.readSavedRecord(&r, feeds: restoringFeeds.count)
        // The operator's state is restored only if it reads the same feeds and fields, so its records fit.
        guard let record = try restored(saved, whole: false) else { throw SnapshotError("a record in a detector's state names a feed this stage does not read") }
        return record
    }

    /// The state of one operator, a self-contained section of a snapshot.
    private func state(of op: DetectorOperator) -> [UInt8] {
        var w = SnapshotWriter()
        w.i64(op.clock)
        op.gate.write(&w)
        op.write(&w)
        return w.bytes
    }

    private func load(_ state: [UInt8], into op: DetectorOperator) throws(SnapshotError) {
        var r = SnapshotReader(state)
        op.clock = try r.i64()
        try op.gate.read(&r)
        try op.read(&r)
        guard r.isAtEnd else { throw SnapshotError("the snapshot's state of \(op.reference) has trailing bytes") }
    }

    /// The whole state, with the input position it corresponds to (opaque bytes of the caller's choosing).
    /// Alerts, signals and late records not yet taken are not part of it: take them first.
    public func snapshot(position: [UInt8]) -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes += DetectorStage.magic
        w.u8(DetectorStage.version)
        w.u64(fingerprint)
        w.data(position)
        w.count(sourceTimes.count)
        for time in sourceTimes { w.i64(time) }
        w.i64(released)
        w.count(statistics.records)
        w.count(statistics.lateRecords)
        w.count(statistics.recordsWithoutTime)
        w.count(statistics.alerts)
        for reason in SignalReason.allCases { w.count(statistics.signals[reason] ?? 0) }
        w.count(savedFeeds.count)
        for feed in savedFeeds {
            w.string(feedOwners[feed])
            w.count(feeds[feed].names.count)
            for name in feeds[feed].names { w.string(name) }
        }
        let records = buffer.sortedRecords
        w.count(records.count)
        for record in records { writeRecord(record, to: &w) }
        w.count(operators.count)
        for op in operators {
            w.string(op.reference)
            w.string(signature(of: op))
            w.count(alertsPerOperator[op.index])
            w.data(state(of: op))
        }
        return w.bytes
    }

    private static func read(_ bytes: [UInt8]) throws(SnapshotError) -> SavedStage {
        var r = SnapshotReader(bytes)
        guard bytes.count > magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw SnapshotError("not a Pipewatch detector snapshot")
        }
        r.offset = magic.count
        let found = try r.u8()
        guard found == version else {
            switch found {
            case 1:
                throw SnapshotError(
                    "the snapshot keeps one event time for all sources (format 1) and this version keeps one per source (format \(version)); remove it to start from scratch")
            case 2:
                throw SnapshotError(
                    "the snapshot names the rules of its records by position (format 2), which adding or removing a rule shifts, and this version names them by reference (format \(version)); remove it to start from scratch")
            default:
                throw SnapshotError("the snapshot was written by another version of Pipewatch (format \(found), this one reads \(version))")
            }
        }
        let fingerprint = try r.u64()
        let position = try r.data()
        guard try r.count() == EventSource.allCases.count else { throw SnapshotError("the snapshot has another number of event sources") }
        var sourceTimes: [Int64] = []
        for _ in EventSource.allCases { sourceTimes.append(try r.i64()) }
        let released = try r.i64()
        var statistics = DetectorStatistics()
        statistics.records = try r.count()
        statistics.lateRecords = try r.count()
        statistics.recordsWithoutTime = try r.count()
        statistics.alerts = try r.count()
        for reason in SignalReason.allCases {
            let count = try r.count()
            if count > 0 { statistics.signals[reason] = count }
        }
        var feeds: [(owner: String, names: [String])] = []
        let feedCount = try r.count()
        for _ in 0..<feedCount {
            let owner = try r.string()
            let nameCount = try r.count()
            var names: [String] = []
            for _ in 0..<nameCount { names.append(try r.string()) }
            feeds.append((owner, names))
        }
        var records: [SavedRecord] = []
        let recordCount = try r.count()
        for _ in 0..<recordCount { records.append(try readSavedRecord(&r, feeds: feeds.count)) }
        var operators: [SavedOperator] = []
        let operatorCount = try r.count()
        for _ in 0..<operatorCount {
            operators.append(SavedOperator(reference: try r.string(), signature: try r.string(), alerts: try r.count(), state: try r.data()))
        }
        guard r.isAtEnd else { throw SnapshotError("the snapshot has trailing bytes") }
        return SavedStage(
            fingerprint: fingerprint, position: position, sourceTimes: sourceTimes, released: released, statistics: statistics,
            feeds: feeds, records: records, operators: operators)
    }

    /// The snapshot's feed table as this stage's feeds, by reference.
    private func feedTable(_ saved: SavedStage) -> [(valueCount: Int, feed: RestoredFeed?)] {
        let feedByOwner = Dictionary(zip(feedOwners, feeds.indices), uniquingKeysWith: { first, _ in first })
        return saved.feeds.map { (owner, names) -> (valueCount: Int, feed: RestoredFeed?) in
            guard let feed = feedByOwner[owner], savedFeedPosition[feed] >= 0 else { return (names.count, nil) }
            let current = feeds[feed].names
            return (names.count, RestoredFeed(feed: feed, slots: current == names ? nil : current.map { names.firstIndex(of: $0) }))
        }
    }

    /// Times, counters and the feed table records are read through; outputs not taken are dropped.
    private func restoreCommon(_ saved: SavedStage, feedTable: [(valueCount: Int, feed: RestoredFeed?)]) {
        sourceTimes = saved.sourceTimes
        released = saved.released
        statistics = saved.statistics
        restoringFeeds = feedTable
        buffer.removeAll()
        alerts.removeAll()
        signals.removeAll()
        late.removeAll()
    }

    /// Loads a snapshot made by a stage with the same correlations, detectors and tuned rules (other rules may have
    /// been added or removed); returns its input position. Anything else is refused: replay must give the alerts of
    /// an uninterrupted run.
    @discardableResult
    public func restore(_ bytes: [UInt8]) throws(SnapshotError) -> [UInt8] {
        let saved = try DetectorStage.read(bytes)
        guard saved.fingerprint == fingerprint else {
            throw SnapshotError("the snapshot was taken with other correlations, detectors or tuned rules; remove it to start from scratch")
        }
        guard saved.operators.count == operators.count else { throw SnapshotError("the snapshot has another number of detectors") }
        for (op, savedOp) in zip(operators, saved.operators) where savedOp.signature != signature(of: op) {
            throw SnapshotError("the snapshot's \(op.reference) is defined differently")
        }
        let table = feedTable(saved)
        for (entry, mapping) in zip(saved.feeds, table) where mapping.feed == nil || mapping.feed?.slots != nil {
            throw SnapshotError("the snapshot's records of \(entry.owner) do not fit these rules")
        }
        restoreCommon(saved, feedTable: table)
        defer { restoringFeeds = [] }
        for savedRecord in saved.records {
            guard let record = try restored(savedRecord, whole: true) else { throw SnapshotError("a buffered record names a feed this stage does not read") }
            buffer.push(record)
        }
        for (op, savedOp) in zip(operators, saved.operators) {
            try load(savedOp.state, into: op)
            alertsPerOperator[op.index] = savedOp.alerts
        }
        return saved.position
    }

    /// Loads what still applies of a snapshot taken with other rules (a rule reload, or a start with edited rules):
    /// each correlation, detector or tuned rule whose signature (definition and what it reads) is in the snapshot
    /// gets its state back, the others start fresh; records waiting for the watermark are kept when their rule or
    /// correlation is still read and carries every field read now, dropped otherwise. Times and stage-wide counters
    /// are restored; alert counts per operator follow the state, or the reference for a changed operator. Returns
    /// the input position and what was carried over. Unlike `restore(_:)`, the alerts that follow need not be those
    /// of an uninterrupted run, so replay does not use it.
    public func restoreCarryingOver(_ bytes: [UInt8]) throws(SnapshotError) -> (position: [UInt8], report: CarryOverReport) {
        let saved = try DetectorStage.read(bytes)
        restoreCommon(saved, feedTable: feedTable(saved))
        defer { restoringFeeds = [] }
        var report = CarryOverReport()
        for savedRecord in saved.records {
            if let record = try restored(savedRecord, whole: true), !feeds[Int(record.feed)].sequential.isEmpty {
                buffer.push(record)
                report.keptRecords += 1
            } else {
                report.droppedRecords += 1
            }
        }
        var savedBySignature: [String: [Int]] = [:]
        for (k, savedOp) in saved.operators.enumerated() { savedBySignature[savedOp.signature, default: []].append(k) }
        var unmatched = Set(saved.operators.indices)
        var fresh: [DetectorOperator] = []
        for op in operators {
            let signature = signature(of: op)
            if let k = savedBySignature[signature]?.first {
                savedBySignature[signature]!.removeFirst()
                unmatched.remove(k)
                try load(saved.operators[k].state, into: op)
                alertsPerOperator[op.index] = saved.operators[k].alerts
                report.carriedOver.append(op.reference)
            } else {
                fresh.append(op)
            }
        }
        let left = unmatched.sorted().map { saved.operators[$0] }
        for op in fresh {
            try load(freshStates[op.index], into: op)
            let before = left.first { $0.reference == op.reference }
            alertsPerOperator[op.index] = before?.alerts ?? 0
            report.startedFresh.append(op.reference)
            if before != nil { report.changed.append(op.reference) }
        }
        report.removed = left.map(\.reference).filter { !report.changed.contains($0) }
        return (saved.position, report)
    }

    /// Writes a snapshot to `path` atomically (temporary file, fsync, rename).
    public func save(to path: String, position: [UInt8]) throws {
        try AtomicFile.write(snapshot(position: position), to: path)
    }

    /// Restores from `path`; nil when there is no such file (a first run), the input position otherwise.
    public func restore(from path: String) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try restore([UInt8](data))
    }

    /// `restoreCarryingOver(_:)` from `path`; nil when there is no such file (a first run).
    public func restoreCarryingOver(from path: String) throws -> (position: [UInt8], report: CarryOverReport)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try restoreCarryingOver([UInt8](data))
    }
}

/// What `DetectorStage.restoreCarryingOver(_:)` kept of a snapshot. Operators (correlations, detectors, tuned rules)
/// are named by reference. Its description is one line for the log:
/// `detector state: 5 carried over, 1 started fresh (changed: burst), 3 buffered records dropped`.
public struct CarryOverReport: Sendable, Equatable, CustomStringConvertible {
    /// Operators whose state was restored.
    public var carriedOver: [String] = []
    /// Operators the snapshot had no state for, which start fresh: new ones, and the `changed` ones.
    public var startedFresh: [String] = []
    /// Of `startedFresh`, those the snapshot had under the same reference but defined or reading differently.
    public var changed: [String] = []
    /// Operators of the snapshot that are no longer there: their state is gone.
    public var removed: [String] = []
    /// Records waiting for the watermark that were kept, and those dropped (their rule or correlation no longer
    /// read, or without a field read now).
    public var keptRecords = 0
    public var droppedRecords = 0

    public init() {}

    /// Whether all of the snapshot's state was carried over.
    public var isComplete: Bool { startedFresh.isEmpty && removed.isEmpty && droppedRecords == 0 }

    public var description: String {
        var parts = ["\(carriedOver.count) carried over"]
        if !startedFresh.isEmpty {
            let new = startedFresh.filter { !changed.contains($0) }
            let why = [("changed", changed), ("new", new)].filter { !$0.1.isEmpty }.map { "\($0.0): \($0.1.joined(separator: ", "))" }
            parts.append("\(startedFresh.count) started fresh (\(why.joined(separator: "; ")))")
        }
        if !removed.isEmpty { parts.append("\(removed.count) removed (\(removed.joined(separator: ", ")))") }
        if droppedRecords > 0 { parts.append("\(droppedRecords) buffered records dropped") }
        return "detector state: " + parts.joined(separator: ", ")
    }
}
