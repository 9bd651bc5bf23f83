import CRdKafka
import Foundation
import PipewatchDaemon
import PipewatchKafka
import Testing

/// CloudTrail records one second apart in event time, not keyed by entity (the test producer keys them by their
/// position, so one principal's records spread over every partition). Blocks of five consecutive records belong to
/// one principal: 11 of them up to `newPrincipalsFrom`, 13 after (two principals new to every API operation).
enum SpreadCloudTrail {
    static let newPrincipalsFrom = 3_000

    static func record(_ n: Int) -> String {
        let time = String(format: "2026-11-03T%02d:%02d:%02dZ", n / 3600, n / 60 % 60, n % 60)
        return CloudTrail.record(n, time: time, principal: "run-\((n / 5) % (n < newPrincipalsFrom ? 11 : 13))")
    }

    static func records(_ range: Range<Int>) -> [String] { range.map(record) }
}

/// The stand-alone rule and the training-job correlation (by principal), and a new_value detector keyed by another
/// entity (the API operation): principals new to an operation after a minute of learning.
let scaleOutRules = trainingBurstRules + """

    ---
    title: Principal new to an operation
    id: 2d7c4e1a-8b3f-4a6d-9e0c-5f1b2a3c4d5e
    status: test
    level: medium
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection: {eventSource: sagemaker.amazonaws.com}
        condition: selection
    detector:
        type: new_value
        group-by: [eventName]
        field: userIdentity.arn
    tuning:
        learning: 1m
    """

let newPrincipalID = "2d7c4e1a-8b3f-4a6d-9e0c-5f1b2a3c4d5e"

/// The finding uids of the alerts of the rules `ids` in an OCSF alert file (complete lines only).
func findingUIDs(in text: String, rules ids: [String]) -> [String] {
    text[..<(text.lastIndex(of: "\n") ?? text.startIndex)].split(separator: "\n").compactMap { line in
        guard ids.contains(where: { line.contains($0) }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let finding = object["finding_info"] as? [String: Any]
        else { return nil }
        return finding["uid"] as? String
    }
}

/// A group's committed offsets, read without joining the group (a member joining would move the live group's
/// partitions).
func committedWithoutJoining(_ kafka: MockKafka, group: String, topic: String, partitions: Int32) throws -> [Int64] {
    var errstr = [CChar](repeating: 0, count: 512)
    let conf = rd_kafka_conf_new()
    for (key, value) in [("bootstrap.servers", kafka.bootstrapServers), ("group.id", group), ("log_level", "3")] {
        rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
    }
    guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
        throw KafkaError(code: 0, message: "consumer")
    }
    defer { rd_kafka_destroy(handle) }
    let list = rd_kafka_topic_partition_list_new(partitions)
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p) }
    let err = rd_kafka_committed(handle, list, 10_000)
    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: err.rawValue, message: "committed") }
    return (0..<Int(partitions)).map { list!.pointee.elems[$0].offset }
}

/// `scaling:`: matches re-keyed through the repartition topic, detector state per repartition partition in the
/// changelog, so N instances give the alerts of one.
@Suite(.serialized) struct ScaleOutTests {
    static let lateness = "allowed-lateness: 15m\nidle-timeout: off"

    @Test(.timeLimit(.minutes(6)))
    func threeInstancesOneKilledGiveTheDetectorAlertsOfOne() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("scale-in", partitions: 4)
        let total = 6_000, chunk = 500

        // One instance, not scaled: the alerts to match.
        let referenceDir = try TemporaryDirectory()
        let reference = try RunningDaemon(configuration: try daemonConfiguration(
            referenceDir, kafka: kafka, topic: "scale-in", group: "pw-scale-reference", rule: scaleOutRules,
            outputs: ["ocsf:file:alerts.ndjson"], extra: ScaleOutTests.lateness))

