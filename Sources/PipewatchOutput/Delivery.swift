import Foundation
import PipewatchJSON

/// Why a sink could not hand a batch off. Retryable failures (connection refused, 5xx, 429, time-outs, a missing
/// directory) are tried again; permanent ones (other 4xx, a payload the receiver refuses) are dead-lettered at once.
public enum SinkFailure: Error, Sendable, CustomStringConvertible {
    case retryable(String)
    case permanent(String)

    public var description: String {
        switch self {
        case .retryable(let reason): return "retryable: \(reason)"
        case .permanent(let reason): return "permanent: \(reason)"
        }
    }
}

/// A destination for formatted alerts. `deliver` returns only once the batch is durably handed off (fsync'd,
/// answered 2xx, acknowledged by the broker, written to the TCP socket): that is what lets the pipeline
/// acknowledge, and a Kafka input commit, the records behind it.
public protocol AlertSink: AnyObject, Sendable {
    var name: String { get }
    /// Each payload is one formatted alert without framing; the sink frames them (newlines, octet counts, …).
    func deliver(_ payloads: [[UInt8]]) throws(SinkFailure)
    func close()
}

/// A sink that places each alert by a key (Kafka: the partition). `DeliveryQueue` calls this instead of `deliver`
/// when a batch carries keys; the contract is the same.
public protocol KeyedAlertSink: AlertSink {
    func deliver(_ payloads: [[UInt8]], keys: [[UInt8]]) throws(SinkFailure)
}

/// Capped exponential backoff with full jitter.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 8, initialDelay: Double = 0.1, maxDelay: Double = 30) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): random in [0, min(max, initial·2^(attempt−1))].
    public func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(maxDelay, initialDelay * pow(2, Double(attempt - 1)))
        return Double.random(in: 0...ceiling)
    }
}

/// Delivers batches to one sink from its own thread, in order, through a bounded queue: `submit` blocks while
/// the queue is full, so a slow or failing sink slows the pipeline instead of losing alerts. Failed batches are
/// retried per the policy; permanent failures and exhausted retries go to the dead-letter file with the reason.
/// Every batch is acknowledged exactly once, delivered or dead-lettered, through `onAcknowledge`.
public final class DeliveryQueue: @unchecked Sendable {
    public struct Batch: Sendable {
        public var id: UInt64
        public var payloads: [[UInt8]]
        /// One key per payload, for a `KeyedAlertSink`; other sinks ignore them.
        public var keys: [[UInt8]]?

        public init(id: UInt64, payloads: [[UInt8]], keys: [[UInt8]]? = nil) {
            self.id = id
            self.payloads = payloads
            self.keys = keys
        }
    }

    /// How a batch ended.
    public enum Outcome: Sendable, Equatable {
        case delivered
        case deadLettered(String)
    }

    public let sink: AlertSink
    private let capacity: Int
    private let retry: RetryPolicy
    private let deadLetterPath: String?
    private let onAcknowledge: @Sendable (UInt64, Outcome) -> Void
    private let condition = NSCondition()
    private var pending: [Batch] = []
    private var inFlight = false
    private var closing = false
    private var thread: Thread?

    /// Counters for metrics and the summary (read under the lock).
    private var deliveredBatches = 0
    private var deadLetteredBatches = 0
    private var failedAttempts = 0

    public init(
        sink: AlertSink, capacity: Int = 64, retry: RetryPolicy = RetryPolicy(), deadLetterPath: String?,
        onAcknowledge: @escaping @Sendable (UInt64, Outcome) -> Void = { _, _ in }
    ) {
        self.sink = sink
        self.capacity = max(1, capacity)
        self.retry = retry
        self.deadLetterPath = deadLetterPath
        self.onAcknowledge = onAcknowledge
        // The thread holds the queue until `close` lets it end: a queue dropped without `close` (a run that failed
        // half-way) must not leave it running on freed memory.
        let thread = Thread { [self] in self.run() }
        thread.name = "pipewatch-sink-\(sink.name)"
        self.thread = thread
        thread.start()
    }

    /// Queues a batch; blocks while `capacity` batches are already waiting (backpressure).
    public func submit(_ batch: Batch) {
        condition.lock()
        while pending.count >= capacity && !closing { condition.wait() }
        pending.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until every submitted batch is acknowledged.
    public func drain() {
        condition.lock()
        while !pending.isEmpty || inFlight { condition.wait() }
        condition.unlock()
    }

    /// Waits until every submitted batch is acknowledged or `deadline` passes; whether everything was.
    public func drain(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !pending.isEmpty || inFlight {
            if !condition.wait(until: deadline) { return pending.isEmpty && !inFlight }
        }
        return true
    }

    /// Whether `submit` would block now: the queue holds `capacity` batches.
    public var isFull: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pending.count >= capacity
    }

    /// Drains, stops the delivery thread and closes the sink.
    public func close() {
        drain()
        condition.lock()
        closing = true
        condition.broadcast()
        condition.unlock()
        while thread?.isFinished == false { usleep(1000) }
        sink.close()
    }

    public var statistics: (delivered: Int, deadLettered: Int, failedAttempts: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (deliveredBatches, deadLetteredBatches, failedAttempts, pending.count)
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !closing { condition.wait() }
            if pending.isEmpty && closing {
                condition.unlock()
                return
            }
            let batch = pending.removeFirst()
            inFlight = true
            condition.broadcast()
            condition.unlock()

            let outcome = deliverWithRetries(batch)

            condition.lock()
            switch outcome {
            case .delivered: deliveredBatches += 1
            case .deadLettered: deadLetteredBatches += 1
            }
            inFlight = false
            condition.broadcast()
            condition.unlock()
            onAcknowledge(batch.id, outcome)
        }
    }

    private func deliverWithRetries(_ batch: Batch) -> Outcome {
        var attempt = 1
        while true {
            do {
                if let keys = batch.keys, let keyed = sink as? KeyedAlertSink {
                    try keyed.deliver(batch.payloads, keys: keys)
                } else {
                    try sink.deliver(batch.payloads)
                }
                return .delivered
            } catch {
                condition.lock()
                failedAttempts += 1
                condition.unlock()
                switch error {
                case .permanent(let reason):
                    return deadLetter(batch, "\(sink.name): permanent failure: \(reason)")
                case .retryable(let reason):
                    guard attempt < retry.maxAttempts else {
                        return deadLetter(batch, "\(sink.name): gave up after \(attempt) attempts: \(reason)")
                    }
                    Thread.sleep(forTimeInterval: retry.delay(afterAttempt: attempt))
                    attempt += 1
                }
            }
        }
    }

    /// Writes each alert of the batch to the dead-letter file with the reason; without a file, to stderr.
    private func deadLetter(_ batch: Batch, _ reason: String) -> Outcome {
        var writer = JSONWriter(capacity: 4096)
        for payload in batch.payloads {
            writer.beginObject()
            writer.key("reason")
            writer.string(reason)
            writer.key("sink")
            writer.string(sink.name)
            writer.key("alert")
            payload.withUnsafeBufferPointer { writer.string(utf8: $0) }
            writer.endObject()
            writer.newline()
        }
        let fd = deadLetterPath.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) } ?? 2
        if fd >= 0 {
            writer.bytes.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n <= 0 && errno != EINTR { break }
                    if n > 0 { offset += n }
                }
            }
            if fd != 2 {
                fsync(fd)
                Foundation.close(fd)
            }
        }
        return .deadLettered(reason)
    }
}
