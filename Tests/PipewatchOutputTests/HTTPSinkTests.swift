import Foundation
import PipewatchOutput
import Testing

/// The loopback HEC collector (Collector/hec_collector.py), started for one test and stopped after.
final class LoopbackCollector {
    let port: Int
    let recordFile: String
    private let directory: TemporaryDirectory
    private let process: ChildProcess

    init(token: String, failFirst: Int) throws {
        directory = try TemporaryDirectory()
        recordFile = directory.path("received.ndjson")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Collector/hec_collector.py")
        process = try ChildProcess(
            "python3", ["-u", script.path, token, String(failFirst), recordFile],
            stdout: directory.path("port"), stderr: directory.path("log"))
        // The first line it prints is the port it listens on.
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while port == nil && process.isRunning && Date() < deadline {
            let text = directory.read("port")
            if text.hasSuffix("\n") { port = Int(text.dropLast()) } else { usleep(10_000) }
        }
        guard let port else { throw CollectorError.didNotStart(directory.read("log")) }
        self.port = port
    }

    deinit { process.terminate() }

    enum CollectorError: Error { case didNotStart(String) }

    /// The envelopes the collector accepted, in arrival order.
    func received() throws -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: recordFile, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}

func envelope(_ n: Int, marker: String = "") -> [UInt8] {
    Array(#"{"time":1793700420.123,"host":"h","source":"pipewatch","sourcetype":"pipewatch:alert","event":{"n":\#(n),"m":"\#(marker)"}}"#.utf8)
}

@Suite(.serialized) struct HTTPSinkTests {
    @Test func hecBatchesArriveOnceEachAfterTheCollectorRecovers() throws {
        let collector = try LoopbackCollector(token: "s3cret", failFirst: 4)
        let acknowledgements = Acknowledgements()
        let configuration = try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=s3cret&gzip=true")
        let queue = DeliveryQueue(
            sink: HTTPSink(configuration), capacity: 2,
            retry: RetryPolicy(maxAttempts: 20, initialDelay: 0.01, maxDelay: 0.05), deadLetterPath: nil,
            onAcknowledge: { acknowledgements.add($0, $1) })
        for batch in 0..<5 {
            queue.submit(DeliveryQueue.Batch(id: UInt64(batch), payloads: (0..<20).map { envelope(batch * 20 + $0) }))
        }
        queue.close()
        #expect(acknowledgements.all.map(\.0) == [0, 1, 2, 3, 4])
        #expect(acknowledgements.all.allSatisfy { $0.1 == .delivered })
        #expect(queue.statistics.failedAttempts == 4, "the collector's 503s were retried")
        let received = try collector.received()
        let numbers = received.compactMap { (($0["envelope"] as? [String: Any])?["event"] as? [String: Any])?["n"] as? Int }
        #expect(numbers == Array(0..<100), "every alert exactly once, in order")
        #expect(received.allSatisfy { $0["gzip"] as? Bool == true })
        // Batches, not one request per alert: 100 alerts in 5 accepted requests.
        #expect(Set(received.compactMap { $0["request"] as? Int }).count == 5)
    }

    @Test func refusedBatchesAndWrongTokensEndInTheDeadLetterFile() throws {
        let collector = try LoopbackCollector(token: "right", failFirst: 0)
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let deadLetter = dir.appendingPathComponent("dead.ndjson").path
        let good = DeliveryQueue(
            sink: HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=right")),
            retry: RetryPolicy(maxAttempts: 5, initialDelay: 0.01), deadLetterPath: deadLetter)
        good.submit(DeliveryQueue.Batch(id: 1, payloads: [envelope(1), envelope(2, marker: "POISON")]))
        good.submit(DeliveryQueue.Batch(id: 2, payloads: [envelope(3)]))
        good.close()
        let wrong = DeliveryQueue(
            sink: HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:\(collector.port)?token=wrong")),
            retry: RetryPolicy(maxAttempts: 5, initialDelay: 0.01), deadLetterPath: deadLetter)
        wrong.submit(DeliveryQueue.Batch(id: 3, payloads: [envelope(4)]))
        wrong.close()

        #expect(good.statistics.failedAttempts == 1 && wrong.statistics.failedAttempts == 1, "4xx is not retried")
        let lines = try String(contentsOfFile: deadLetter, encoding: .utf8).split(separator: "\n")
        let reasons = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])["reason"] ?? "" }
        #expect(reasons.count == 3)
        #expect(reasons[0].contains("HTTP 400") && reasons[1].contains("HTTP 400"))
        #expect(reasons[2].contains("HTTP 401"))
        let received = try collector.received()
        #expect(received.count == 1, "only the clean batch was accepted")
    }

    @Test func aCollectorThatIsNotThereIsRetryable() throws {
        // A port nothing listens on: connection refused.
        let sink = HTTPSink(try HTTPSinkConfiguration(parsing: "splunk+http://127.0.0.1:9?token=t&timeout-ms=2000"))
        #expect {
            try sink.deliver([envelope(1)])
        } throws: { error in
            if case .retryable = error as? SinkFailure { return true }
            return false
        }
        sink.close()
    }

    @Test func sinkStringsAreCheckedUpFront() throws {
        let hec = try HTTPSinkConfiguration(parsing: "splunk+https://splunk.example:8088?token=t&ca=/etc/ca.pem&gzip=true")
        #expect(hec.url == "https://splunk.example:8088/services/collector/event")
        #expect(hec.kind == .splunkHEC(token: "t") && hec.gzip && hec.caFile == "/etc/ca.pem")
        #expect(try HTTPSinkConfiguration(parsing: "https://collector.example/ingest").kind == .jsonLines)
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "splunk+https://h:8088") }
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "https://h/x?token=t") }
        #expect(throws: OutputSpecificationError.self) { try HTTPSinkConfiguration(parsing: "https://h/x?colour=blue") }
    }
}
