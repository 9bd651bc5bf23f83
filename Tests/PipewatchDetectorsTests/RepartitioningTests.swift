import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules
import Testing

/// Matches re-keyed through repartition records (`Repartitioning`) to several stages give the alerts of one stage.
@Suite struct RepartitioningTests {
    /// The stream fed to `partitions` stages through repartition records: every consumed match encoded, routed by
    /// its key's partition and decoded there (raw records decoded again, as the daemon does), a time mark to every
    /// partition after each batch. Returns every stage's alerts and how many partitions raised some.
    func partitioned(_ yaml: String, _ stream: [String], partitions: Int32, lateness: Int64) throws
        -> (alerts: [Alert], busy: Int, keyed: Bool)
    {
        let ruleSet = RuleSet(yaml: yaml, file: "test.yml")
        let options = DetectorOptions(allowedLateness: lateness)
        let keys = DetectorStage(ruleSet: ruleSet, options: options)
        let repartitioning = Repartitioning(stage: keys, partitions: partitions)
        let stages = (0..<partitions).map { _ in DetectorStage(ruleSet: ruleSet, options: options) }
        let evaluator = ruleSet.engine.makeEvaluator()
        let decoder = RecordDecoder(), again = RecordDecoder()
        var alerts = [[Alert]](repeating: [], count: Int(partitions))
        var times = [Int64](repeating: .min, count: EventSource.allCases.count)
        func deliver(_ value: [UInt8], to p: Int) throws {
            try value.withUnsafeBytes { bytes in
                guard let (rule, raw) = try stages[p].ingestRepartitioned(bytes) else { return }
                try again.withEventView(json: String(decoding: raw, as: UTF8.self)) { view in
                    stages[p].ingest(view, rule: rule)
                }
            }
        }
        var offset: Int64 = 0
        for start in stride(from: 0, to: stream.count, by: 97) {
            for record in stream[start..<min(stream.count, start + 97)] {
                try decoder.withEventView(json: record) { view in
                    let s = Int(view.event.source.rawValue)
                    times[s] = max(times[s], view.event.time)
                    try evaluator.forEachMatch(in: view) { rule in
                        guard keys.consumed[rule.index] else { return }
                        let message = repartitioning.record(view, rule: rule.index, stage: keys, input: 1, offset: offset)
                        try deliver(message.value, to: Int(message.partition))
                    }
                }
                offset += 1
            }
            let mark = repartitioning.timeMark(times)
            for p in stages.indices {
                try deliver(mark, to: p)
                stages[p].advance()
                alerts[p] += stages[p].takeAlerts()
            }
        }
        for p in stages.indices {
            stages[p].finish()
            alerts[p] += stages[p].takeAlerts()
        }
        let keyed = ruleSet.rules.indices.contains { keys.consumed[$0] && repartitioning.keyedByEntity(rule: $0) }
        return (alerts.flatMap { $0 }, alerts.filter { !$0.isEmpty }.count, keyed)
    }

    /// The harness's alerts without those of stand-alone rules (the stage's alone).
    func stageAlerts(_ harness: StageHarness) -> [Alert] {
        let plain = Set(harness.ruleSet.rules.indices.filter { harness.stage.plainAlerts[$0] }.map { harness.ruleSet.rules[$0].reference })
        return harness.alerts.filter { !plain.contains($0.rule.id) }
    }

    func digests(_ alerts: [Alert]) -> [AlertDigest] {
        alerts.map(AlertDigest.init).sorted { ($0.time, $0.uid, $0.rule) < ($1.time, $1.uid, $1.rule) }
    }

    @Test func fourPartitionsGiveTheAlertsOfOneStage() throws {
        let stream = shuffledWithin(mixedStream(seed: 21), span: 4 * minute, seed: 4)
        let whole = StageHarness(everything, lateness: 5 * minute)
        whole.feed(stream, batchSize: 97)
        whole.finish()
        let expected = digests(stageAlerts(whole))
        #expect(expected.count > 20, "the operators fire (\(expected.count))")

        let result = try partitioned(everything, stream, partitions: 4, lateness: 5 * minute)
        #expect(result.keyed, "some matches are keyed by entity")
        #expect(result.busy > 1, "the alerts come from several partitions (\(result.busy))")
        let got = digests(result.alerts)
        #expect(got == expected, "missing \(Set(expected).subtracting(got).count), extra \(Set(got).subtracting(expected).count)")
    }

    @Test func readersGroupingByDifferentFieldsKeepTheirRuleOnOnePartition() throws {
        // Two detectors read one rule, one by user, one by address: the rule's matches cannot be split by either.
        let yaml = """
            title: denied
            name: denied
            id: denied
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection: {errorCode: AccessDenied}
                condition: selection
            ---
            title: by user
            id: by-user
            correlation: {type: event_count, rules: [denied], group-by: [userIdentity.userName], timespan: 1h, condition: {gte: 3}}
            ---
            title: by address
            id: by-address
            correlation: {type: event_count, rules: [denied], group-by: [sourceIPAddress], timespan: 1h, condition: {gte: 3}}
            """
        let ruleSet = RuleSet(yaml: yaml, file: "test.yml")
        let stage = DetectorStage(ruleSet: ruleSet)
        let repartitioning = Repartitioning(stage: stage, partitions: 8)
        #expect(!repartitioning.keyedByEntity(rule: 0))
        let stream = (0..<60).map { trail(at: monday + Int64($0) * 30_000, user: "u\($0 % 4)", error: "AccessDenied") }
        let whole = StageHarness(yaml)
        whole.feed(stream)
        whole.finish()
        let result = try partitioned(yaml, stream, partitions: 8, lateness: 5 * minute)
        #expect(result.busy == 1)
        #expect(!whole.alerts.isEmpty)
        #expect(digests(result.alerts) == digests(stageAlerts(whole)))
    }

    @Test func recordsOfOtherRulesOrDamagedAreRefused() throws {
        let stage = DetectorStage(ruleSet: RuleSet(yaml: everything, file: "test.yml"))
        let other = DetectorStage(ruleSet: RuleSet(yaml: deniedBurst, file: "test.yml"))
        let mark = Repartitioning(stage: other, partitions: 2).timeMark([1, .min, .min, .min])
        #expect(throws: RepartitionRecordError.self) { try mark.withUnsafeBytes { _ = try stage.ingestRepartitioned($0) } }
        let own = Repartitioning(stage: stage, partitions: 2).timeMark([monday, .min, .min, .min])
        for length in [0, 5, own.count - 1] {
            #expect(throws: RepartitionRecordError.self) { try Array(own.prefix(length)).withUnsafeBytes { _ = try stage.ingestRepartitioned($0) } }
        }
        let fed = try own.withUnsafeBytes { try stage.ingestRepartitioned($0) }
        #expect(fed == nil)
        #expect(stage.latestTime(of: .cloudTrail) == monday, "a time mark moves its source's event time")
    }
}
