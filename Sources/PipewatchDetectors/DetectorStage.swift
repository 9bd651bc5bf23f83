import Foundation
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

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
/// source has been seen (or is one of `DetectorOptions.expectedSources`), on how the sources interleave. An idle
/// source holds nothing back: one marked so by the caller (`markIdle`, the daemon's wall clock), or one whose records
/// stopped arriving while the stream's lead moved on `DetectorOptions.idleTimeout` of event time (replay). Its next
/// record makes it active again; what the release passed meanwhile is late for it. A source first seen after the
/// release passed its records has those records late too. `snapshot(position:)` / `restore(_:)` save and
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
    var extraSlots: [Int: [[Int]]] = [:]
    /// Correlations judged on complete windows whose matches feed others: advanced before each record, so their
    /// matches reach the correlations above them in order.
    var closingChains: [DetectorOperator] = []
    var aggregators: [DetectorOperator] = []
    /// Whether a rule's matches alert on their own, without the detector stage.
    public internal(set) var plainAlerts: [Bool]
    /// Whether a rule's matches go to `ingest`.
    public internal(set) var consumed: [Bool]
    let factory: AlertFactory
    var fingerprint: UInt64 = 0
    /// How snapshots name each feed: by its rule's or correlation's reference, since indices shift when rules are
    /// added or removed.
    var feedOwners: [String] = []
    /// The feeds something reads (the only ones a record can belong to), in feed order: a snapshot's feed table.
    var savedFeeds: [Int] = []
    /// Each feed's position in `savedFeeds`; -1 for a feed nothing reads.
    var savedFeedPosition: [Int] = []
    /// While a snapshot is restored: per entry of its feed table, how many values its records carry and which feed
    /// of this stage it is (nil: none any more).
    var restoringFeeds: [(valueCount: Int, feed: RestoredFeed?)] = []
    /// Each operator's state before any input, to start afresh an operator that a lenient restore finds no state for.
    var freshStates: [[UInt8]] = []

    var buffer = ReorderBuffer()
    /// The latest event time seen per source (index = `EventSource.rawValue`); `.min` for a source not seen.
    var sourceTimes = [Int64](repeating: .min, count: EventSource.allCases.count)
    /// The latest event time of any source, or of `advanceIdle(to:)`: the stream's lead.
    var leadTime: Int64 = .min
    /// Per source, the lead when its latest record arrived: it is idle once the lead has moved on
    /// `options.idleTimeout` since.
    var leadAtArrival = [Int64](repeating: .min, count: EventSource.allCases.count)
    /// Sources the caller marked idle (`markIdle`), until their next record.
    var markedIdle = [Bool](repeating: false, count: EventSource.allCases.count)
    /// The furthest the sources have let the release go: a source that comes back from idle lowers the smallest
    /// watermark, never this. Kept per record (not per batch), so what is late does not depend on batch boundaries.
    var frontier: Int64 = .min
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
    /// What `advance()` releases up to: the smallest watermark of the sources seen that are not idle (the lead's
    /// when all are), or what it already reached if that is further; nil when none was seen, or while one of the
    /// `expectedSources` was not.
    public var watermark: Int64? {
        guard let current = currentFrontier() else { return frontier == .min ? nil : frontier }
        return max(current, frontier)
    }

    /// Whether source `s` (seen) holds nothing back now.
    @inline(__always)
    func isIdle(_ s: Int) -> Bool {
        if markedIdle[s] { return true }
        guard let timeout = options.idleTimeout, leadAtArrival[s] != .min else { return false }
        let (gap, overflow) = leadTime.subtractingReportingOverflow(leadAtArrival[s])
        return !overflow && gap > timeout
    }

    /// The smallest watermark of the sources seen that are not idle; the lead's watermark when every source seen is
    /// idle; nil while an expected source was not seen.
    func currentFrontier() -> Int64? {
        for source in options.expectedSources where sourceTimes[Int(source.rawValue)] == .min { return nil }
        var smallest: Int64?
        for s in sourceTimes.indices where sourceTimes[s] != .min && !isIdle(s) {
            let mark = lowered(sourceTimes[s])
            if smallest.map({ mark < $0 }) ?? true { smallest = mark }
        }
        if smallest == nil && leadTime != .min { return lowered(leadTime) }
        return smallest
    }

    /// Keeps what the sources let through before one of them rejoins (and lowers the smallest watermark).
    func foldFrontier() {
        if let current = currentFrontier(), current > frontier { frontier = current }
    }

    /// The stream's lead: the latest event time of any source, or of `advanceIdle(to:)`; nil before any.
    public var lead: Int64? { leadTime == .min ? nil : leadTime }

    /// Which sources are idle now (seen, and holding nothing back).
    public var idleSources: Set<EventSource> {
        Set(EventSource.allCases.filter { sourceTimes[Int($0.rawValue)] != .min && isIdle(Int($0.rawValue)) })
    }

    /// The caller's clock says `source` sent nothing for its idle timeout (the daemon's wall clock): it no longer
    /// holds the release back, until its next record. A source not seen yet is left as it is.
    public func markIdle(_ source: EventSource) {
        let s = Int(source.rawValue)
        if sourceTimes[s] != .min { markedIdle[s] = true }
    }

    /// Nothing arrived from any source for the caller's idle timeout: event time is taken to have reached `time`
    /// (the daemon's wall clock carried forward from the last record), as if a record of a source that is never
    /// idle had come at `time`. With every source idle the release follows it, so silences and windows that ended
    /// meanwhile are judged; a record arriving later behind the release is late. Replay never calls it.
    public func advanceIdle(to time: Int64) {
        if time > leadTime { leadTime = time }
    }

    func lowered(_ time: Int64) -> Int64 {
        let (mark, overflow) = time.subtractingReportingOverflow(options.allowedLateness)
        return overflow ? .min : mark
    }
    /// Records before this time have been released; one arriving now is late.
    public internal(set) var released: Int64 = .min
    var alerts: [Alert] = []
    var signals: [Signal] = []
    var late: [LateRecord] = []
    public internal(set) var statistics = DetectorStatistics()
    /// Alerts per operator (correlation, detector or tuned rule), in operator order.
    public internal(set) var alertsPerOperator: [Int] = []
    var scratchValues: [String?] = []

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


    /// Notes an event's time (every event, matched or not: each source's watermark follows its stream).
    @inline(__always)
    public func observe(time: Int64, source: EventSource) {
        let s = Int(source.rawValue)
        if time != Event.unknownTime && (time > sourceTimes[s] || leadAtArrival[s] != leadTime || markedIdle[s]) {
            arrived(time: time, source: s)
        }
    }

    /// A record of source `s` arrived: its time, the lead, and the source active again.
    func arrived(time: Int64, source s: Int) {
        if sourceTimes[s] != .min && isIdle(s) { foldFrontier() }
        if time > sourceTimes[s] { sourceTimes[s] = time }
        if time > leadTime { leadTime = time }
        leadAtArrival[s] = leadTime
        markedIdle[s] = false
    }

    /// Whether a record of `source` at `time` can no longer be placed in order, and the bound it missed: its source's
    /// watermark, or what was already released for the other sources (for a source first seen after the others moved
    /// on, one back from idle, or after `finish`).
    @inline(__always)
    func lateness(time: Int64, source: Int) -> (bound: Int64, reason: String)? {
        let own = sourceTimes[source] == .min ? Int64.min : lowered(sourceTimes[source])
        if time < own { return (own, "older than the watermark") }
        let bound = max(released, frontier)
        if time < bound { return (bound, "older than the watermark (already released for the other sources)") }
        return nil
    }

    /// A match of rule `rule` (one it `consumed`) on an event.
    public func ingest(_ view: EventView, rule: Int) {
        let feed = feeds[rule]
        let time = view.event.time
        let source = Int(view.event.source.rawValue)
        statistics.records += 1
        guard time != Event.unknownTime else {
            // Not late and not lost: an event without time has no place in event time, so only its rule's stand-alone
            // alert (if any) is raised; the summary counts it.
            statistics.recordsWithoutTime += 1
            return
        }
        if time > sourceTimes[source] || leadAtArrival[source] != leadTime || markedIdle[source] { arrived(time: time, source: source) }
        var builder = FieldValues.Builder(count: feed.readers.count)
        for reader in feed.readers {
            if reader.withFirstText(in: view, { builder.append(bytes: UnsafeRawBufferPointer($0)) }) == nil { builder.appendAbsent() }
        }
        let values = builder.values
        if !feed.aggregating.isEmpty, let missed = releasedPast(time: time, source: source) {
            // Back from idle behind the release: late for every reader, whatever buckets are still open.
            statistics.lateRecords += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: time, watermark: missed, uid: view.string(.uid), reason: "older than the watermark (already released for the other sources)"))
            return
        }
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
        if time > sourceTimes[source] || leadAtArrival[source] != leadTime || markedIdle[source] { arrived(time: time, source: source) }
        if !feeds[rule].aggregating.isEmpty, let missed = releasedPast(time: time, source: source) {
            statistics.lateRecords += 1
            late.append(LateRecord(rule: ruleSet.rules[rule].reference, time: time, watermark: missed, uid: nil, reason: "older than the watermark (already released for the other sources)"))
            return
        }
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

    /// For volume and drift, which take records into open buckets even behind their own source's watermark: the
    /// frontier a record of a source back from idle is behind (decided per record, not by which buckets the last
    /// batch closed); nil otherwise.
    @inline(__always)
    func releasedPast(time: Int64, source: Int) -> Int64? {
        guard time < frontier, frontier > lowered(sourceTimes[source]) else { return nil }
        return frontier
    }

    /// Releases what the smallest watermark of the active sources has passed and judges what it closed. Call after
    /// each batch (and after `markIdle` or `advanceIdle`).
    public func advance() {
        foldFrontier()
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

    func run(to watermark: Int64) {
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
    func prefetchAhead() {
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
    func dispatch(_ record: Record, aggregated: Bool) {
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
}
