import Foundation
import PipewatchOutput

/// The outputs of a run: each alert is formatted once per output and delivered through that output's bounded
/// delivery queue. Alerts are grouped into batches by the caller (one per input chunk); a batch is complete when
/// every output that received alerts from it has acknowledged them (delivered or dead-lettered), and only then
/// is `onBatchComplete` called with its id: that is the signal an input may commit the records behind it.
public final class AlertOutputs: @unchecked Sendable {
    public let specifications: [OutputSpecification]
    public let queues: [DeliveryQueue]
    private var pending: [[[UInt8]]]
    /// Message keys of the alerts collected for keyed outputs (Kafka), nil for the others.
    private var pendingKeys: [[[UInt8]]?]
    private let tracker: BatchTracker

    public init(
        _ specifications: [OutputSpecification], deadLetterPath: String?, queueCapacity: Int = 64,
        retry: RetryPolicy = RetryPolicy(), onBatchComplete: @escaping @Sendable (UInt64) -> Void = { _ in },
        onDelivered: @escaping @Sendable (_ sink: String, _ latency: Duration) -> Void = { _, _ in }
    ) throws {
        self.specifications = specifications
        let tracker = BatchTracker(onBatchComplete, onDelivered)
        self.tracker = tracker
        pending = Array(repeating: [], count: specifications.count)
        pendingKeys = specifications.map {
            if case .kafka = $0.destination { return [] }
            return nil
        }
        queues = try specifications.map {
            let sink = try $0.makeSink()
            let name = sink.name
            return DeliveryQueue(
                sink: sink, capacity: queueCapacity, retry: retry,
                deadLetterPath: deadLetterPath, onAcknowledge: { id, _ in tracker.acknowledged(id, by: name) })
        }
    }

    /// Formats `alert` for every output, into the batch being collected.
    public func append(_ alert: Alert) {
        for (k, specification) in specifications.enumerated() {
            switch specification.destination {
            case .syslog: pending[k].append(specification.format.syslogPayload(alert))
            default: pending[k].append(specification.format.format(alert))
            }
            pendingKeys[k]?.append(alert.partitionKey)
        }
    }

    /// Hands the collected alerts to the outputs as batch `id`; blocks while an output's queue is full
    /// (backpressure). A batch without alerts completes at once.
    public func submit(batch id: UInt64) {
        let targets = pending.indices.filter { !pending[$0].isEmpty }
        tracker.expect(targets.count, for: id)
        for k in targets {
            queues[k].submit(DeliveryQueue.Batch(id: id, payloads: pending[k], keys: pendingKeys[k]))
            pending[k].removeAll(keepingCapacity: true)
            pendingKeys[k]?.removeAll(keepingCapacity: true)
        }
    }

    /// Waits until every submitted batch is acknowledged.
    public func drain() { queues.forEach { $0.drain() } }

    /// Waits at most until `deadline` for every submitted batch; whether all were acknowledged.
    public func drain(until deadline: Date) -> Bool { queues.allSatisfy { $0.drain(until: deadline) } }

    /// Whether some output's queue is full, so that a new batch would block: time for the inputs to pause.
    public var isBackedUp: Bool { queues.contains { $0.isFull } }

    /// Drains and closes every sink.
    public func close() { queues.forEach { $0.close() } }

    /// Batches and alerts that some output could not deliver and dead-lettered.
    public var anyDeadLettered: Bool { queues.contains { $0.statistics.deadLettered > 0 } }

    public func summaryLines() -> [String] {
        queues.map { queue in
            let counts = queue.statistics
            return "sink \(queue.sink.name): \(counts.delivered) batches delivered, \(counts.deadLettered) dead-lettered, \(counts.failedAttempts) failed attempts"
        }
    }
}

/// Counts the acknowledgements each batch still awaits; calls back once per batch when none is left, and once per
/// sink acknowledgement with the time since the batch was submitted.
private final class BatchTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var awaited: [UInt64: (count: Int, since: ContinuousClock.Instant)] = [:]
    private let onBatchComplete: @Sendable (UInt64) -> Void
    private let onDelivered: @Sendable (String, Duration) -> Void

    init(_ onBatchComplete: @escaping @Sendable (UInt64) -> Void, _ onDelivered: @escaping @Sendable (String, Duration) -> Void) {
        self.onBatchComplete = onBatchComplete
        self.onDelivered = onDelivered
    }

    func expect(_ count: Int, for id: UInt64) {
        if count == 0 {
            onBatchComplete(id)
        } else {
            lock.withLock { awaited[id] = (count, .now) }
        }
    }

    func acknowledged(_ id: UInt64, by sink: String) {
        let (complete, since): (Bool, ContinuousClock.Instant?) = lock.withLock {
            guard let entry = awaited[id] else { return (false, nil) }
            awaited[id] = entry.count > 1 ? (entry.count - 1, entry.since) : nil
            return (entry.count == 1, entry.since)
        }
        if let since { onDelivered(sink, .now - since) }
        if complete { onBatchComplete(id) }
    }
}
