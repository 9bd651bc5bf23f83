import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules
import Testing

/// A silence detector per source over CloudTrail and MLflow.
let silenceRule = """
    title: Source went silent
    id: silent-source
    logsource: {product: pipewatch}
    detection:
        selection:
            source: [aws.cloudtrail, mlflow.webhook]
        condition: selection
    detector:
        type: silence
        group-by: [source]
        after: 30m
    level: high
    """

/// CloudTrail every 5 minutes from Monday 00:00 to 05:00, then nothing; MLflow every 10 minutes to 01:50, nothing
/// until 04:00, then every 10 minutes to 06:00. Silences: MLflow at 02:20 (ended at 04:00), CloudTrail at 05:30.
func silenceStream() -> (cloudTrail: [(time: Int64, record: String)], mlflow: [(time: Int64, record: String)]) {
    var trailRecords: [(Int64, String)] = []
    var t = monday
    while t <= monday + 5 * hour {
        trailRecords.append((t, trail(at: t, user: "pipeline")))
        t += 5 * minute
    }
    var mlflowRecords: [(Int64, String)] = []
    t = monday
    while t <= monday + 6 * hour {
        if t < monday + 2 * hour || t >= monday + 4 * hour {
            mlflowRecords.append((t, mlflowDelivery("registered_model", "updated", at: t, data: #""name":"fraud""#, id: "d-\(t)")))
        }
        t += 10 * minute
    }
    return (trailRecords, mlflowRecords)
}

@Suite struct SilenceDetectorTests {
    static let streams = silenceStream()
    static var sorted: [String] { (streams.cloudTrail + streams.mlflow).sorted { $0.time < $1.time }.map(\.record) }

    func digests(_ alerts: [Alert]) -> [AlertDigest] { alerts.map(AlertDigest.init).sorted { ($0.time, $0.uid) < ($1.time, $1.uid) } }

    func summary(_ alerts: [Alert]) -> [String] {
        alerts.sorted { $0.time < $1.time }.map { alert in
            let detector = StageHarness.detector(alert)
            let group = (detector["group"] as? [String: Any])?["source"] as? String ?? "?"
            return "\(group) \(detector["silence"] as? String ?? "?") \(Timestamp.format(milliseconds: alert.time))"
        }
    }

    static let expected = [
        "mlflow.webhook started 2026-01-05T02:20:00.000Z",
        "mlflow.webhook ended 2026-01-05T04:00:00.000Z",
        "aws.cloudtrail started 2026-01-05T05:30:00.000Z",
    ]

    @Test func firesOncePerSilentGroupAndOnceWhenItResumes() {
        let harness = StageHarness(silenceRule, idleTimeout: 5 * minute)
        harness.feed(Self.sorted, batchSize: 10)
        #expect(summary(harness.alerts) == Self.expected, "\(summary(harness.alerts))")
        #expect(harness.late.isEmpty)
        // The alert names the group's source and says what it judged.
        let first = harness.alerts.min { $0.time < $1.time }
        #expect(first?.source == .mlflowWebhook)
        #expect(first.map(StageHarness.detector)?["last_event"] as? String == "2026-01-05T01:50:00.000Z")
        // The end of the input adds nothing: MLflow's last event is within 30 minutes of it.
        harness.finish()
        #expect(harness.alerts.count == 3)
    }

    @Test func theSameAlertsForAnyBatchingAndForSourcesReadFileByFile() {
        let reference = StageHarness(silenceRule, idleTimeout: 5 * minute)
        reference.feed(Self.sorted, batchSize: 10)
        let expected = digests(reference.alerts)
        for size in [1, 7, 64, 10_000] {
            let harness = StageHarness(silenceRule, idleTimeout: 5 * minute)
            harness.feed(Self.sorted, batchSize: size)
            #expect(digests(harness.alerts) == expected, "batches of \(size)")
            #expect(harness.late.isEmpty)
        }
        // All of CloudTrail, then all of MLflow, both declared: the same silences, judged as MLflow catches up.
        let files = StageHarness(silenceRule, expectedSources: [.cloudTrail, .mlflowWebhook], idleTimeout: 5 * minute)
        files.feed(Self.streams.cloudTrail.map(\.record), batchSize: 25)
        #expect(files.alerts.isEmpty)
        files.feed(Self.streams.mlflow.map(\.record), batchSize: 25)
        #expect(digests(files.alerts) == expected)
        #expect(files.late.isEmpty)
    }

    @Test func aQuietSourceStillHoldsTheRestBackWithoutAnIdleTimeout() {
        // CloudTrail's last watermark (04:55) stays the smallest: its own silence at 05:30 waits for the end.
        let held = StageHarness(silenceRule)
        held.feed(Self.sorted, batchSize: 10)
        #expect(summary(held.alerts) == Array(Self.expected.prefix(2)))
        held.finish()
        #expect(summary(held.alerts) == Self.expected)
    }

    @Test func stateRoundTripsThroughASnapshot() throws {
        let records = Self.sorted
        let reference = StageHarness(silenceRule, idleTimeout: 5 * minute)
        reference.feed(records, batchSize: 10)
        let expected = digests(reference.alerts)
        // Before the MLflow silence, during it (alerted, not resumed), after the resumption.
        for cut in [20, 55, 75] {
            let first = StageHarness(silenceRule, idleTimeout: 5 * minute)
            first.feed(Array(records[..<cut]), batchSize: 10)
            let second = StageHarness(silenceRule, idleTimeout: 5 * minute)
            try second.stage.restore(first.stage.snapshot(position: []))
            #expect(second.stage.idleSources == first.stage.idleSources)
            second.feed(Array(records[cut...]), batchSize: 10)
            #expect(digests(first.alerts + second.alerts) == expected, "cut at \(cut)")
        }
    }

    @Test func aSilentGroupIsForgottenAfterExpire() {
        let rule = silenceRule.replacingOccurrences(of: "after: 30m", with: "after: 30m\n    expire: 1h")
        let harness = StageHarness(rule, idleTimeout: 5 * minute)
        harness.feed(Self.sorted, batchSize: 10)
        // MLflow's group was forgotten an hour after its last event: its return at 04:00 is a new group, no alert.
        #expect(summary(harness.alerts) == [Self.expected[0], Self.expected[2]])
    }
}
