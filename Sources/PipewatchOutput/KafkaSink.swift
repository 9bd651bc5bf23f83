import CRdKafka
import Foundation
import PipewatchKafka
import PipewatchOutput

/// Where a `KafkaSink` produces: the brokers, one topic, and extra librdkafka properties.
public struct KafkaSinkConfiguration: Sendable {
    /// `host:port[,host:port…]`.
    public var bootstrapServers: String
    public var topic: String
    /// Any librdkafka producer property (`security.protocol`, `sasl.mechanism`, `sasl.username`, `ssl.ca.location`,
    /// `linger.ms`, `message.timeout.ms`, `compression.type`…), applied after the defaults. Turning off what makes
    /// delivery durable (`acks` other than all, `enable.idempotence=false`, `delivery.report.only.error`) is refused.
    public var properties: [(String, String)]

    public init(bootstrapServers: String, topic: String, properties: [(String, String)] = []) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.properties = properties
    }

    /// Parses `kafka://host:port[,host:port…]/topic[?key=value&…]`; every query item is a librdkafka property.
    /// Keys and values are percent-decoded (encode `&`, `=`, `%`, `#` and `+` in passwords as `%26`, `%3D`, …).
    public init(parsing url: String) throws {
        let scheme = "kafka://"
        guard url.lowercased().hasPrefix(scheme) else {
            throw KafkaError(code: 0, message: "Kafka output \(url): expected kafka://host:port[,host:port]/topic[?key=value&...]")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw KafkaError(code: 0, message: "Kafka output \(url): no topic (kafka://host:port/topic)")
        }
        let hosts = rest[..<slash].split(separator: ",", omittingEmptySubsequences: false)
        for host in hosts {
            guard let colon = host.lastIndex(of: ":"), colon != host.startIndex,
                  let port = Int(host[host.index(after: colon)...]), (1...65535).contains(port) else {
                throw KafkaError(code: 0, message: "Kafka output \(url): broker '\(host)' is not host:port")
            }
        }
        guard let topic = String(rest[rest.index(after: slash)...]).removingPercentEncoding else {
            throw KafkaError(code: 0, message: "Kafka output \(url): bad percent-encoding in the topic")
        }
        var properties: [(String, String)] = []
        for item in query.split(separator: "&") {
            guard let equals = item.firstIndex(of: "="),
                  let key = String(item[..<equals]).removingPercentEncoding, !key.isEmpty,
                  let value = String(item[item.index(after: equals)...]).removingPercentEncoding else {
                throw KafkaError(code: 0, message: "Kafka output \(url): option '\(item)' is not key=value")
            }
            properties.append((key, value))
        }
        self.init(bootstrapServers: hosts.joined(separator: ","), topic: topic, properties: properties)
        if let problem = KafkaSinkConfiguration.topicProblem(topic) {
            throw KafkaError(code: 0, message: "Kafka output \(url): \(problem)")
        }
        try validate()
    }

    /// Durable, ordered delivery; a short linger so small alert batches leave quickly; a delivery bound well under
    /// librdkafka's 5 minutes so a dead cluster turns into a retryable failure the delivery queue can act on.
    public static let defaults: [(String, String)] = [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "5"),
        ("message.timeout.ms", "30000"),
    ]

    /// Properties that may only take these values.
    static let pinned: [String: Set<String>] = [
        "acks": ["all", "-1"],
        "request.required.acks": ["all", "-1"],
        "enable.idempotence": ["true"],
        "delivery.report.only.error": ["false"],
    ]

    static let refused: Set<String> = ["bootstrap.servers", "metadata.broker.list", "transactional.id"]

    /// Refuses properties that would break the sink's delivery guarantees.
    public func validate() throws {
        for (key, value) in properties {
            if KafkaSinkConfiguration.refused.contains(key) {
                throw KafkaError(code: 0, message: "the Kafka property \(key) cannot be set here")
            }
            if let allowed = KafkaSinkConfiguration.pinned[key], !allowed.contains(value.lowercased()) {
                throw KafkaError(code: 0, message: "the Kafka property \(key) must stay \(allowed.sorted().joined(separator: " or ")) (alerts are delivered durably)")
            }
        }
    }

    /// Why `topic` is not a legal Kafka topic name (1–249 of `[A-Za-z0-9._-]`, not `.` or `..`), or nil.
    public static func topicProblem(_ topic: String) -> String? {
        if topic.isEmpty { return "the topic name is empty" }
        if topic.utf8.count > 249 { return "the topic name is longer than 249 characters" }
        if topic == "." || topic == ".." { return "'\(topic)' is not a topic name" }
        let legal = topic.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        return legal ? nil : "the topic name '\(topic)' may only contain letters, digits, '.', '_' and '-'"
    }

    /// The properties handed to librdkafka, in order (later settings win).
    var settings: [(String, String)] {
        [("bootstrap.servers", bootstrapServers)] + KafkaSinkConfiguration.defaults + properties
    }

    /// The last value set for any of `keys`.
    func setting(_ keys: Set<String>) -> String? {
        settings.last { keys.contains($0.0) }?.1
    }
}

