import CRdKafka
import Foundation
import PipewatchKafka
import PipewatchOutput
import Testing

/// A mock cluster the test holds on to, for what `MockKafka` does not expose (brokers down, topic errors).
private final class ControllableMockCluster {
    private let owner: OpaquePointer
    let cluster: OpaquePointer
    let bootstrapServers: String

    init() throws {
        var errstr = [CChar](repeating: 0, count: 512)
        let conf = rd_kafka_conf_new()
        rd_kafka_conf_set(conf, "log_level", "0", &errstr, errstr.count)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            throw KafkaError(code: 0, message: "mock cluster owner")
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, 1) else {
            rd_kafka_destroy(owner)
            throw KafkaError(code: 0, message: "cannot start the mock cluster")
        }
        self.owner = owner
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    func createTopic(_ name: String, partitions: Int32) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: err.rawValue, message: "create topic \(name)") }
    }
}

/// One message read back from the topic.
struct ConsumedMessage {
    var partition: Int32
    var key: [UInt8]
    var payload: [UInt8]
}

/// Reads every partition of `topic` from the beginning with a plain assigned consumer (no group protocol, so no
/// rebalance delay) until `expected` messages arrived and a short quiet period passed (to catch duplicates).
func consumeAll(_ bootstrapServers: String, topic: String, partitions: Int32, expected: Int,
                        seconds: Double = 10) throws -> [ConsumedMessage] {
    var errstr = [CChar](repeating: 0, count: 512)
    let conf = rd_kafka_conf_new()
    for (key, value) in [("bootstrap.servers", bootstrapServers), ("group.id", "pw-sink-verify"),
                         ("enable.auto.commit", "false"), ("log_level", "3")] {
        rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
    }
    guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
        throw KafkaError(code: 0, message: "verification consumer")
    }
    defer {
        rd_kafka_consumer_close(consumer)
        rd_kafka_destroy(consumer)
    }
    let list = rd_kafka_topic_partition_list_new(partitions)
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for partition in 0..<partitions {
        rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = -2 // RD_KAFKA_OFFSET_BEGINNING
    }
    let err = rd_kafka_assign(consumer, list)
    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: err.rawValue, message: "assign") }

    var messages: [ConsumedMessage] = []
    let deadline = Date().addingTimeInterval(seconds)
    var quietUntil: Date?
    while Date() < deadline {
        if let quietUntil, Date() > quietUntil { break }
        guard let message = rd_kafka_consumer_poll(consumer, 100) else { continue }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) } ?? []
        let payload = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        messages.append(ConsumedMessage(partition: m.partition, key: key, payload: payload))
        if messages.count >= expected && quietUntil == nil { quietUntil = Date().addingTimeInterval(0.3) }
    }
    return messages
}

/// A formatted alert as a SIEM receives it (~600 bytes of JSON), unique per `n`.
private func alertJSON(_ n: Int, rule: String, entity: String) -> String {
    #"{"@timestamp":"2026-11-03T10:\#(String(format: "%02d", n % 60)):00.000Z","event":{"kind":"alert","category":["iam"],"type":["change"],"outcome":"success","severity":73},"rule":{"id":"\#(rule)","name":"SageMaker model deleted outside the pipeline role","ruleset":"pipewatch","reference":"https://example.com/rules/\#(rule)"},"user":{"name":"\#(entity)","id":"AROAEXAMPLE:\#(entity)"},"cloud":{"provider":"aws","account":{"id":"111122223333"},"region":"us-east-1"},"source":{"ip":"198.51.100.7"},"pipewatch":{"uid":"alert-\#(n)-\#(rule)-\#(entity)","source":"cloudtrail","event_name":"DeleteModel","request_id":"req-\#(n)"}}"#
}

private func isPermanent(_ error: SinkFailure) -> Bool {
    if case .permanent = error { return true }
    return false
}

private func isRetryable(_ error: SinkFailure) -> Bool {
    if case .retryable = error { return true }
    return false
}

