import Foundation
import PipewatchKafka
import PipewatchInputs
@_exported import PipewatchTestSupport
import Testing

/// A rule that fires on every CloudTrail `CreateEndpoint` (records n with n % 5 == 2 in `CloudTrail.record`).
let createEndpointRule = """
    title: SageMaker endpoint created
    id: 0b7e3c4e-1f2a-4c55-9a61-3d1c2b7e9f10
    status: test
    level: medium
    logsource:
        product: aws
        service: cloudtrail
    detection:
        selection:
            eventSource: sagemaker.amazonaws.com
            eventName: CreateEndpoint
        condition: selection
    """

/// A rule that fires on every SageMaker record: one alert per record.
let everySageMakerCallRule = """
    title: Any SageMaker call
    id: 6a0d1c55-7a3e-4f0e-8c1b-2e4d5f6a7b80
    status: test
    level: low
    logsource:
        product: aws
        service: cloudtrail
    detection:
        selection:
            eventSource: sagemaker.amazonaws.com
        condition: selection
    """

/// The record numbers `CloudTrail.record` writes into request id (`"requestID":"req-N"` of the raw record in each alert), in the order they appear.
func alertedRecords(in text: String) -> [Int] {
    var numbers: [Int] = []
    // Only complete lines: a sink may be writing the next one.
    for line in text[..<(text.lastIndex(of: "\n") ?? text.startIndex)].split(separator: "\n") {
        guard let range = line.range(of: #""requestID":"req-"#) else { continue }
        let digits = line[range.upperBound...].prefix { $0.isNumber }
        if let n = Int(digits) { numbers.append(n) }
    }
    return numbers
}

/// Writes a configuration for one Kafka topic with the given rule and outputs into `dir`.
func daemonConfiguration(
    _ dir: TemporaryDirectory, kafka: MockKafka, topic: String, group: String, rule: String,
    outputs: [String], maxBatch: Int = 2000, deadLetter: String = "dead.ndjson", extra: String = ""
) throws -> String {
    try dir.write("rules/rule.yml", rule)
    let outputLines = outputs.map { "  - \"\($0)\"" }.joined(separator: "\n")
    return try dir.write("pipewatch.yaml", """
        inputs:
          kafka:
            brokers: \(kafka.bootstrapServers)
            group: \(group)
            topics: [\(topic)]
            max-batch: \(maxBatch)
            properties:
              session.timeout.ms: "6000"
              heartbeat.interval.ms: "500"
              topic.metadata.refresh.interval.ms: "1000"
              log_level: "3"
        rules:
          paths: [rules/]
          watch: false
        outputs:
        \(outputLines)
        dead-letter: "\(deadLetter)"
        alert-dead-letter: alerts.dead.ndjson
        commit-interval: 200ms
        \(extra)
        """)
}

/// The group's committed offsets, read by a short-lived member of the same group after the daemons left.
func committedOffsets(_ kafka: MockKafka, group: String, topic: String, partitions: Int32) throws -> [Int64] {
    let consumer = try KafkaConsumer(KafkaConsumerConfig(
        bootstrapServers: kafka.bootstrapServers, groupID: group, topics: [topic], properties: fastGroup))
    defer { consumer.close() }
    let all = (0..<partitions).map { KafkaTopicPartition(topic, $0) }
    let offsets = try consumer.committed(all, timeout: 10)
    return all.map { offsets[$0] ?? -1 }
}

extension LoopbackCollector {
    /// Each accepted event as (request number, CloudTrail record number from its raw record).
    func acceptedRecords() throws -> [(request: Int, record: Int)] {
        try received().map { object in
            let request = try #require(object["request"] as? Int)
            let envelope = try JSONSerialization.data(withJSONObject: try #require(object["envelope"]))
            let text = String(decoding: envelope, as: UTF8.self).replacingOccurrences(of: "\\\"", with: "\"")
            return (request, try #require(alertedRecords(in: text + "\n").first))
        }
    }
}

/// GET http://127.0.0.1:`port``path` with the curl CLI: the status and the body.
func httpGet(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
    let dir = try TemporaryDirectory()
    let curl = try ChildProcess("curl", ["-sS", "-o", dir.path("body"), "-w", "%{http_code}", "http://127.0.0.1:\(port)\(path)"],
                                stdout: dir.path("status"), stderr: dir.path("err"))
    #expect(curl.wait() == 0, "curl: \(dir.read("err"))")
    return (Int(dir.read("status")) ?? 0, dir.read("body"))
}