/// Alerts produced to one Kafka topic by an idempotent producer (acks=all). `deliver` produces the whole batch, then
/// serves delivery reports until every message of the batch is acknowledged or failed, bounded by
/// `message.timeout.ms` (plus a margin): it returns only when the broker acknowledged every message.
///
/// Failures: a message larger than `message.max.bytes`, an illegal topic name, a topic the broker calls invalid or
/// refuses to authorize, and a record the broker rejects are permanent (`SinkFailure.permanent`); everything else
/// (time-outs, brokers down, a full queue, leader changes) is retryable. If some messages of a batch were
/// acknowledged and others failed retryably, the whole batch is reported retryable, so the delivery queue produces
/// it again: delivery is **at least once**. Idempotence removes the duplicates of librdkafka's own internal
/// retries, not those of a batch produced a second time, so the acknowledged part of a partially failed batch
/// appears twice in the topic (alerts carry a deterministic `uid` for downstream de-duplication). A permanent
/// failure of any message fails the whole batch permanently (it is dead-lettered whole, including messages that
/// were acknowledged); sizes are checked before anything is produced so an oversized alert costs no partial batch.
///
/// Message keys: `deliver(_:keys:)` takes a key per message (`Alert.partitionKey`: rule id and entity, so one
/// entity's alerts of a rule stay ordered in one partition); `deliver(_ payloads:)` produces without keys (spread
/// over partitions).
/// Calls are serialized; after a fatal producer error the producer is recreated at the next `deliver`.
public final class KafkaSink: KeyedAlertSink, @unchecked Sendable {
    public let name: String
    public let configuration: KafkaSinkConfiguration

    private let lock = NSLock()
    private var handle: OpaquePointer?
    private var topicHandle: OpaquePointer?
    private var closed = false
    private let topicProblem: String?
    /// `message.max.bytes`: the client-side bound on one message (key and payload).
    private let maxMessageBytes: Int
    /// How long `deliver` waits for the delivery reports of a batch, in seconds.
    private let deliveryWait: Double

    // State of the batch in flight, updated by the delivery-report callback (served on the delivering thread).
    private var generation: UInt = 0
    private var outstanding = 0
    private var failed = 0
    private var firstRetryable: String?
    private var firstPermanent: String?
    private var lastClientError: String?

    public init(_ configuration: KafkaSinkConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        name = "kafka:\(configuration.topic)"
        topicProblem = KafkaSinkConfiguration.topicProblem(configuration.topic)
        maxMessageBytes = configuration.setting(["message.max.bytes"]).flatMap { Int($0) } ?? 1_000_000
        let timeoutMs = configuration.setting(["message.timeout.ms", "delivery.timeout.ms"]).flatMap { Double($0) } ?? 300_000
        // librdkafka scans for timed-out messages about once a second; leave room for the report to arrive.
        deliveryWait = (timeoutMs > 0 ? timeoutMs : 300_000) / 1000 + 5
        try createProducer()
    }

