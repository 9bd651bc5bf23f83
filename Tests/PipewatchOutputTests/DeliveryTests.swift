import Foundation
import PipewatchOutput
import Testing

/// Thread-safe record of acknowledgements.
final class Acknowledgements: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(UInt64, DeliveryQueue.Outcome)] = []

    func add(_ id: UInt64, _ outcome: DeliveryQueue.Outcome) { lock.withLock { entries.append((id, outcome)) } }
    var all: [(UInt64, DeliveryQueue.Outcome)] { lock.withLock { entries } }
}

/// Thread-safe counter of submitted batches.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() { lock.withLock { value += 1 } }
    var current: Int { lock.withLock { value } }
}

func payloads(_ batch: Int, count: Int = 3) -> [[UInt8]] {
    (0..<count).map { Array("{\"batch\":\(batch),\"alert\":\($0)}".utf8) }
}

func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pipewatch-delivery-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct DeliveryTests {
    @Test func fileSinkRotatesBySizeAndKeepsEveryLine() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("alerts.ndjson").path
        let sink = FileSink(path: path, maxBytes: 200, keep: 10)
        for batch in 0..<12 { try sink.deliver(payloads(batch)) }
        sink.close()
        var lines: [String] = []
        for suffix in ["", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9", ".10"] {
            guard let text = try? String(contentsOfFile: path + suffix, encoding: .utf8) else { continue }
            let fileLines = text.split(separator: "\n").map(String.init)
            #expect(text.utf8.count <= 200 || fileLines.count == 3, "\(suffix) too large")
            lines += fileLines
        }
        #expect(lines.count == 36)
        #expect(Set(lines).count == 36)
        #expect(FileManager.default.fileExists(atPath: path + ".1"))
    }

    @Test func rotationKeepsOnlyTheConfiguredNumberOfFiles() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.log").path
        let sink = FileSink(path: path, maxBytes: 50, keep: 2)
        for batch in 0..<10 { try sink.deliver(payloads(batch, count: 1)) }
        sink.close()
        #expect(FileManager.default.fileExists(atPath: path + ".2"))
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
    }

    @Test func aSinkDownLongerThanItsQueueSlowsThePipelineAndLosesNothing() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The sink's directory does not exist yet: every delivery fails (retryably) until it does.
        let outputDirectory = dir.appendingPathComponent("not-yet")
        let path = outputDirectory.appendingPathComponent("alerts.ndjson").path
        let acknowledgements = Acknowledgements()
        let queue = DeliveryQueue(
            sink: FileSink(path: path), capacity: 2,
            retry: RetryPolicy(maxAttempts: 1000, initialDelay: 0.005, maxDelay: 0.02), deadLetterPath: nil,
            onAcknowledge: { acknowledgements.add($0, $1) })
        let submitted = Counter()
        let producer = Thread {
            for batch in 0..<10 {
                queue.submit(DeliveryQueue.Batch(id: UInt64(batch), payloads: payloads(batch)))
                submitted.increment()
            }
        }
        producer.start()
        Thread.sleep(forTimeInterval: 0.4)
        // Backpressure: one batch in delivery, two queued, the producer blocked on the fourth.
        #expect(submitted.current <= 3, "submitted \(submitted.current) while the sink was down")
        #expect(acknowledgements.all.isEmpty)
        #expect(queue.statistics.failedAttempts > 3)

        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        while submitted.current < 10 { Thread.sleep(forTimeInterval: 0.01) }
        queue.close()
        let acknowledged = acknowledgements.all
        #expect(acknowledged.map(\.0) == (0..<10).map(UInt64.init), "every batch acknowledged once, in order")
        #expect(acknowledged.allSatisfy { $0.1 == .delivered })
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 30 && Set(lines).count == 30)
    }

    @Test func exhaustedRetriesAndPermanentFailuresGoToTheDeadLetterFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let deadLetter = dir.appendingPathComponent("dead.ndjson").path
        let acknowledgements = Acknowledgements()

        let missing = DeliveryQueue(
            sink: FileSink(path: dir.appendingPathComponent("absent/alerts").path), capacity: 4,
            retry: RetryPolicy(maxAttempts: 3, initialDelay: 0.001, maxDelay: 0.002), deadLetterPath: deadLetter,
            onAcknowledge: { acknowledgements.add($0, $1) })
        missing.submit(DeliveryQueue.Batch(id: 1, payloads: payloads(1)))
        missing.close()

        // A directory can never be opened as the alert file: permanent, no retries.
        let permanent = DeliveryQueue(
            sink: FileSink(path: dir.path), capacity: 4, retry: RetryPolicy(maxAttempts: 50, initialDelay: 1),
            deadLetterPath: deadLetter, onAcknowledge: { acknowledgements.add($0, $1) })
        permanent.submit(DeliveryQueue.Batch(id: 2, payloads: payloads(2)))
        permanent.close()
        #expect(permanent.statistics.failedAttempts == 1)

        let entries = try String(contentsOfFile: deadLetter, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])
        }
        #expect(entries.count == 6)
        #expect(entries[0]["reason"]?.contains("gave up after 3 attempts") == true)
        #expect(entries[3]["reason"]?.contains("permanent failure") == true)
        #expect(entries.map { $0["alert"] ?? "" } == (payloads(1) + payloads(2)).map { String(decoding: $0, as: UTF8.self) })
        let outcomes = acknowledgements.all
        #expect(outcomes.count == 2)
        #expect(outcomes.allSatisfy { if case .deadLettered = $0.1 { return true } else { return false } })
    }

    @Test func backoffIsCappedAndJittered() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: 0.1, maxDelay: 1)
        for attempt in 1...10 {
            let ceiling = min(1, 0.1 * pow(2, Double(attempt - 1)))
            let delays = (0..<50).map { _ in policy.delay(afterAttempt: attempt) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= ceiling })
            #expect(Set(delays).count > 1, "jittered")
        }
    }
}