@Suite struct KafkaSinkTests {
    @Test(.timeLimit(.minutes(1)))
    func deliversKeyedAlertsExactlyOnceWithSameKeyOnOnePartition() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("pw-alerts", partitions: 3)
        let sink = try KafkaSink(KafkaSinkConfiguration(bootstrapServers: kafka.bootstrapServers, topic: "pw-alerts",
                                                        properties: [("log_level", "3")]))
        #expect(sink.name == "kafka:pw-alerts")
        let rules = (0..<7).map { "b7c3a1e2-0000-4000-8000-00000000000\($0)" }
        let entities = (0..<11).map { "run-\($0)" }
        var batch: [(key: [UInt8], payload: [UInt8])] = []
        var keyOf: [[UInt8]: [UInt8]] = [:]
        for n in 0..<500 {
            let rule = rules[n % rules.count]
            let entity = entities[(n / rules.count) % entities.count]
            let key = Array("\(rule)|\(entity)".utf8)
            let payload = Array(alertJSON(n, rule: rule, entity: entity).utf8)
            batch.append((key: key, payload: payload))
            keyOf[payload] = key
        }
        // Through the delivery queue, as the pipeline sends: a keyed batch, then one without keys.
        let queue = DeliveryQueue(sink: sink, retry: RetryPolicy(maxAttempts: 3, initialDelay: 0.01), deadLetterPath: nil)
        queue.submit(DeliveryQueue.Batch(id: 1, payloads: batch.map(\.payload), keys: batch.map(\.key)))
        let unkeyed = (500..<520).map { Array(alertJSON($0, rule: rules[0], entity: "unkeyed").utf8) }
        queue.submit(DeliveryQueue.Batch(id: 2, payloads: unkeyed))
        queue.close()
        #expect(queue.statistics.delivered == 2)

