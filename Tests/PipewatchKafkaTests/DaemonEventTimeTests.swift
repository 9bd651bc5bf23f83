import Foundation
import PipewatchEvents
import Testing

/// A CloudTrail record at `time` (milliseconds) by `user`, refused when `denied`.
private func trailRecord(_ time: Int64, user: String, denied: Bool = false, id: String) -> String {
    let error = denied ? #","errorCode":"AccessDenied","errorMessage":"denied""# : ""
    return #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-cli/2.15.0","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/\#(user)","accountId":"111122223333","userName":"\#(user)"},"eventID":"\#(id)","eventType":"AwsApiCall","recipientAccountId":"111122223333"\#(error)}"#
}

/// An MLflow registry webhook delivery at `time`.
private func mlflowRecord(_ time: Int64, model: String, id: String) -> String {
    #"{"entity":"registered_model","action":"created","timestamp":"\#(Timestamp.format(milliseconds: time))","data":{"name":"\#(model)"},"_delivery":{"id":"\#(id)","timestamp":"\#(time / 1000)","remote_addr":"10.20.0.15","registry":"https://mlflow.example.com"}}"#
}

private let midnight = Timestamp.parseRFC3339("2026-11-03T00:00:00Z")!
private let minute: Int64 = 60_000
private let hour = 60 * minute

