import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules
import Testing

/// A CloudTrail AccessDenied burst correlation and a new_value detector on MLflow models (so MLflow's matches wait
/// for the watermark too).
let idleRules = """
    title: Access denied
    id: denied
    name: denied
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            errorCode: AccessDenied
        condition: selection
    ---
    title: Access denied burst
    id: burst
    correlation:
        type: event_count
        rules: [denied]
        group-by: [userIdentity.userName]
        timespan: 10m
        condition: {gte: 5}
    ---
    title: New MLflow model
    id: new-model
    logsource: {product: mlflow, service: webhook}
    detection:
        selection:
            entity: registered_model
        condition: selection
    detector:
        type: new_value
        field: ml.name
    tuning:
        learning: 1m
    level: low
    """

func modelCreated(_ name: String, at time: Int64) -> String {
    mlflowDelivery("registered_model", "created", at: time, data: #""name":"\#(name)""#, id: "m-\(name)-\(time)")
}

/// MLflow sends one delivery at midnight and nothing for hours while CloudTrail flows (a call a minute, with a
/// burst of denied calls every hour); then a delivery from 01:00 arrives (behind everything), then MLflow comes back
/// with current deliveries.
func quietMLflowStream() -> [String] {
    var records: [String] = [modelCreated("fraud", at: monday)]
    for m in 0..<(6 * 60) {
        let t = monday + Int64(m) * minute
        let denied = m % 60 >= 30 && m % 60 < 36
        records.append(trail(at: t, user: denied ? "mallory" : "pipeline", error: denied ? "AccessDenied" : nil))
    }
    records.append(modelCreated("churn", at: monday + hour))
    for m in 0..<30 {
        let t = monday + 6 * hour + Int64(m) * minute
        records.append(trail(at: t, user: "pipeline"))
        if m % 10 == 5 { records.append(modelCreated("model-\(m)", at: t)) }
    }
    return records
}

@Suite struct IdleSourceTests {
    func digests(_ alerts: [Alert]) -> [AlertDigest] { alerts.map(AlertDigest.init).sorted { ($0.time, $0.uid) < ($1.time, $1.uid) } }

    @Test func aQuietSourceNoLongerHoldsTheOthersBack() {
        let records = quietMLflowStream()
        let cut = records.firstIndex { $0.contains("m-churn") }!

        // Without an idle timeout MLflow's midnight watermark holds everything: no burst alert while CloudTrail flows.
        let held = StageHarness(idleRules, lateness: 5 * minute)
        held.feed(Array(records[..<cut]), batchSize: 20)
        #expect(held.alerts(of: "burst").isEmpty)
        #expect(held.stage.bufferedRecords >= 36, "every denied call since midnight waits")
        #expect(held.stage.watermark == held.stage.watermark(of: .mlflowWebhook))

        // Idle after 10 minutes of CloudTrail time without an MLflow record: every hourly burst fires as it happens.
        let idle = StageHarness(idleRules, lateness: 5 * minute, idleTimeout: 10 * minute)
        idle.feed(Array(records[..<cut]), batchSize: 20)
        #expect(idle.stage.idleSources == [.mlflowWebhook])
        #expect(idle.alerts(of: "burst").map(\.time) == (0..<6).map { monday + Int64($0) * hour + 34 * minute })
        #expect(idle.stage.bufferedRecords < 30)
        #expect(idle.stage.watermark == idle.stage.watermark(of: .cloudTrail))

        // MLflow's delivery of 01:00 arrives behind the release: late, reported and counted, not lost in silence.
        idle.batch([records[cut]])
        #expect(idle.late.count == 1)
        #expect(idle.late.first?.rule == "new-model" && idle.late.first?.uid == "m-churn-\(monday + hour)")
        #expect(idle.late.first?.reason.contains("already released") == true)
        #expect(idle.stage.statistics.lateRecords == 1)

        // Back with current deliveries: MLflow counts again, its new models alert, nothing more is late.
        idle.feed(Array(records[(cut + 1)...]), batchSize: 20)
        #expect(idle.stage.idleSources.isEmpty)
        idle.finish()
        #expect(idle.late.count == 1)
        #expect(idle.alerts(of: "new-model").count == 3, "model-5, model-15, model-25 (fraud is the first value, learned)")
    }

    @Test func whatIsLateDoesNotDependOnBatchBoundaries() {
        let records = quietMLflowStream()
        func run(_ size: Int) -> (alerts: [AlertDigest], late: [String]) {
            let harness = StageHarness(idleRules, lateness: 5 * minute, idleTimeout: 10 * minute)
            harness.feed(records, batchSize: size)
            harness.finish()
            return (digests(harness.alerts), harness.late.map { String(decoding: $0.json, as: UTF8.self) })
        }
        let reference = run(1)
        #expect(reference.late.count == 1 && reference.alerts.count >= 9)
        for size in [2, 7, 20, 128, records.count] {
            let other = run(size)
            #expect(other.alerts == reference.alerts, "batches of \(size)")
            #expect(other.late == reference.late, "batches of \(size)")
        }
    }

    @Test func aSourceBackFromIdleBehindTheReleaseIsLateEvenWhereABucketIsStillOpen() {
        // A volume detector on MLflow too: a delivery of 05:52 arriving when the release is at 05:54 (CloudTrail
        // at 05:59) is in the hourly bucket 05:00-06:00, still open, and ahead of MLflow's own watermark; but the
        // release passed it while MLflow was idle. Late for every reader, whatever the batches closed.
        let rules = idleRules + """

            ---
            title: MLflow volume
            id: mlflow-volume
            logsource: {product: mlflow, service: webhook}
            detection:
                selection:
                    entity: registered_model
                condition: selection
            detector:
                type: volume
                bucket: 1h
            level: low
            """
        let records = quietMLflowStream()
        let cut = records.firstIndex { $0.contains("m-churn") }!
        for size in [1, 50] {
            let harness = StageHarness(rules, lateness: 5 * minute, idleTimeout: 10 * minute)
            harness.feed(Array(records[..<cut]), batchSize: size)
            #expect(harness.stage.released == monday + 5 * hour + 54 * minute)
            harness.batch([modelCreated("late", at: monday + 5 * hour + 52 * minute)])
            #expect(harness.late.map(\.rule).sorted() == ["mlflow-volume", "new-model"], "batches of \(size)")
            #expect(harness.late.allSatisfy { $0.watermark == monday + 5 * hour + 54 * minute })
        }
    }

    @Test func replayTakesTheIdleTimeoutAsAnOption() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rules/rules.yml", idleRules)
        let input = try dir.write("stream.ndjson", quietMLflowStream().joined(separator: "\n") + "\n")
        func replay(_ options: [String]) throws -> (status: Int32, alerts: [String], stderr: String) {
            let result = try pipewatch(["replay", input, "--rules", dir.path("rules"), "--allowed-lateness", "5m"] + options)
            return (result.status, alertLines(result.stdout), result.stderr)
        }
        // The default (the allowed lateness): MLflow goes idle, its delivery of 01:00 is late (exit status 2).
        let idle = try replay([])
        #expect(idle.status == 2 && idle.stderr.contains("late records: 1,"), "\(idle.stderr)")
        #expect(try replay(["--idle-timeout", "10m"]).alerts == idle.alerts)
        // Off: MLflow holds everything back until the end of the input and nothing is late.
        let off = try replay(["--idle-timeout", "off"])
        #expect(off.status == 0 && off.stderr.contains("late records: 0,"), "\(off.stderr)")
        #expect(off.alerts.count == idle.alerts.count + 1, "churn is a new model when it is not late")
        let bad = try replay(["--idle-timeout", "soon"])
        #expect(bad.status != 0 && bad.stderr.contains("--idle-timeout 'soon' is not a duration"), "\(bad.stderr)")
    }

    @Test func theCallersClockMarksSourcesIdleAndCarriesEventTimeWhenNothingArrives() {
        let harness = StageHarness(idleRules + "\n---\n" + silenceRule, lateness: 5 * minute)
        harness.batch([modelCreated("fraud", at: monday)] + (0..<40).map { trail(at: monday + Int64($0) * minute, user: "pipeline") })
        #expect(harness.stage.watermark == harness.stage.watermark(of: .mlflowWebhook))
        // The daemon's wall clock says MLflow sent nothing for its idle timeout.
        harness.stage.markIdle(.mlflowWebhook)
        harness.stage.advance()
        #expect(harness.stage.watermark == harness.stage.watermark(of: .cloudTrail))
        #expect(harness.stage.released == monday + 34 * minute)
        // MLflow's silence (30 minutes after midnight) is judged now that the release passed it.
        #expect(harness.alerts(of: "silent-source").isEmpty)
        harness.batch([])
        #expect(harness.alerts(of: "silent-source").count == 1)

        // Then nothing arrives at all: the daemon carries event time on (lead + wall time since the last record).
        harness.stage.markIdle(.cloudTrail)
        harness.stage.advanceIdle(to: monday + 2 * hour)
        harness.batch([])
        #expect(harness.stage.released == monday + 2 * hour - 5 * minute)
        #expect(harness.alerts(of: "silent-source").count == 2, "CloudTrail's silence at 01:09 too")
        // A record that comes afterwards behind the release is late; one after it is on time.
        harness.batch([trail(at: monday + hour, user: "mallory", error: "AccessDenied", id: "stale"),
                       trail(at: monday + 2 * hour, user: "mallory", error: "AccessDenied", id: "fresh")])
        #expect(Set(harness.late.map(\.uid)) == ["stale"])
        #expect(harness.stage.idleSources == [.mlflowWebhook])
    }
}