        let consumed = try consumeAll(kafka.bootstrapServers, topic: "pw-alerts", partitions: 3, expected: 520)
        #expect(consumed.count == 520, "every alert exactly once")
        var seen: [[UInt8]: Int] = [:]
        var partitionOfKey: [[UInt8]: Int32] = [:]
        var partitionsUsed: Set<Int32> = []
        for message in consumed {
            seen[message.payload, default: 0] += 1
            partitionsUsed.insert(message.partition)
            if message.key.isEmpty {
                #expect(unkeyed.contains(message.payload))
                continue
            }
            #expect(keyOf[message.payload] == message.key, "the alert arrived with its key")
            if let partition = partitionOfKey[message.key] {
                #expect(partition == message.partition, "one key, one partition")
            }
            partitionOfKey[message.key] = message.partition
        }
        #expect(seen.count == 520)
        #expect(seen.values.allSatisfy { $0 == 1 }, "no duplicates")
        #expect(Set(keyOf.keys).isSubset(of: Set(seen.keys)), "no keyed alert missing")
        #expect(partitionOfKey.count == 77)
        #expect(partitionsUsed == [0, 1, 2], "the keys spread over the 3 partitions")
    }

    @Test
    func parsesKafkaURLsAndRefusesWeakerDelivery() throws {
        let full = try KafkaSinkConfiguration(parsing:
            "kafka://broker-1:9093,broker-2:9093/siem.alerts?security.protocol=SASL_SSL&sasl.mechanism=SCRAM-SHA-512"
            + "&sasl.username=pipewatch&sasl.password=p%26ss%3Dw%25rd&ssl.ca.location=/etc/ssl/kafka-ca.pem")
        #expect(full.bootstrapServers == "broker-1:9093,broker-2:9093")
        #expect(full.topic == "siem.alerts")
        #expect(full.properties.map(\.0) == ["security.protocol", "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location"])
        #expect(full.properties[3].1 == "p&ss=w%rd")
        let plain = try KafkaSinkConfiguration(parsing: "kafka://[::1]:9092/alerts")
        #expect(plain.bootstrapServers == "[::1]:9092")
        #expect(plain.properties.isEmpty)
        // acks=all and idempotence may be restated, not weakened.
        _ = try KafkaSinkConfiguration(parsing: "kafka://k:9092/alerts?acks=all&enable.idempotence=true&linger.ms=20")

        for bad in ["http://k:9092/alerts", "kafka://k:9092", "kafka://k:9092/", "kafka://k/alerts", "kafka://:9092/alerts",
                    "kafka://k:9092,/alerts", "kafka://k:9092/bad topic", "kafka://k:9092/a/b", "kafka://k:9092/alerts?acks=1",
                    "kafka://k:9092/alerts?enable.idempotence=false", "kafka://k:9092/alerts?linger.ms",
                    "kafka://k:9092/alerts?bootstrap.servers=other:9092", "kafka://k:9092/alerts?delivery.report.only.error=true"] {
            #expect(throws: KafkaError.self, "\(bad)") { try KafkaSinkConfiguration(parsing: bad) }
        }
        #expect(throws: KafkaError.self) {
            try KafkaSink(KafkaSinkConfiguration(bootstrapServers: "k:9092", topic: "alerts", properties: [("request.required.acks", "1")]))
        }
        #expect(throws: KafkaError.self) {
            try KafkaSink(KafkaSinkConfiguration(bootstrapServers: "k:9092", topic: "alerts", properties: [("no.such.property", "1")]))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func badTopicsAndOversizedAlertsArePermanentFailures() throws {
        let kafka = try ControllableMockCluster()
        try kafka.createTopic("pw-alerts", partitions: 3)
        let alert = Array(alertJSON(1, rule: "r1", entity: "e1").utf8)

        // An illegal topic name: refused before anything is produced.
        let badName = try KafkaSink(KafkaSinkConfiguration(bootstrapServers: kafka.bootstrapServers, topic: "alerts for/siem",
                                                           properties: [("log_level", "0")]))
        #expect(throws: SinkFailure.self) { try badName.deliver([alert]) }
        do { try badName.deliver([alert]) } catch { #expect(isPermanent(error), "\(error)") }
        badName.close()

        // A topic the broker calls invalid, and one it refuses to authorize: reported per message, permanent.
        for (topic, err) in [("pw-invalid", RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION),
                             ("pw-forbidden", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)] {
            rd_kafka_mock_topic_set_error(kafka.cluster, topic, err)
            let sink = try KafkaSink(KafkaSinkConfiguration(bootstrapServers: kafka.bootstrapServers, topic: topic,
                                                            properties: [("message.timeout.ms", "3000"), ("log_level", "0")]))
            let started = Date()
            do {
                try sink.deliver([alert, alert])
                Issue.record("delivered to \(topic)")
            } catch {
                #expect(isPermanent(error), "\(topic): \(error)")
            }
            #expect(Date().timeIntervalSince(started) < 8)
            sink.close()
        }

        // The broker refuses the produce request itself.
        do {
            let denying = try ControllableMockCluster()
            try denying.createTopic("pw-denied", partitions: 1)
            let errors = [rd_kafka_resp_err_t](repeating: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, count: 1)
            rd_kafka_mock_push_request_errors_array(denying.cluster, 0 /* Produce */, errors.count, errors)
            let sink = try KafkaSink(KafkaSinkConfiguration(bootstrapServers: denying.bootstrapServers, topic: "pw-denied",
                                                            properties: [("message.timeout.ms", "3000"), ("log_level", "0")]))
            do {
                try sink.deliver([alert, alert])
                Issue.record("delivered to pw-denied")
            } catch {
                #expect(isPermanent(error), "pw-denied: \(error)")
            }
            sink.close()
        }

        // Larger than message.max.bytes: permanent, and nothing of the batch is produced.
        let sink = try KafkaSink(KafkaSinkConfiguration(bootstrapServers: kafka.bootstrapServers, topic: "pw-alerts",
                                                        properties: [("message.max.bytes", "16384"), ("log_level", "0")]))
        let huge = Array(repeating: UInt8(ascii: "x"), count: 20_000)
        do {
            try sink.deliver([alert, huge, alert])
            Issue.record("an oversized alert was delivered")
        } catch {
            #expect(isPermanent(error), "\(error)")
        }
        // The key counts too.
        do {
            try sink.deliver([alert], keys: [huge])
            Issue.record("an oversized key was delivered")
        } catch {
            #expect(isPermanent(error), "\(error)")
        }
        try sink.deliver([alert])
        sink.close()
        let consumed = try consumeAll(kafka.bootstrapServers, topic: "pw-alerts", partitions: 3, expected: 1, seconds: 5)
        #expect(consumed.map(\.payload) == [alert], "only the last batch reached the topic")
    }

    @Test(.timeLimit(.minutes(1)))
    func brokerDownIsRetryableWithinTheDeliveryBoundThenRecovers() throws {
        let kafka = try ControllableMockCluster()
        try kafka.createTopic("pw-alerts", partitions: 3)
        let sink = try KafkaSink(KafkaSinkConfiguration(
            bootstrapServers: kafka.bootstrapServers, topic: "pw-alerts",
            properties: [("message.timeout.ms", "1500"), ("reconnect.backoff.ms", "50"), ("reconnect.backoff.max.ms", "200"),
                         ("log_level", "0")]))
        let alerts = (0..<50).map { Array(alertJSON($0, rule: "r1", entity: "e\($0 % 5)").utf8) }
        try sink.deliver(Array(alerts[0..<10]))

        rd_kafka_mock_broker_set_down(kafka.cluster, -1)
        let started = Date()
        do {
            try sink.deliver(Array(alerts[10..<30]))
            Issue.record("delivered with the broker down")
        } catch {
            #expect(isRetryable(error), "\(error)")
        }
        let failedAfter = Date().timeIntervalSince(started)
        #expect(failedAfter > 1.0 && failedAfter < 1.5 + 5 + 1,
                "bounded by message.timeout.ms plus the margin (took \(failedAfter) s)")

        rd_kafka_mock_broker_set_up(kafka.cluster, -1)
        // The delivery queue would retry the failed batch: it now goes through.
        try sink.deliver(Array(alerts[10..<30]))
        try sink.deliver(Array(alerts[30..<50]))
        sink.close()
        let consumed = try consumeAll(kafka.bootstrapServers, topic: "pw-alerts", partitions: 3, expected: 50, seconds: 8)
        #expect(Set(consumed.map(\.payload)) == Set(alerts))
        #expect(consumed.count == 50, "nothing of the failed attempt reached the topic")
    }
}
