import CRdKafka
import Foundation
import PipewatchDaemon
import PipewatchKafka
import Testing

/// `pipewatch run` end to end on librdkafka's mock cluster: consumer groups, commits after acknowledgements,
/// rebalances, crashes, a failing sink and broker faults.
@Suite(.serialized) struct DaemonTests {
    /// Produces `range` in waves the daemon keeps up with: the mock keeps only ~5 MB per partition.
    func produceInWaves(_ kafka: MockKafka, _ topic: String, _ range: Range<Int>, wave: Int = 10_000,
                        consumed: () -> Int) throws {
        var next = range.lowerBound
        while next < range.upperBound {
            let end = min(next + wave, range.upperBound)
            try kafka.produce(topic, CloudTrail.records(next..<end))
            next = end
            let deadline = Date().addingTimeInterval(60)
            while consumed() < next - range.lowerBound - wave && Date() < deadline { usleep(20_000) }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func hundredThousandRecordsOnFourPartitionsGiveEveryAlertAndCommitToTheEnd() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-100k", partitions: 4)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-100k", group: "pw-100k", rule: createEndpointRule,
            outputs: ["ocsf:file:alerts.ndjson"], extra: "metrics: {listen: \"127.0.0.1:0\"}")
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 10) { _ in running.daemon.listeningPorts["metrics"] != nil })
        let metricsPort = try #require(running.daemon.listeningPorts["metrics"])
        // The mock group takes seconds to assign: not ready until then.
        #expect(try httpGet(metricsPort, "/healthz").status == 503)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 4 }, "assigned: \(running.log)")
        #expect(running.daemon.isReady)
        #expect(try httpGet(metricsPort, "/healthz").status == 200)

        let total = 100_000
        try produceInWaves(kafka, "audit-100k", 0..<total) { running.daemon.currentStatistics.records }
        let done = running.wait(seconds: 60) { $0.records == total && $0.committed.values.reduce(0, +) == Int64(total) }
        #expect(done, "records \(running.daemon.currentStatistics.records), committed \(running.daemon.currentStatistics.committed)")
        // Metrics are published twice a second: per partition records, commit position and lag.
        usleep(700_000)
        let metrics = try httpGet(metricsPort, "/metrics").body
        for partition in 0..<4 {
            let committed = try #require(running.daemon.currentStatistics.committed[KafkaTopicPartition("audit-100k", Int32(partition))])
            #expect(metrics.contains(#"pipewatch_kafka_committed_offset{topic="audit-100k",partition="\#(partition)"} \#(committed)"#), "\(metrics)")
            #expect(metrics.contains(#"pipewatch_kafka_consumer_lag{topic="audit-100k",partition="\#(partition)"} 0"#))
            #expect(metrics.contains(#"pipewatch_kafka_records_total{topic="audit-100k",partition="\#(partition)"} \#(committed)"#))
        }
        #expect(metrics.contains(#"pipewatch_records_total{source="aws.cloudtrail"} 100000"#))
        #expect(metrics.contains(#"pipewatch_alerts_total{rule="0b7e3c4e-1f2a-4c55-9a61-3d1c2b7e9f10"} 20000"#))
        #expect(running.stop())
        #expect(running.error == nil)

        let alerted = alertedRecords(in: dir.read("alerts.ndjson"))
        let expected = (0..<total).filter { $0 % 5 == 2 }
        #expect(alerted.count == expected.count, "one alert per CreateEndpoint record")
        #expect(alerted.sorted() == expected)
        #expect(running.daemon.currentStatistics.badRecords == 0)
        let committed = try committedOffsets(kafka, group: "pw-100k", topic: "audit-100k", partitions: 4)
        #expect(committed.reduce(0, +) == Int64(total), "committed to the end of every partition: \(committed)")
    }

    @Test(.timeLimit(.minutes(3)))
    func twoMembersSplitThePartitionsAndTheSurvivorTakesOverWithoutLoss() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-group", partitions: 4)
        let dirA = try TemporaryDirectory(), dirB = try TemporaryDirectory()
        let configA = try daemonConfiguration(
            dirA, kafka: kafka, topic: "audit-group", group: "pw-group", rule: everySageMakerCallRule,
            outputs: ["ocsf:file:alerts.ndjson"])
        let configB = try daemonConfiguration(
            dirB, kafka: kafka, topic: "audit-group", group: "pw-group", rule: everySageMakerCallRule,
            outputs: ["ocsf:file:alerts.ndjson"])
        let a = try RunningDaemon(configuration: configA)
        let b = try RunningDaemon(configuration: configB)
        let split = a.wait(seconds: 40) { sa in
            let sb = b.daemon.currentStatistics
            return sa.assignment.count == 2 && sb.assignment.count == 2 && sa.assignment.isDisjoint(with: sb.assignment)
        }
        #expect(split, "the group splits 4 partitions 2 + 2: \(a.log) \(b.log)")

        try kafka.produce("audit-group", CloudTrail.records(0..<8_000))
        #expect(a.wait(seconds: 30) { sa in sa.records + b.daemon.currentStatistics.records >= 8_000 })
        #expect(a.daemon.currentStatistics.records > 0 && b.daemon.currentStatistics.records > 0, "both members work")

        // A leaves; B must end up with all four partitions and read what A did not commit.
        #expect(a.stop())
        try kafka.produce("audit-group", CloudTrail.records(8_000..<12_000))
        #expect(b.wait(seconds: 40) { $0.assignment.count == 4 }, "the survivor owns every partition: \(b.log)")
        let all = b.wait(seconds: 40) { _ in
            Set(alertedRecords(in: dirA.read("alerts.ndjson")) + alertedRecords(in: dirB.read("alerts.ndjson"))).count == 12_000
        }
        #expect(b.stop())
        let fromA = alertedRecords(in: dirA.read("alerts.ndjson"))
        let fromB = alertedRecords(in: dirB.read("alerts.ndjson"))
        #expect(all, "every record alerted by one of the members")
        #expect(Set(fromA + fromB) == Set(0..<12_000))
        // Duplicates come only from work a member had not got committed when it gave partitions up (the mock, like
        // a broker mid-rebalance, may refuse the commits of a revocation).
        let window = a.daemon.currentStatistics.redeliveryWindow + b.daemon.currentStatistics.redeliveryWindow
        #expect(fromA.count + fromB.count - 12_000 <= Int(window),
                "duplicates (\(fromA.count + fromB.count - 12_000)) only from the uncommitted window (\(window))")
        let committed = try committedOffsets(kafka, group: "pw-group", topic: "audit-group", partitions: 4)
        #expect(committed.reduce(0, +) == 12_000)
    }

    @Test(.timeLimit(.minutes(3)))
    func commitsWaitForAFailingHTTPSinkAndCatchUpAfterIt() throws {
        // Every record raises an alert; the collector answers 503 to its first 25 requests.
        let collector = try LoopbackCollector(token: "t", failFirst: 25)
        let kafka = try MockKafka()
        try kafka.createTopic("audit-503", partitions: 2)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-503", group: "pw-503", rule: everySageMakerCallRule,
            outputs: ["hec:splunk+http://127.0.0.1:\(collector.port)?token=t"], maxBatch: 100,
            extra: "delivery: {queue-capacity: 2, max-attempts: 1000, initial-delay: 50ms, max-delay: 100ms}")
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 2 })
        try kafka.produce("audit-503", CloudTrail.records(0..<3_000))

        // Until the collector accepts a first batch, nothing may be committed: every record waits for its alert.
        var checks = 0
        while try collector.acceptedRecords().isEmpty {
            #expect(running.daemon.currentStatistics.committed.values.allSatisfy { $0 <= 0 },
                    "committed past undelivered alerts: \(running.daemon.currentStatistics.committed)")
            checks += 1
            usleep(10_000)
        }
        #expect(checks > 10, "the refusals lasted a while")
        #expect(running.daemon.currentStatistics.pauses > 0, "the full sink queue paused the Kafka input")
        let caughtUp = running.wait(seconds: 60) { $0.committed.values.reduce(0, +) == 3_000 }
        #expect(caughtUp, "commits catch up once the collector accepts: \(running.daemon.currentStatistics.committed)")
        #expect(running.stop())
        let accepted = try collector.acceptedRecords()
        #expect(accepted.first?.request == 26, "the first 25 requests were refused with 503 and retried")
        #expect(accepted.count == 3_000 && Set(accepted.map(\.record)) == Set(0..<3_000), "every alert exactly once")
    }

    @Test(.timeLimit(.minutes(3)))
    func brokerFaultsAreSurvivedWithoutLoss() throws {
        let kafka = try MockKafka(brokers: 3)
        try kafka.createTopic("audit-faults", partitions: 4)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-faults", group: "pw-faults", rule: everySageMakerCallRule,
            outputs: ["ocsf:file:alerts.ndjson"])
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 4 })
        try kafka.produce("audit-faults", CloudTrail.records(0..<2_000))
        #expect(running.wait(seconds: 30) { $0.records >= 2_000 })

        // Commits and fetches fail for a while, then a broker goes down and comes back.
        kafka.pushRequestErrors(apiKey: 8 /* OffsetCommit */, count: 5, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
        kafka.pushRequestErrors(apiKey: 1 /* Fetch */, count: 5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
        try kafka.produce("audit-faults", CloudTrail.records(2_000..<4_000))
        kafka.setBroker(2, up: false)
        usleep(1_500_000)
        kafka.setBroker(2, up: true)
        try kafka.produce("audit-faults", CloudTrail.records(4_000..<6_000))

        let done = running.wait(seconds: 90) { $0.committed.values.reduce(0, +) == 6_000 }
        #expect(done, "committed \(running.daemon.currentStatistics.committed)")
        #expect(running.stop())
        let alerted = alertedRecords(in: dir.read("alerts.ndjson"))
        #expect(Set(alerted) == Set(0..<6_000), "no record lost to the faults")
    }
}