/// A CloudTrail AccessDenied burst correlation, a new_value detector on MLflow models, and a silence detector per
/// source.
private let eventTimeRules = """
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
    ---
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

/// (rule id, alert uid, time) of each OCSF alert line.
private func alertKeys(_ text: String) throws -> [String] {
    try text.split(separator: "\n").map { line in
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let info = try #require(object["finding_info"] as? [String: Any])
        let rule = (info["analytic"] as? [String: Any])?["uid"] as? String ?? "?"
        return "\(rule) \(info["uid"] as? String ?? "?") \(object["time_dt"] as? String ?? "?")"
    }.sorted()
}

@Suite(.serialized) struct DaemonEventTimeTests {
    /// MLflow sends one delivery at midnight and then nothing; CloudTrail flows three hours later with a burst of
    /// denied calls completed at 03:14 and calls to 03:30.
    static let cloudTrail: [String] = (0..<31).flatMap { m -> [String] in
        let t = midnight + 3 * hour + Int64(m) * minute
        var records = [trailRecord(t, user: "pipeline", id: "ok-\(m)")]
        if m >= 10 && m < 15 { records.append(trailRecord(t, user: "mallory", denied: true, id: "denied-\(m)")) }
        return records
    }

    func start(
        _ kafka: MockKafka, topic: String, idleTimeout: String, lateness: String = "5m", rules: String = eventTimeRules
    ) throws -> (TemporaryDirectory, RunningDaemon) {
        try kafka.createTopic(topic, partitions: 1)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: topic, group: "pw-\(topic)", rule: rules, outputs: ["ocsf:file:alerts.ndjson"],
            extra: "allowed-lateness: \(lateness)\nidle-timeout: \(idleTimeout)\nlate: late.ndjson")
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 1 })
        return (dir, running)
    }

    @Test(.timeLimit(.minutes(2)))
    func aQuietSourceNoLongerHoldsTheCorrelationsBackAndItsLateRecordsAreReported() throws {
        let kafka = try MockKafka()
        let count = 2 + Self.cloudTrail.count

        // Without idle sources, MLflow's midnight watermark holds every CloudTrail record back: no burst alert.
        let (heldDir, held) = try start(kafka, topic: "held", idleTimeout: "off")
        try kafka.produce("held", [mlflowRecord(midnight, model: "fraud", id: "m-fraud"), trailRecord(midnight, user: "pipeline", id: "first")])
        try kafka.produce("held", Self.cloudTrail)
        #expect(held.wait(seconds: 30) { $0.records == count })
        Thread.sleep(forTimeInterval: 2)
        #expect(held.daemon.currentStatistics.alerts == 0)
        #expect(held.stop())
        #expect(try alertKeys(heldDir.read("alerts.ndjson")).isEmpty)

        // With a one-second idle timeout MLflow stops holding time back and the burst fires at once.
        let (dir, running) = try start(kafka, topic: "idle", idleTimeout: "1s")
        try kafka.produce("idle", [mlflowRecord(midnight, model: "fraud", id: "m-fraud"), trailRecord(midnight, user: "pipeline", id: "first")])
        try kafka.produce("idle", Self.cloudTrail)
        #expect(running.wait(seconds: 30) { $0.records == count })
        let processed = Date()
        #expect(running.wait(seconds: 10) { _ in (try? alertKeys(dir.read("alerts.ndjson")))?.contains { $0.hasPrefix("burst ") } == true })
        #expect(Date().timeIntervalSince(processed) < 1 + 2, "within the idle timeout (and a check's interval) of the records")
        let burst = try alertKeys(dir.read("alerts.ndjson")).filter { $0.hasPrefix("burst ") }
        #expect(burst.count == 1 && burst.first?.hasSuffix("2026-11-03T03:14:00.000Z") == true, "\(burst)")
        #expect(running.log.contains { $0.contains("mlflow.webhook") && $0.contains("no longer holds") }, "\(running.log)")

        // MLflow's delivery of 01:00 comes now, behind the release: reported late, committed, not lost in silence.
        try kafka.produce("idle", [mlflowRecord(midnight + hour, model: "churn", id: "m-churn")])
        #expect(running.wait(seconds: 30) { $0.records == count + 1 && $0.lateRecords >= 1 })
        #expect(running.wait(seconds: 10) { $0.committed.values.reduce(0, +) == Int64(count + 1) })
        // The metrics say how long each source has been quiet, and count the late records.
        Thread.sleep(forTimeInterval: 0.6)
        let metrics = String(decoding: running.daemon.metrics.exposition(), as: UTF8.self)
        #expect(metrics.contains(#"pipewatch_seconds_since_last_event{source="aws.cloudtrail"}"#), "\(metrics)")
        #expect(metrics.contains(#"pipewatch_seconds_since_last_event{source="mlflow.webhook"}"#), "\(metrics)")
        #expect(metrics.contains("pipewatch_late_records_total "), "\(metrics)")
        #expect(running.stop())
        let late = dir.read("late.ndjson")
        #expect(late.contains(#""uid":"m-churn""#) && late.contains("already released"), "\(late)")
        #expect(running.daemon.currentStatistics.lateRecords == late.split(separator: "\n").count)
    }

    @Test(.timeLimit(.minutes(2)))
    func whenNothingArrivesAtAllEventTimeIsCarriedOnTheWallClock() throws {
        // Both sources send one record at 10:00:00 and then nothing: with a second of lateness and of idle timeout,
        // event time goes on with the wall clock from the last record, and each source's two-second silence is
        // judged about three seconds later (after + lateness), with the time and uid replay would give.
        let kafka = try MockKafka()
        let rules = eventTimeRules.replacingOccurrences(of: "after: 30m", with: "after: 2s")
        let (dir, running) = try start(kafka, topic: "wall", idleTimeout: "1s", lateness: "1s", rules: rules)
        let ten = midnight + 10 * hour
        try kafka.produce("wall", [trailRecord(ten, user: "pipeline", id: "t"), mlflowRecord(ten, model: "fraud", id: "m")])
        #expect(running.wait(seconds: 30) { $0.records == 2 })
        let arrived = Date()
        #expect(running.wait(seconds: 20) { $0.alerts >= 2 })
        #expect(Date().timeIntervalSince(arrived) > 2, "not before the silence could have been seen")
        #expect(running.stop())
        let silences = try alertKeys(dir.read("alerts.ndjson")).filter { $0.hasPrefix("silent-source ") }
        #expect(silences.count == 2 && silences.allSatisfy { $0.hasSuffix("2026-11-03T10:00:02.000Z") }, "\(silences)")
    }

    @Test(.timeLimit(.minutes(3)))
    func silenceAlertsAreThoseOfReplay() throws {
        // CloudTrail every 5 minutes to 05:00; MLflow every 10 minutes to 01:50 and again from 04:00 to 06:00.
        var records: [(Int64, String)] = []
        for k in 0...60 { records.append((midnight + Int64(k) * 5 * minute, trailRecord(midnight + Int64(k) * 5 * minute, user: "pipeline", id: "t-\(k)"))) }
        for k in 0...36 where k < 12 || k >= 24 {
            records.append((midnight + Int64(k) * 10 * minute, mlflowRecord(midnight + Int64(k) * 10 * minute, model: "fraud", id: "d-\(k)")))
        }
        let stream = records.sorted { $0.0 < $1.0 }.map(\.1)

        let dir = try TemporaryDirectory()
        try dir.write("rules/rules.yml", eventTimeRules)
        let input = try dir.write("stream.ndjson", stream.joined(separator: "\n") + "\n")
        let replay = try ChildProcess(
            PipewatchExecutable.url.path, ["replay", input, "--rules", dir.path("rules"), "--allowed-lateness", "5m"],
            directory: dir.url.path, stdout: dir.path("replay.ndjson"), stderr: dir.path("replay.err"))
        #expect(replay.wait() == 0, "\(dir.read("replay.err"))")
        let replayed = try alertKeys(dir.read("replay.ndjson")).filter { $0.hasPrefix("silent-source ") }
        #expect(replayed.count == 3, "MLflow silent at 02:20 and back at 04:00, CloudTrail silent at 05:30: \(replayed)")

        let kafka = try MockKafka()
        // Replay's sources go idle by event time; the daemon's by the wall clock, two seconds after the stream ends
        // (CloudTrail's silence at 05:30 needs CloudTrail, quiet since 05:00, to stop holding the release).
        let (daemonDir, running) = try start(kafka, topic: "silence", idleTimeout: "2s")
        try kafka.produce("silence", stream)
        #expect(running.wait(seconds: 60) { $0.records == stream.count })
        #expect(running.wait(seconds: 10) { _ in
            ((try? alertKeys(daemonDir.read("alerts.ndjson"))) ?? []).filter { $0.hasPrefix("silent-source ") }.count >= 3
        })
        #expect(running.stop())
        let daemon = try alertKeys(daemonDir.read("alerts.ndjson")).filter { $0.hasPrefix("silent-source ") }
        #expect(daemon == replayed)
    }
}