    deinit { destroyProducer(flushing: 0) }

    public func deliver(_ payloads: [[UInt8]]) throws(SinkFailure) {
        try produceBatch(payloads.count) { index in (nil, payloads[index]) }
    }

    /// Produces each payload with its key (an empty key means none); what `DeliveryQueue` calls for keyed batches.
    public func deliver(_ payloads: [[UInt8]], keys: [[UInt8]]) throws(SinkFailure) {
        precondition(keys.count == payloads.count, "one key per payload")
        try produceBatch(payloads.count) { index in (keys[index], payloads[index]) }
    }

    /// Waits for every message produced so far (up to the delivery bound), then destroys the producer.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        destroyProducer(flushing: Int32(min(deliveryWait * 1000, Double(Int32.max))))
    }

    // MARK: - Producing

    private func produceBatch(_ count: Int, _ message: (Int) -> (key: [UInt8]?, payload: [UInt8])) throws(SinkFailure) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { throw .permanent("the sink is closed") }
        if let topicProblem { throw .permanent(topicProblem) }
        guard count > 0 else { return }
        for index in 0..<count {
            let (key, payload) = message(index)
            let size = (key?.count ?? 0) + payload.count
            if size > maxMessageBytes {
                throw .permanent("alert \(index + 1) of the batch is \(size) bytes, over message.max.bytes (\(maxMessageBytes))")
            }
        }
        if handle == nil {
            do { try createProducer() } catch { throw .retryable("cannot recreate the producer: \(error)") }
        }
        guard let handle, let topicHandle else { throw .retryable("no producer") }

        generation &+= 1
        if generation == 0 { generation = 1 }
        outstanding = 0
        failed = 0
        firstRetryable = nil
        firstPermanent = nil
        lastClientError = nil
        // Delivery reports carry the batch's generation, so late reports of an abandoned batch are ignored.
        let batchTag = UnsafeMutableRawPointer(bitPattern: generation)
        let deadline = Date().addingTimeInterval(deliveryWait)

        for index in 0..<count {
            let (key, payload) = message(index)
            while true {
                let result = payload.withUnsafeBytes { payload in
                    func produce(_ key: UnsafeRawBufferPointer?) -> Int32 {
                        rd_kafka_produce(topicHandle, -1 /* RD_KAFKA_PARTITION_UA */, RD_KAFKA_MSG_F_COPY,
                                         UnsafeMutableRawPointer(mutating: payload.baseAddress), payload.count,
                                         key?.baseAddress, key?.count ?? 0, batchTag)
                    }
                    if let key, !key.isEmpty { return key.withUnsafeBytes { produce($0) } }
                    return produce(nil)
                }
                if result == 0 {
                    outstanding += 1
                    break
                }
                let err = rd_kafka_last_error()
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL && Date() < deadline {
                    // Serve delivery reports so the local queue drains, then try again.
                    rd_kafka_poll(handle, 10)
                    continue
                }
                // Reports of what was already produced are ignored from now on (the batch is abandoned).
                let reason = "cannot produce alert \(index + 1) of \(count): " + String(cString: rd_kafka_err2str(err))
                throw KafkaSink.isPermanent(err) ? .permanent(reason) : .retryable(reason)
            }
            if index % 1024 == 1023 { rd_kafka_poll(handle, 0) }
        }

        // flush serves the delivery reports and sends what lingers at once.
        while outstanding > 0 {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                throw .retryable("\(outstanding) of \(count) alerts not acknowledged after \(Int(deliveryWait)) s"
                                 + (lastClientError.map { " (\($0))" } ?? ""))
            }
            _ = rd_kafka_flush(handle, Int32(min(100, max(1, remaining * 1000))))
        }

        if let fatal = fatalError() {
            // The producer cannot be used again: start a new one (a new idempotence session) at the next batch.
            destroyProducer(flushing: 0)
            throw .retryable("fatal producer error, the producer is recreated: \(fatal)")
        }
        if let firstPermanent {
            throw .permanent("\(failed) of \(count) alerts failed: \(firstPermanent)")
        }
        if failed > 0, lastClientError == nil, let err = topicError(timeoutMs: 1000), KafkaSink.isPermanent(err) {
            // librdkafka 2.0.2 lets messages to a topic the metadata calls unauthorized simply time out: with the
            // brokers reachable (no client error during the batch), ask for the topic's metadata.
            throw .permanent("\(failed) of \(count) alerts failed: the topic is refused: "
                             + String(cString: rd_kafka_err2str(err)))
        }
        if failed > 0 {
            throw .retryable("\(failed) of \(count) alerts not acknowledged (the batch is produced again): "
                             + (firstRetryable ?? "unknown error") + (lastClientError.map { " (\($0))" } ?? ""))
        }
    }

    /// librdkafka errors that no retry can fix.
    static func isPermanent(_ err: rd_kafka_resp_err_t) -> Bool {
        switch err {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
             RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG,
             RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
             RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
             RD_KAFKA_RESP_ERR__INVALID_ARG:
            return true
        default:
            return false
        }
    }

    // MARK: - Callbacks (served on the delivering thread, from poll and flush)

    fileprivate func reported(_ message: rd_kafka_message_t) {
        guard UInt(bitPattern: message._private) == generation else { return }
        outstanding -= 1
        let err = message.err
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        failed += 1
        let reason = String(cString: rd_kafka_err2str(err))
        if KafkaSink.isPermanent(err) {
            if firstPermanent == nil { firstPermanent = reason }
        } else if firstRetryable == nil {
            firstRetryable = reason
        }
    }

    fileprivate func clientError(_ code: Int32, _ reason: String) {
        lastClientError = String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: code))) + " — " + reason
    }

    // MARK: - Producer lifetime

    private func createProducer() throws {
        let conf = rd_kafka_conf_new()
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in configuration.settings {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: 0, message: "Kafka property \(key): " + kafkaText(errstr))
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, kafkaSinkDeliveryReport)
        rd_kafka_conf_set_error_cb(conf, kafkaSinkErrorCallback)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: 0, message: "cannot create the Kafka producer: " + kafkaText(errstr))
        }
        self.handle = handle
        if topicProblem == nil {
            guard let topicHandle = rd_kafka_topic_new(handle, configuration.topic, nil) else {
                let err = rd_kafka_last_error()
                rd_kafka_destroy(handle)
                self.handle = nil
                throw KafkaError(err, "cannot use the Kafka topic \(configuration.topic)")
            }
            self.topicHandle = topicHandle
        }
    }

    private func destroyProducer(flushing timeoutMs: Int32) {
        guard let handle else { return }
        if timeoutMs > 0 { _ = rd_kafka_flush(handle, timeoutMs) }
        if let topicHandle { rd_kafka_topic_destroy(topicHandle) }
        rd_kafka_destroy(handle)
        self.handle = nil
        topicHandle = nil
    }

    /// The topic's error in a fresh metadata answer, if the cluster answered in time with one.
    private func topicError(timeoutMs: Int32) -> rd_kafka_resp_err_t? {
        guard let handle, let topicHandle else { return nil }
        var metadata: UnsafePointer<rd_kafka_metadata_t>?
        guard rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR,
              let metadata else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        return topics.first { String(cString: $0.topic) == configuration.topic }.map(\.err)
    }

    private func fatalError() -> String? {
        guard let handle else { return nil }
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return String(cString: rd_kafka_err2str(err)) + ": " + kafkaText(errstr)
    }
}

private func kafkaSinkDeliveryReport(_ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                                     _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    Unmanaged<KafkaSink>.fromOpaque(opaque).takeUnretainedValue().reported(message.pointee)
}

private func kafkaSinkErrorCallback(_ handle: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?,
                                    _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<KafkaSink>.fromOpaque(opaque).takeUnretainedValue().clientError(err, reason.map { String(cString: $0) } ?? "")
}