/// `pipewatch run` as a process, killed with SIGKILL mid-stream and started again.
@Suite(.serialized) struct DaemonCrashTests {
    @Test(.timeLimit(.minutes(3)))
    func aKilledDaemonLosesNothingAndDuplicatesOnlyItsUncommittedWindow() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-crash", partitions: 4)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-crash", group: "pw-crash", rule: everySageMakerCallRule,
            outputs: ["ocsf:file:alerts-1.ndjson"])
        let total = 20_000
        // Half the records before the first run, the rest while it is down: a fast machine cannot race the first
        // run to the end of the topic before it is killed.
        try kafka.produce("audit-crash", CloudTrail.records(0..<total / 2))

        // The first run is killed once it has written a good part of the alerts, commits still trailing.
        let first = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out-1"), stderr: dir.path("err-1"))
        let deadline = Date().addingTimeInterval(60)
        while alertedRecords(in: dir.read("alerts-1.ndjson")).count < total / 3 && Date() < deadline && first.isRunning {
            usleep(5_000)
        }
        first.send(SIGKILL)
        #expect(first.wait() == 128 + SIGKILL, "killed, not finished: \(dir.read("err-1"))")
        let firstAlerts = alertedRecords(in: dir.read("alerts-1.ndjson"))
        #expect(firstAlerts.count >= total / 3 && firstAlerts.count < total, "killed mid-stream (\(firstAlerts.count) alerts)")

        // What the group had committed when the first run died (read once its session expired).
        let committed = try committedOffsets(kafka, group: "pw-crash", topic: "audit-crash", partitions: 4)
            .map { max(0, $0) }.reduce(0, +)
        try kafka.produce("audit-crash", CloudTrail.records(total / 2..<total))

        // The second run, same group, another alert file.
        try dir.write("pipewatch.yaml", dir.read("pipewatch.yaml").replacingOccurrences(of: "alerts-1.ndjson", with: "alerts-2.ndjson"))
        let second = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out-2"), stderr: dir.path("err-2"))
        let expected = Set(0..<total)
        let finished = Date().addingTimeInterval(90)
        while Set(firstAlerts + alertedRecords(in: dir.read("alerts-2.ndjson"))) != expected && Date() < finished {
            usleep(50_000)
        }
        second.send(SIGTERM)
        #expect(second.wait(seconds: 60) == 0, "SIGTERM drains, commits and exits 0: \(dir.read("err-2"))")

        let secondAlerts = alertedRecords(in: dir.read("alerts-2.ndjson"))
        #expect(Set(firstAlerts + secondAlerts) == expected, "nothing lost across the crash")
        let duplicates = firstAlerts.count + secondAlerts.count - total
        #expect(duplicates <= firstAlerts.count - Int(committed),
                "duplicates (\(duplicates)) only from what the first run had not committed (\(firstAlerts.count) alerted, \(committed) committed)")
        #expect(Set(secondAlerts).count == secondAlerts.count, "the second run reads each record once")
        let final = try committedOffsets(kafka, group: "pw-crash", topic: "audit-crash", partitions: 4)
        #expect(final.reduce(0, +) == Int64(total), "SIGTERM committed to the end: \(final)")
    }
}

