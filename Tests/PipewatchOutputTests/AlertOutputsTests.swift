import Foundation
import PipewatchOutput
import Testing

/// Thread-safe list of completed batch ids.
final class CompletedBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [UInt64] = []

    func add(_ id: UInt64) { lock.withLock { ids.append(id) } }
    var all: [UInt64] { lock.withLock { ids } }
}

@Suite(.serialized) struct AlertOutputsTests {
    @Test func everySinkKindParsesFromItsOutputString() throws {
        let file = try OutputSpecification(parsing: "cef:file:/tmp/a.cef?max-bytes=100&keep=2&fsync=none")
        guard case .file("/tmp/a.cef", 100, 2, false) = file.destination else {
            Issue.record("file: \(file.destination)")
            return
        }
        let hec = try OutputSpecification(parsing: "hec:splunk+https://splunk.example:8088?token=t&gzip=true")
        guard case .http(let http) = hec.destination else { Issue.record("hec: \(hec.destination)"); return }
        #expect(hec.format == .hec && http.url == "https://splunk.example:8088/services/collector/event")
        let syslog = try OutputSpecification(parsing: "leef:syslog+tcp://127.0.0.1:1514?facility=local2")
        guard case .syslog(let configuration) = syslog.destination else { Issue.record("syslog"); return }
        #expect(configuration.port == 1514 && configuration.facility == 18 && configuration.transport == .tcp)
        let kafka = try OutputSpecification(parsing: "ocsf:kafka://b1:9092,b2:9092/alerts?compression.type=zstd")
        guard case .kafka(let producer) = kafka.destination else { Issue.record("kafka"); return }
        #expect(producer.bootstrapServers == "b1:9092,b2:9092" && producer.topic == "alerts")
        guard case .stdout = try OutputSpecification(parsing: "ecs").destination else { Issue.record("stdout"); return }

        for bad in ["xml:stdout", "cef:ftp://x", "cef:kafka://b1:9092/alerts?acks=1", "cef:syslog+smtp://h",
                    "hec:splunk+https://h:8088", "cef:file:"] {
            #expect(throws: (any Error).self, "\(bad) is refused") { try OutputSpecification(parsing: bad) }
        }
    }

    @Test func aBatchCompletesOnlyWhenEveryOutputHasAcknowledgedIt() throws {
        // The file output acknowledges at once; the collector answers 503 to its first three requests.
        let collector = try LoopbackCollector(token: "t", failFirst: 3)
        let dir = try TemporaryDirectory()
        let completed = CompletedBatches()
        let outputs = try AlertOutputs(
            [try OutputSpecification(parsing: "ocsf:file:\(dir.path("alerts.ndjson"))"),
             try OutputSpecification(parsing: "hec:splunk+http://127.0.0.1:\(collector.port)?token=t")],
            deadLetterPath: dir.path("dead.ndjson"), queueCapacity: 1,
            retry: RetryPolicy(maxAttempts: 10, initialDelay: 0.01, maxDelay: 0.02), onBatchComplete: completed.add)
        let alert = try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule)
        outputs.append(alert)
        outputs.submit(batch: 1)
        outputs.submit(batch: 2)  // no alerts: complete at once, whatever is still in flight
        outputs.append(alert)
        outputs.append(alert)
        outputs.submit(batch: 3)
        outputs.close()

        #expect(completed.all.first == 2, "an empty batch does not wait for earlier ones")
        #expect(completed.all.sorted() == [1, 2, 3], "every batch completes exactly once")
        #expect(dir.read("alerts.ndjson").split(separator: "\n").count == 3)
        #expect(try collector.received().count == 3, "every alert reached the collector once after its 503s")
        #expect(outputs.queues[1].statistics.failedAttempts == 3)
        #expect(!outputs.anyDeadLettered)
    }
}
