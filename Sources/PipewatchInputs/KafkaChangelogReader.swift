import CRdKafka
import Foundation
import PipewatchKafka

/// Reads the latest message of one partition of a changelog topic (a compacted topic whose latest message per key is
/// the current value): assigned directly, outside any consumer group, read from the beginning to the end the
/// brokers report when the read starts. Compaction only shortens the read; a topic not compacted yet (or a broker
/// that never compacts) gives the same answer.
public final class KafkaChangelogReader {
    private var handle: OpaquePointer?

    public init(bootstrapServers: String, properties: [(String, String)] = []) throws {
        let conf = rd_kafka_conf_new()
        var errstr = [CChar](repeating: 0, count: 512)
        // No group is joined (the partition is assigned); librdkafka still wants a group id for a consumer.
        let settings = [("bootstrap.servers", bootstrapServers), ("group.id", "pipewatch-changelog-reader"),
                        ("enable.auto.commit", "false"), ("enable.partition.eof", "true")]
            + properties.filter { !KafkaConsumerConfig.refused.contains($0.0) && $0.0 != "enable.partition.eof" }
        for (key, value) in settings {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: 0, message: "Kafka property \(key): " + kafkaText(errstr))
            }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: 0, message: "cannot create the changelog reader: " + kafkaText(errstr))
        }
        rd_kafka_poll_set_consumer(handle)
        self.handle = handle
    }

    deinit {
        if let handle {
            _ = rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
        }
    }

    /// The value of the last message of `topic[partition]`, nil when it holds none; throws when the brokers do not
    /// answer within `timeout` seconds.
    public func latest(_ topic: String, partition: Int32, timeout: Double = 30) throws -> [UInt8]? {
        guard let handle else { throw KafkaError(code: 0, message: "the changelog reader is closed") }
        let deadline = Date().addingTimeInterval(timeout)
        var low: Int64 = -1, high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, Int32(timeout * 1000))
        if err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { return nil }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "changelog \(topic)[\(partition)]: cannot read its offsets")
        }
        guard high > low, high > 0 else { return nil }
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = low
        var result = rd_kafka_assign(handle, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "changelog \(topic)[\(partition)]: assign") }
        defer { _ = rd_kafka_assign(handle, nil) }
        var latest: [UInt8]?
        while Date() < deadline {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                if m.offset >= high { return latest }
                continue
            }
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                result = m.err
                throw KafkaError(m.err, "changelog \(topic)[\(partition)]")
            }
            if let payload = m.payload, m.len > 0 {
                latest = Array(UnsafeRawBufferPointer(start: payload, count: m.len))
            } else {
                latest = nil  // a tombstone: the state was given up
            }
            if m.offset + 1 >= high { return latest }
        }
        throw KafkaError(code: 0, message: "changelog \(topic)[\(partition)]: not read to its end within \(Int(timeout)) s")
    }
}