/// Rule reloads, bad records and the configuration check.
@Suite(.serialized) struct DaemonOperationTests {
    @Test(.timeLimit(.minutes(2)))
    func reloadsSwapRulesBetweenBatchesAndABrokenRuleSetIsRefused() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-reload", partitions: 1)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-reload", group: "pw-reload", rule: createEndpointRule,
            outputs: ["ocsf:file:alerts.ndjson"])
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 1 })
        try kafka.produce("audit-reload", CloudTrail.records(0..<1_000))
        #expect(running.wait(seconds: 30) { $0.records == 1_000 })

        // A second rule, then SIGHUP's request: records after the reload see both rules, none is read twice.
        try dir.write("rules/every-call.yml", everySageMakerCallRule)
        running.daemon.requestReload()
        #expect(running.wait(seconds: 10) { $0.ruleReloads == 1 && $0.rules == 2 })
        try kafka.produce("audit-reload", CloudTrail.records(1_000..<2_000))
        #expect(running.wait(seconds: 30) { $0.records == 2_000 })

        // A rule file that does not compile: refused, the two running rules stay.
        try dir.write("rules/broken.yml", "title: broken\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName|nosuchmodifier: x}\n  condition: sel\n")
        running.daemon.requestReload()
        #expect(running.wait(seconds: 10) { $0.refusedReloads == 1 })
        #expect(running.log.contains { $0.contains("rules not reloaded") && $0.contains("broken.yml:4") },
                "the refusal names the file and line: \(running.log)")
        try kafka.produce("audit-reload", CloudTrail.records(2_000..<3_000))
        #expect(running.wait(seconds: 30) { $0.records == 3_000 && $0.committed.values.reduce(0, +) == 3_000 })
        #expect(running.stop())

        let alerted = alertedRecords(in: dir.read("alerts.ndjson"))
        let endpointCalls = { (range: Range<Int>) in range.filter { $0 % 5 == 2 } }
        // Before the reload one rule; after it, both (every record, plus CreateEndpoint once more).
        let expected = endpointCalls(0..<1_000) + Array(1_000..<3_000) + endpointCalls(1_000..<3_000)
        #expect(alerted.sorted() == expected.sorted())
        #expect(running.daemon.currentStatistics.rules == 2)
    }

    @Test(.timeLimit(.minutes(2)))
    func badRecordsAreDeadLetteredWithTheirPartitionAndOffsetAndCommittedPast() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-bad", partitions: 1)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-bad", group: "pw-bad", rule: createEndpointRule,
            outputs: ["ocsf:file:alerts.ndjson", "ocsf:kafka://\(kafka.bootstrapServers)/alerts-out?log_level=3"])
        try kafka.createTopic("alerts-out", partitions: 2)
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 1 })
        var values = CloudTrail.records(0..<10)
        values.insert(#"{"eventVersion":"1.09","eventName":"#, at: 3)         // offset 3: truncated JSON
        values.insert(#"{"kind":"Unknown","something":true}"#, at: 7)      // offset 7: no known source
        try kafka.produce("audit-bad", values, partition: 0)
        #expect(running.wait(seconds: 30) { $0.committed.values.reduce(0, +) == 12 }, "committed past the bad records")
        #expect(running.stop())

        let lines = dir.read("dead.ndjson").split(separator: "\n")
        #expect(lines.count == 2)
        let letters = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(letters.map { $0["input"] as? String } == ["kafka:audit-bad[0]", "kafka:audit-bad[0]"])
        #expect(letters.map { $0["offset"] as? Int } == [3, 7])
        #expect(letters.allSatisfy { !(($0["reason"] as? String) ?? "").isEmpty })
        #expect(letters[0]["raw"] as? String == #"{"eventVersion":"1.09","eventName":"#)
        #expect(running.daemon.currentStatistics.badRecords == 2)
        #expect(alertedRecords(in: dir.read("alerts.ndjson")) == [2, 7])
        // The Kafka output keys each alert by rule id and entity (the actor).
        let produced = try consumeAll(kafka.bootstrapServers, topic: "alerts-out", partitions: 2, expected: 2)
        let keys = Set(produced.map { String(decoding: $0.key, as: UTF8.self) })
        #expect(keys == Set([2, 7].map { "0b7e3c4e-1f2a-4c55-9a61-3d1c2b7e9f10|arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/run-\($0)" }))
    }

    @Test(.timeLimit(.minutes(2)))
    func badRecordsCanGoToADeadLetterTopic() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("audit-dlt", partitions: 1)
        try kafka.createTopic("dead-letters", partitions: 1)
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "audit-dlt", group: "pw-dlt", rule: createEndpointRule,
            outputs: ["ocsf:file:alerts.ndjson"], deadLetter: "kafka://\(kafka.bootstrapServers)/dead-letters?log_level=3")
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 30) { $0.assignment.count == 1 })
        var values = CloudTrail.records(0..<5)
        values.insert("not json at all", at: 1)
        try kafka.produce("audit-dlt", values, partition: 0)
        #expect(running.wait(seconds: 30) { $0.committed.values.reduce(0, +) == 6 })
        #expect(running.stop())

        let letters = try consumeAll(kafka.bootstrapServers, topic: "dead-letters", partitions: 1, expected: 1)
        #expect(letters.count == 1)
        let letter = try #require(try JSONSerialization.jsonObject(with: Data(letters[0].payload)) as? [String: Any])
        #expect(letter["input"] as? String == "kafka:audit-dlt[0]" && letter["offset"] as? Int == 1)
        #expect(letter["raw"] as? String == "not json at all")
        #expect(!FileManager.default.fileExists(atPath: dir.path("dead.ndjson")))
    }

    @Test func configCheckReportsEveryProblemWithItsLine() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("pipewatch.yaml", """
            inputs:
              kafka:
                brokers: 127.0.0.1:9092
                topics: [audit]
                properties: {enable.auto.commit: "true"}
              webhook:
                listen: nowhere
                secrets: [env:PIPEWATCH_TEST_UNSET_SECRET]
            rules: [rules/]
            outputs:
              - cef:ftp://siem
              - ocsf:stdout
            delivery: {queue-capacity: 0, shutdown-timeout: soon}
            colour: blue
            """)
        #expect(throws: DaemonConfigurationError.self) { try DaemonConfiguration.load(path: path) }
        do {
            _ = try DaemonConfiguration.load(path: path)
        } catch let error as DaemonConfigurationError {
            let expected = [
                ":3: kafka needs group", ":5: the Kafka property enable.auto.commit cannot be set",
                ":7: webhook.listen must be HOST:PORT", ":8: environment variable PIPEWATCH_TEST_UNSET_SECRET is not set",
                ":11: output cef:ftp://siem: unknown sink", ":13: queue-capacity must be a whole number",
                ":13: shutdown-timeout must be a duration", ":14: unknown key 'colour'",
            ]
            for fragment in expected {
                #expect(error.problems.contains { $0.hasPrefix(path) && $0.contains(fragment) }, "\(fragment) in \(error.problems)")
            }
        }

        // The command prints the same and fails; a good file passes with its rule count.
        let bad = try ChildProcess(PipewatchExecutable.url.path, ["config", "check", path], stdout: dir.path("bad.out"))
        #expect(bad.wait() == 1)
        #expect(dir.read("bad.out").contains("pipewatch.yaml:14: unknown key 'colour'"))
        try dir.write("rules/rule.yml", createEndpointRule)
        let good = try dir.write("good.yaml", "inputs: {files: [records/]}\nrules: [rules/]\noutputs: [ocsf:stdout]\n")
        let check = try ChildProcess(PipewatchExecutable.url.path, ["config", "check", good], stdout: dir.path("good.out"))
        #expect(check.wait() == 0)
        #expect(dir.read("good.out").contains("ok (1 rules, 1 output(s))"))
    }
}
