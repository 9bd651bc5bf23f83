import CRdKafka
import Foundation

/// A producer for the topics Pipewatch keeps for itself (the repartition topic and the detector-state changelog):
/// messages go to the partition the caller chose, and `produce` returns only once the brokers acknowledged every
/// message (acks=all, idempotent), so the caller may then commit what they stand for. It also creates those topics.
/// Not thread-safe: one thread produces.
public final class KafkaTopicProducer {
    public let bootstrapServers: String
    private var handle: OpaquePointer?
    private var topics: [String: OpaquePointer] = [:]
    /// Delivery reports still awaited in the current `produce`, and the first failure among them.
    fileprivate var outstanding = 0
    fileprivate var firstFailure: String?
    fileprivate var lastClientError: String?
    /// Tags the reports of the current `produce`, so late ones of an abandoned call are ignored.
    private var generation: UInt = 0
    /// How long `produce` waits for its delivery reports, in seconds.
    public let deliveryWait: Double
    /// Messages and bytes (keys and values) acknowledged so far.
    public private(set) var messages = 0
    public private(set) var bytes = 0

    /// Producer defaults; `properties` (SASL, TLS…, as the consumer has them) come after.
    public static let defaults: [(String, String)] = [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "5"),
        ("message.timeout.ms", "30000"),
    ]

    /// Consumer-only properties are left out of the producer's configuration.
    static let consumerOnly: Set<String> = [
        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.offset.reset",
        "partition.assignment.strategy", "group.instance.id", "fetch.min.bytes", "fetch.wait.max.ms",
        "fetch.max.bytes", "max.partition.fetch.bytes", "isolation.level", "enable.partition.eof",
        "check.crcs", "queued.min.messages", "queued.max.messages.kbytes", "fetch.message.max.bytes",
    ]

    public init(bootstrapServers: String, properties: [(String, String)] = []) throws {
        self.bootstrapServers = bootstrapServers
        let conf = rd_kafka_conf_new()
        var errstr = [CChar](repeating: 0, count: 512)
        let settings = [("bootstrap.servers", bootstrapServers)] + KafkaTopicProducer.defaults
            + properties.filter { !KafkaTopicProducer.consumerOnly.contains($0.0) }
        var wait = 30.0
        for (key, value) in settings {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: 0, message: "Kafka property \(key): " + kafkaText(errstr))
            }
            if key == "message.timeout.ms", let ms = Double(value) { wait = ms / 1000 }
        }
        deliveryWait = wait + 5
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, topicProducerDeliveryReport)
        rd_kafka_conf_set_error_cb(conf, topicProducerErrorCallback)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: 0, message: "cannot create the Kafka producer: " + kafkaText(errstr))
        }
        self.handle = handle
    }

    deinit { close() }

    /// Waits (bounded) for what is in flight, then frees the producer.
    public func close() {
        guard let handle else { return }
        _ = rd_kafka_flush(handle, 5000)
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        topics.removeAll()
        rd_kafka_destroy(handle)
        self.handle = nil
    }

    /// One message: its partition, key and value.
    public struct Message {
        public var partition: Int32
        public var key: [UInt8]
        public var value: [UInt8]

        public init(partition: Int32, key: [UInt8], value: [UInt8]) {
            self.partition = partition
            self.key = key
            self.value = value
        }
    }

    /// Produces `messages` to `topic` and waits until the brokers acknowledged every one; throws if any failed or
    /// the wait ran out (what was acknowledged stays in the topic: the caller produces the whole batch again).
    public func produce(_ topic: String, _ messages: [Message]) throws {
        guard let handle else { throw KafkaError(code: 0, message: "the producer is closed") }
        guard !messages.isEmpty else { return }
        let topicHandle = try self.topic(topic)
        generation &+= 1
        if generation == 0 { generation = 1 }
        let tag = UnsafeMutableRawPointer(bitPattern: generation)
        outstanding = 0
        firstFailure = nil
        lastClientError = nil
        let deadline = Date().addingTimeInterval(deliveryWait)
        var size = 0
        for message in messages {
            while true {
                let result = message.value.withUnsafeBytes { value in
                    message.key.withUnsafeBytes { key in
                        rd_kafka_produce(topicHandle, message.partition, RD_KAFKA_MSG_F_COPY,
                                         UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
                                         key.baseAddress, key.count, tag)
                    }
                }
                if result == 0 { break }
                let err = rd_kafka_last_error()
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL && Date() < deadline {
                    rd_kafka_poll(handle, 10)
                    continue
                }
                // Reports of what was produced before are served by the next call's flush and ignored.
                _ = rd_kafka_flush(handle, 1000)
                throw KafkaError(err, "cannot produce to \(topic)[\(message.partition)]")
            }
            outstanding += 1
            size += message.key.count + message.value.count
        }
        while outstanding > 0 {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                throw KafkaError(code: 0, message: "\(outstanding) of \(messages.count) messages to \(topic) not acknowledged "
                    + "after \(Int(deliveryWait)) s" + (lastClientError.map { " (\($0))" } ?? ""))
            }
            _ = rd_kafka_flush(handle, Int32(min(100, max(1, remaining * 1000))))
        }
        if let firstFailure { throw KafkaError(code: 0, message: "producing to \(topic): \(firstFailure)") }
        self.messages += messages.count
        bytes += size
    }

    /// Creates `topic` with `partitions` partitions (`replication` −1: the brokers' default) and the given topic
    /// configuration; a topic that exists already is left as it is. Returns whether it was created.
    @discardableResult
    public func createTopic(_ topic: String, partitions: Int32, replication: Int32 = -1,
                            config: [(String, String)] = [], timeout: Double = 10) throws -> Bool {
        guard let handle else { throw KafkaError(code: 0, message: "the producer is closed") }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, replication, &errstr, errstr.count) else {
            throw KafkaError(code: 0, message: "cannot create topic \(topic): " + kafkaText(errstr))
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (key, value) in config {
            let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "topic \(topic): \(key)") }
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var list: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &list, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout * 1000)) else {
            throw KafkaError(code: 0, message: "creating topic \(topic): no answer within \(Int(timeout)) s")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(eventError, "creating topic \(topic)") }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: 0, message: "creating topic \(topic): unexpected answer")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count), count > 0, let first = results[0] else {
            return true
        }
        let err = rd_kafka_topic_result_error(first)
        if err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { return false }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = rd_kafka_topic_result_error_string(first).map { String(cString: $0) } ?? ""
            throw KafkaError(code: err.rawValue, message: "creating topic \(topic): \(detail)")
        }
        return true
    }

    /// The number of partitions of `topic` as the brokers know it; nil when it does not exist.
    public func partitionCount(_ topic: String, timeout: Double = 10) throws -> Int32? {
        guard let handle else { throw KafkaError(code: 0, message: "the producer is closed") }
        let topicHandle = try self.topic(topic)
        var metadata: UnsafePointer<rd_kafka_metadata_t>?
        let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(timeout * 1000))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, "metadata of \(topic)") }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        guard let entry = topics.first(where: { String(cString: $0.topic) == topic }),
              entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.partition_cnt > 0 else { return nil }
        return entry.partition_cnt
    }

    private func topic(_ name: String) throws -> OpaquePointer {
        if let known = topics[name] { return known }
        guard let handle, let created = rd_kafka_topic_new(handle, name, nil) else {
            throw KafkaError(rd_kafka_last_error(), "cannot use the Kafka topic \(name)")
        }
        topics[name] = created
        return created
    }

    fileprivate func reported(_ message: rd_kafka_message_t) {
        guard UInt(bitPattern: message._private) == generation else { return }
        outstanding -= 1
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR && firstFailure == nil {
            firstFailure = String(cString: rd_kafka_err2str(message.err))
        }
    }
}

private func topicProducerDeliveryReport(_ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                                         _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    Unmanaged<KafkaTopicProducer>.fromOpaque(opaque).takeUnretainedValue().reported(message.pointee)
}

private func topicProducerErrorCallback(_ handle: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?,
                                        _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<KafkaTopicProducer>.fromOpaque(opaque).takeUnretainedValue().lastClientError =
        String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: err))) + " — " + (reason.map { String(cString: $0) } ?? "")
}