        var instances: [(process: ChildProcess, dir: TemporaryDirectory)] = []
        func start() throws {
            let dir = try TemporaryDirectory()
            let config = try daemonConfiguration(
                dir, kafka: kafka, topic: "scale-in", group: "pw-scale", rule: scaleOutRules,
                outputs: ["ocsf:file:alerts.ndjson"], maxBatch: 200,
                extra: ScaleOutTests.lateness + "\nscaling: {partitions: 4, checkpoint-interval: 300ms}")
            instances.append((try ChildProcess(
                PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out"), stderr: dir.path("err")), dir))
        }
        try start()
        try start()
        // In lock-step chunks, so that no instance runs far ahead of another in event time (records of one
        // principal meet from several instances within the allowed lateness).
        var produced = 0
        var killed = false
        while produced < total {
            try kafka.produce("scale-in", SpreadCloudTrail.records(produced..<produced + chunk))
            produced += chunk
            if produced == 2_500 {
                instances[0].process.send(SIGKILL)
                #expect(instances[0].process.wait() == 128 + SIGKILL)
                killed = true
            }
            if produced == 4_000 { try start() }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let committed = try committedWithoutJoining(kafka, group: "pw-scale", topic: "scale-in", partitions: 4)
                if reference.daemon.currentStatistics.records >= produced && committed.reduce(0, +) == Int64(produced) { break }
                usleep(100_000)
            }
        }
        #expect(killed)
        #expect(reference.wait(seconds: 60) { $0.records == total })
        usleep(1_000_000)
        #expect(reference.stop())
        let ids = [trainingBurstID, newPrincipalID]
        let expected = Set(findingUIDs(in: referenceDir.read("alerts.ndjson"), rules: ids))
        let expectedNew = Set(findingUIDs(in: referenceDir.read("alerts.ndjson"), rules: [newPrincipalID]))
        #expect(expected.count > 30, "the correlation fires along the stream (\(expected.count))")
        #expect(expectedNew.count == 10, "two new principals on five operations (\(expectedNew.count))")

        // The instances' detector alerts, once they are all there (or a minute passed).
        func scaled() -> Set<String> {
            Set(instances.flatMap { findingUIDs(in: $0.dir.read("alerts.ndjson"), rules: ids) })
        }
        let deadline = Date().addingTimeInterval(60)
        while scaled() != expected && Date() < deadline { usleep(200_000) }
        for instance in instances.dropFirst() {
            instance.process.send(SIGTERM)
            #expect(instance.process.wait(seconds: 60) == 0, "\(instance.dir.read("err"))")
        }
        let alerts = scaled()
        let logs = instances.map { $0.dir.read("err") }.joined(separator: "\n----\n")
        #expect(alerts == expected,
                "missing \(expected.subtracting(alerts).count), extra \(alerts.subtracting(expected).count): \(logs)")
        let plain = Set(instances.flatMap { endpointAlerts(in: $0.dir.read("alerts.ndjson")) })
        #expect(plain == Set((0..<total).filter { $0 % 5 == 2 }), "every stand-alone alert")
        #expect(try committedWithoutJoining(kafka, group: "pw-scale", topic: "scale-in", partitions: 4).reduce(0, +) == Int64(total))
        #expect(logs.contains("restored in"), "a partition's state moved to another instance")
    }

    @Test(.timeLimit(.minutes(5)))
    func aPartitionHandedOverKeepsItsSeenValuesAndItsBaseline() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("handover-in", partitions: 4)
        // 80 minutes of the stream; principal run-3 makes 90 extra calls in minute 50, after the second instance
        // joined (minute 40) and took repartition partitions over.
        let total = 4_800, joinAt = 2_400
        let spike = (0..<90).map { CloudTrail.record(100_000 + $0, time: String(format: "2026-11-03T00:50:%02dZ", $0 % 60), principal: "run-3") }
        let rules = scaleOutRules + """

            ---
            title: Call volume of a principal
            id: 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
            status: test
            level: high
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection: {eventSource: sagemaker.amazonaws.com}
                condition: selection
            detector:
                type: volume
                group-by: [userIdentity.arn]
                bucket: 1m
                baseline: ewma
                threshold: 3
                min_sigma: 2
            tuning:
                learning: 20m
            """
        let volumeID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

