import Foundation
import PipewatchRules

/// Measurements of the detector hot paths, for `pipewatch-bench detectors`: one correlation or detector, a number
/// of live groups, and a stream of updates in event-time order spread over them at random.
public enum DetectorBenchmark {
    public enum Kind: String, CaseIterable, Sendable {
        /// `event_count` (gte 30 in an hour, per principal): window ring update per event.
        case eventCount = "event_count"
        /// `new_value` (user per resource): seen-set lookup per event, values mostly known.
        case newValue = "new_value"
    }

    public struct Result: Sendable {
        public var kind: Kind
        /// Straight on the operator (group key, hash, window) or through the stage (reorder buffer, watermark).
        public var throughStage: Bool
        public var updates: Int
        public var seconds: Double
        public var liveGroups: Int
        /// The state's own estimate of its bytes (arrays, tables, keys).
        public var stateBytes: Int
        /// Growth of the process's resident memory while the groups were made live (allocator overhead included).
        public var residentGrowth: Int
        public var findings: Int

        public var updatesPerSecond: Double { Double(updates) / seconds }
        public var bytesPerGroup: Double { Double(stateBytes) / Double(max(liveGroups, 1)) }
        public var residentBytesPerGroup: Double { Double(residentGrowth) / Double(max(liveGroups, 1)) }
    }

    /// The process's resident memory, from /proc (0 where there is none).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func yaml(_ kind: Kind) -> String {
        switch kind {
        case .eventCount:
            return """
                title: bench events
                name: bench_events
                logsource: {product: pipewatch}
                detection: {selection: {source|exists: true}, condition: selection}
                ---
                title: bench event_count
                correlation:
                    type: event_count
                    rules: [bench_events]
                    group-by: [actor.user]
                    timespan: 1h
                    condition: {gte: 30}
                """
        case .newValue:
            return """
                title: bench new value
                logsource: {product: pipewatch}
                detection: {selection: {source|exists: true}, condition: selection}
                detector:
                    type: new_value
                    group-by: [resource.name]
                    field: actor.user
                    history: 30d
                tuning:
                    learning: 1h
                """
        }
    }

    /// Group values and the value field: `groups` distinct groups, 16 distinct values.
    static func values(_ kind: Kind, groups: Int) -> [[String?]] {
        (0..<groups).map { g in
            switch kind {
            case .eventCount: return ["arn:aws:sts::111122223333:assumed-role/Role\(g % 97)/session-\(g)"]
            case .newValue: return ["arn:aws:s3:::bucket-\(g)/prefix", nil]
            }
        }
    }

    /// Runs `updates` updates over `groups` groups within one hour of event time (so every group stays live in the
    /// windows), after one update per group (or, for new_value, its four values) to make them all live.
    public static func run(_ kind: Kind, groups: Int, updates: Int, throughStage: Bool, seed: UInt64 = 7) -> Result {
        let ruleSet = RuleSet(yaml: yaml(kind), file: "bench.yml")
        precondition(ruleSet.problems.isEmpty, "\(ruleSet.problems)")
        let stage = DetectorStage(ruleSet: ruleSet, options: DetectorOptions(allowedLateness: 60_000))
        let op = stage.operators[0]
        let rule = kind == .eventCount ? 0 : ruleSet.detectors[0].inlineRule!
        let names = stage.fieldNames(rule: rule)
        var perGroup = values(kind, groups: groups)
        let users = (0..<16).map { "arn:aws:iam::111122223333:user/engineer\($0)" }
        if kind == .newValue {
            // Fields in the feed's order (group field, value field).
            perGroup = perGroup.map { [$0[0], users[0]] }
            precondition(names == ["resource.name", "actor.user"], "\(names)")
        }
        // The update stream: (group, value) picks, times increasing over one hour.
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            return Hash64.mix(state)
        }
        let start: Int64 = 1_767_571_200_000
        var picks = [Int32](repeating: 0, count: updates)
        var userPicks = [UInt8](repeating: 0, count: updates)
        for i in 0..<updates {
            picks[i] = Int32(next() % UInt64(groups))
            userPicks[i] = UInt8(next() % 4)
        }
        // Every record materialized before timing, so the loop does not allocate values.
        let pairs: [[FieldValues]] = kind == .newValue
            ? perGroup.map { group in (0..<4).map { FieldValues([group[0], users[$0]]) } }
            : perGroup.map { [FieldValues($0)] }
        func feed(_ values: FieldValues, time: Int64, order: UInt64) {
            if throughStage {
                stage.ingest(rule: rule, time: time, values: values)
            } else {
                op.process(Record(time: time, order: order, feed: Int32(rule), values: values, evidence: nil), input: 0)
            }
        }
        // Warm up: every group (and every value) live before timing; the first hour is the learning period.
        let residentBefore = residentBytes()
        var warm = 0
        for g in 0..<groups {
            for values in pairs[g] {
                let time = start - 3_600_000 + Int64(warm) * 3_600_000 / Int64(groups * pairs[g].count + 1)
                op.gate.noteTime(time)
                feed(values, time: time, order: UInt64(warm))
                warm += 1
            }
        }
        if throughStage { stage.advance() } else { op.advance(to: start) }
        let residentGrowth = residentBytes() - residentBefore
        _ = stage.takeAlerts()
        let findingsBefore = stage.statistics.alerts + stage.statistics.signalCount
        // The records of the timed loop, prepared beforehand (each shares its group's value array).
        let stream: [FieldValues] = (0..<updates).map { i in pairs[Int(picks[i])][kind == .newValue ? Int(userPicks[i]) : 0] }
        let feedIndex = Int32(rule)
        let begin = DispatchTime.now().uptimeNanoseconds
        if throughStage {
            for i in 0..<updates {
                stage.ingest(rule: rule, time: start + Int64(i) * 3_600_000 / Int64(updates), values: stream[i])
                if i & 1023 == 1023 { stage.advance() }
            }
        } else {
            for i in 0..<updates {
                let time = start + Int64(i) * 3_600_000 / Int64(updates)
                op.process(Record(time: time, order: UInt64(i), feed: feedIndex, values: stream[i], evidence: nil), input: 0)
                if i & 1023 == 1023 { op.advance(to: time) }
            }
        }
        if throughStage { stage.advance() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        let findings = stage.statistics.alerts + stage.statistics.signalCount - findingsBefore
        return Result(
            kind: kind, throughStage: throughStage, updates: updates, seconds: seconds, liveGroups: op.groups.count,
            stateBytes: op.memoryBytes, residentGrowth: residentGrowth, findings: findings)
    }
}
