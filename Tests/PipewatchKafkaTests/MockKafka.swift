import CRdKafka
import Foundation
import PipewatchInputs
import PipewatchKafka

/// librdkafka's own mock cluster, started in-process on a producer handle, with a producer connected to it.
final class MockKafka {
    private let owner: OpaquePointer
    let cluster: OpaquePointer
    private let producer: OpaquePointer
    private var topicHandles: [String: OpaquePointer] = [:]
    let bootstrapServers: String

    init(brokers: Int32 = 1) throws {
        var errstr = [CChar](repeating: 0, count: 512)
        let ownerConf = rd_kafka_conf_new()
        rd_kafka_conf_set(ownerConf, "log_level", "3", &errstr, errstr.count)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, ownerConf, &errstr, errstr.count) else {
            throw KafkaError(code: 0, message: errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, brokers) else {
            rd_kafka_destroy(owner)
            throw KafkaError(code: 0, message: "cannot start the mock cluster")
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        let conf = rd_kafka_conf_new()
        for (key, value) in [("bootstrap.servers", bootstrapServers), ("linger.ms", "5"), ("log_level", "3")] {
            rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
        }
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_mock_cluster_destroy(cluster)
            rd_kafka_destroy(owner)
            throw KafkaError(code: 0, message: errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        self.owner = owner
        self.cluster = cluster
        self.producer = producer
    }

    deinit {
        for handle in topicHandles.values { rd_kafka_topic_destroy(handle) }
        rd_kafka_destroy(producer)
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    func createTopic(_ name: String, partitions: Int32) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: err.rawValue, message: "create topic \(name)") }
    }

    /// Produces `values` (partition -1: the partitioner chooses) and waits until all are delivered.
    func produce(_ topic: String, _ values: [String], partition: Int32 = -1) throws {
        let handle: OpaquePointer
        if let known = topicHandles[topic] {
            handle = known
        } else {
            guard let created = rd_kafka_topic_new(producer, topic, nil) else { throw KafkaError(code: 0, message: "topic handle") }
            topicHandles[topic] = created
            handle = created
        }
        for (index, value) in values.enumerated() {
            var bytes = Array(value.utf8)
            // Keys spread the records over the partitions deterministically.
            var key = Array("key-\(index)".utf8)
            while true {
                let result = bytes.withUnsafeMutableBytes { payload in
                    key.withUnsafeMutableBytes { key in
                        rd_kafka_produce(handle, partition, RD_KAFKA_MSG_F_COPY, payload.baseAddress, payload.count,
                                         key.baseAddress, key.count, nil)
                    }
                }
                if result == 0 { break }
                rd_kafka_poll(producer, 10) // queue full: let deliveries drain
            }
            rd_kafka_poll(producer, 0)
        }
        let err = rd_kafka_flush(producer, 10_000)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: err.rawValue, message: "flush: " + String(cString: rd_kafka_err2str(err))) }
    }
}

/// Realistic CloudTrail records (~450 bytes each), numbered.
enum CloudTrail {
    static let eventNames = ["CreateTrainingJob", "CreateModel", "CreateEndpoint", "InvokeEndpoint", "DeleteModel"]

    static func record(_ n: Int) -> String {
        record(n, time: "2026-11-03T10:\(String(format: "%02d", n % 60)):00Z", principal: "run-\(n)")
    }

    /// Record `n` (its event name, request and event ids) at `time`, by the pipeline role's session `principal`.
    static func record(_ n: Int, time: String, principal: String) -> String {
        #"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:\#(principal)","arn":"arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/\#(principal)","accountId":"111122223333"},"eventTime":"\#(time)","eventSource":"sagemaker.amazonaws.com","eventName":"\#(eventNames[n % eventNames.count])","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.0","requestParameters":{"trainingJobName":"job-\#(n)"},"responseElements":null,"requestID":"req-\#(n)","eventID":"evt-\#(n)","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#
    }

    static func records(_ range: Range<Int>) -> [String] { range.map(record) }
}

/// Consumer properties that keep the mock's group protocol quick.
let fastGroup: [(String, String)] = [
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "500"),
    ("topic.metadata.refresh.interval.ms", "1000"),
    ("log_level", "3"),
]

extension KafkaConsumer {
    /// Polls until `done` says so or `seconds` pass; calls `body` with each non-empty batch.
    func pollUntil(seconds: Double, _ body: (KafkaBatch) throws -> Void, done: () -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline {
            let batch = poll(maxMessages: 500, timeout: 0.2)
            if !batch.isEmpty { try body(batch) }
        }
    }
}

extension MockKafka {
    /// The next `count` requests of `apiKey` (Kafka protocol API key) fail with `error`.
    func pushRequestErrors(apiKey: Int16, count: Int, _ error: rd_kafka_resp_err_t) {
        let errors = [rd_kafka_resp_err_t](repeating: error, count: count)
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, count, errors)
    }

    /// Takes broker `id` (1-based) down or brings it back.
    func setBroker(_ id: Int32, up: Bool) {
        _ = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
    }
}