        let referenceDir = try TemporaryDirectory()
        let reference = try RunningDaemon(configuration: try daemonConfiguration(
            referenceDir, kafka: kafka, topic: "handover-in", group: "pw-handover-reference", rule: rules,
            outputs: ["ocsf:file:alerts.ndjson"], extra: ScaleOutTests.lateness))
        var instances: [(process: ChildProcess, dir: TemporaryDirectory)] = []
        func start() throws {
            let dir = try TemporaryDirectory()
            let config = try daemonConfiguration(
                dir, kafka: kafka, topic: "handover-in", group: "pw-handover", rule: rules,
                outputs: ["ocsf:file:alerts.ndjson"], maxBatch: 200,
                extra: ScaleOutTests.lateness + "\nscaling: {partitions: 4, checkpoint-interval: 300ms}")
            instances.append((try ChildProcess(
                PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out"), stderr: dir.path("err")), dir))
        }
        try start()
        var produced = 0
        while produced < total {
            var records = SpreadCloudTrail.records(produced..<produced + 400)
            if produced == 3_000 - 200 { records += spike }
            try kafka.produce("handover-in", records)
            produced += 400
            let count = produced + (produced > 3_000 - 200 ? spike.count : 0)
            if produced == joinAt {
                try start()
                // The group rebalances: wait until the newcomer restored partitions from the changelog.
                let deadline = Date().addingTimeInterval(60)
                while !instances[1].dir.read("err").contains("restored in") && Date() < deadline { usleep(100_000) }
            }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let committed = try committedWithoutJoining(kafka, group: "pw-handover", topic: "handover-in", partitions: 4)
                if reference.daemon.currentStatistics.records >= count && committed.reduce(0, +) == Int64(count) { break }
                usleep(100_000)
            }
        }
        #expect(reference.wait(seconds: 60) { $0.records == total + spike.count })
        usleep(1_000_000)
        #expect(reference.stop())
        let ids = [trainingBurstID, newPrincipalID, volumeID]
        let expected = Set(findingUIDs(in: referenceDir.read("alerts.ndjson"), rules: ids))
        #expect(findingUIDs(in: referenceDir.read("alerts.ndjson"), rules: [volumeID]).count >= 1,
                "the spike alerts on one instance, whose baseline was learnt before it")
        #expect(Set(findingUIDs(in: referenceDir.read("alerts.ndjson"), rules: [newPrincipalID])).count == 10)

        func scaled() -> Set<String> {
            Set(instances.flatMap { findingUIDs(in: $0.dir.read("alerts.ndjson"), rules: ids) })
        }
        let deadline = Date().addingTimeInterval(60)
        while scaled() != expected && Date() < deadline { usleep(200_000) }
        for instance in instances {
            instance.process.send(SIGTERM)
            #expect(instance.process.wait(seconds: 60) == 0, "\(instance.dir.read("err"))")
        }
        let logs = instances.map { $0.dir.read("err") }.joined(separator: "\n----\n")
        #expect(instances[1].dir.read("err").contains("restored in"), "the newcomer restored handed-over state: \(logs)")
        // The same alerts as one instance: the spike is judged against the baseline learnt by the partition's first
        // owner (a newcomer relearning would still be learning), and no new_value alert repeats a value the first
        // owner had seen (each would be another uid).
        let alerts = scaled()
        #expect(alerts == expected,
                "missing \(expected.subtracting(alerts).count), extra \(alerts.subtracting(expected).count): \(logs)")
    }

    @Test func configurationNamesTheTopicsAfterTheGroupAndRefusesWhatCannotScale() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rules/rule.yml", trainingBurstRules)
        let plain = try dir.write("plain.yaml", """
            inputs:
              kafka: {brokers: "127.0.0.1:9092", group: fraud, topics: [cloudtrail]}
            rules: [rules/]
            scaling: {}
            """)
        let scaling = try #require(try DaemonConfiguration.load(path: plain).scaling)
        #expect(scaling.repartitionTopic == "fraud-repartition" && scaling.changelogTopic == "fraud-changelog")
        #expect(scaling.partitions == nil && scaling.replication == -1 && scaling.checkpointInterval == 10)
        #expect(try DaemonConfiguration.load(path: try dir.write("none.yaml", """
            inputs:
              kafka: {brokers: "127.0.0.1:9092", group: fraud, topics: [cloudtrail]}
            rules: [rules/]
            """)).scaling == nil, "one instance's mode without scaling:")

        let bad = try dir.write("bad.yaml", """
            inputs:
              files: [archive/]
            rules: [rules/]
            state: detectors.state
            scaling:
              repartition-topic: "bad topic"
              changelog-topic: pw-changelog
              partitions: 0
              checkpoint-interval: soon
            """)
        do {
            _ = try DaemonConfiguration.load(path: bad)
            Issue.record("the configuration was accepted")
        } catch let error as DaemonConfigurationError {
            let problems = error.problems.joined(separator: "\n")
            for expected in [
                "bad.yaml:6: scaling needs a Kafka input", "bad.yaml:6: scaling cannot read files",
                "bad.yaml:4: state: and scaling: exclude each other", "bad.yaml:6: repartition-topic: the topic name 'bad topic'",
                "bad.yaml:8: partitions must be a whole number", "bad.yaml:9: checkpoint-interval must be a duration",
            ] {
                #expect(problems.contains(expected), "\(expected) in \(problems)")
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aSilentStreamStopsHoldingTheRepartitionPartitionsBack() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("idle-in", partitions: 1)  // in order: none of the eight is late
        let dir = try TemporaryDirectory()
        let config = try daemonConfiguration(
            dir, kafka: kafka, topic: "idle-in", group: "pw-idle", rule: trainingBurstRules,
            outputs: ["ocsf:file:alerts.ndjson"],
            extra: "allowed-lateness: 2s\nidle-timeout: 1s\nscaling: {partitions: 2, checkpoint-interval: 300ms}")
        let instance = try ChildProcess(
            PipewatchExecutable.url.path, ["run", "--config", config], stdout: dir.path("out"), stderr: dir.path("err"))
        // Eight training jobs of one principal in eight seconds, then nothing: the last ones stay behind the
        // watermark (2 s) until the silence releases them, and the eighth completes the correlation.
        try kafka.produce("idle-in", (0..<8).map {
            CloudTrail.record($0 * 5, time: String(format: "2026-11-03T00:00:%02dZ", $0), principal: "burst")
        })
        let deadline = Date().addingTimeInterval(60)
        while correlationAlerts(in: dir.read("alerts.ndjson")).isEmpty && Date() < deadline { usleep(100_000) }
        instance.send(SIGTERM)
        #expect(instance.wait(seconds: 60) == 0, "\(dir.read("err"))")
        #expect(correlationAlerts(in: dir.read("alerts.ndjson")).count == 1, "\(dir.read("err"))")
    }
}
