import CRdKafka

/// An error from librdkafka: a configuration problem, a failed call, or one reported while consuming.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's error code (`rd_kafka_resp_err_t`); 0 for configuration errors.
    public var code: Int32
    public var message: String
    /// The partition (and offset) the error is about, when it is about one.
    public var partition: KafkaTopicPartition?
    public var offset: Int64?
    /// librdkafka considers the client unusable (`RD_KAFKA_RESP_ERR__FATAL`).
    public var isFatal: Bool

    public init(code: Int32, message: String, partition: KafkaTopicPartition? = nil, offset: Int64? = nil, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.partition = partition
        self.offset = offset
        self.isFatal = isFatal
    }

    package init(_ err: rd_kafka_resp_err_t, _ context: String, partition: KafkaTopicPartition? = nil, offset: Int64? = nil) {
        self.init(code: err.rawValue, message: "\(context): \(String(cString: rd_kafka_err2str(err)))",
                  partition: partition, offset: offset, isFatal: err == RD_KAFKA_RESP_ERR__FATAL)
    }

    public var description: String {
        var text = message
        if let partition { text += " (\(partition)" + (offset.map { " offset \($0)" } ?? "") + ")" }
        return text
    }
}

/// The text librdkafka wrote into an error buffer.
/// The text of a NUL-terminated C string buffer.
package func kafkaText(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
