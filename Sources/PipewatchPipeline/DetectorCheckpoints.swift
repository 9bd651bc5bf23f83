import Foundation
import PipewatchDetectors
import PipewatchJSON
import PipewatchKafka

/// How far the detector state of a `pipewatch run` goes into its Kafka input: per partition, the offset after the
/// last record fed to the detector stage. Records below it are part of the state and are never fed to it again (after
/// a rebalance hands the partition back, or a restart re-reads from the committed offset); their stand-alone rules
/// still run, since their alerts may not have been delivered.
public struct KafkaStatePosition: Sendable, Equatable {
    public var next: [KafkaTopicPartition: Int64] = [:]

    public init(next: [KafkaTopicPartition: Int64] = [:]) { self.next = next }

    /// Whether the record at `offset` of `partition` is already in the state.
    public func contains(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard let next = next[partition] else { return false }
        return offset < next
    }

    /// Notes that the record at `offset` of `partition` was fed.
    public mutating func fed(_ partition: KafkaTopicPartition, offset: Int64) {
        if offset >= next[partition] ?? .min { next[partition] = offset + 1 }
    }

    /// `{"kafka":[{"topic":…,"partition":…,"next":…},…]}`, in topic and partition order.
    public var bytes: [UInt8] {
        var w = JSONWriter(capacity: 64 + 64 * next.count)
        w.beginObject()
        w.key("kafka")
        w.beginArray()
        for (partition, offset) in next.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            w.beginObject()
            w.key("topic"); w.string(partition.topic)
            w.key("partition"); w.number(Int64(partition.partition))
            w.key("next"); w.number(offset)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    public init?(bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let entries = object["kafka"] as? [[String: Any]]
        else { return nil }
        for entry in entries {
            guard let topic = entry["topic"] as? String, let partition = (entry["partition"] as? NSNumber)?.int32Value,
                let offset = (entry["next"] as? NSNumber)?.int64Value
            else { return nil }
            next[KafkaTopicPartition(topic, partition)] = offset
        }
    }
}

/// When the daemon's detector state is saved, and which acknowledged batches that lets it commit.
///
/// A batch's records may be committed only once (a) every output acknowledged its alerts and (b) a durable snapshot
/// of the detector state includes them; otherwise a crash would lose what they added to windows, baselines and the
/// reorder buffer. A snapshot is taken in memory every `interval`, and written (atomically, fsync'd) only once every
/// batch fed before it is acknowledged, so that no alert the saved state already accounts for can still be
/// undelivered: after a crash the state is restored, the records after the commit are read again, and those the
/// state already holds feed only the stand-alone rules. Acknowledged batches fed after the last durable snapshot wait
/// for the next one.
package final class DetectorCheckpoints {
    package let path: String
    package let interval: Double
    /// Batches up to this one were fed before the last durable snapshot.
    package private(set) var durableThrough: UInt64 = 0
    /// Acknowledged batches fed after it, in acknowledgement order.
    package private(set) var waiting: [UInt64] = []
    /// A snapshot in memory, and the last batch fed before it.
    private var taken: (bytes: [UInt8], batch: UInt64)?
    private var lastTaken = Date()
    /// Durable snapshots written, and the size of the last one.
    package private(set) var saved = 0
    package private(set) var lastSize = 0

    package init(path: String, interval: Double) {
        self.path = path
        self.interval = interval
    }

    /// An acknowledged batch: returns whether its records may be marked done now (it is in the durable state).
    package func acknowledged(_ batch: UInt64) -> Bool {
        if batch <= durableThrough { return true }
        waiting.append(batch)
        return false
    }

    /// Takes a snapshot in memory when one is due (`soon`: something waits for it, as a webhook delivery does, so
    /// a second is enough), writes the one taken when every batch before it is acknowledged, and returns the
    /// batches that became durable.
    package func step(stage: DetectorStage, position: KafkaStatePosition, lastBatch: UInt64,
              oldestUnacknowledged: UInt64?, soon: Bool) throws -> [UInt64] {
        if taken == nil, !waiting.isEmpty, Date().timeIntervalSince(lastTaken) >= (soon ? min(1, interval) : interval) {
            taken = (stage.snapshot(position: position.bytes), lastBatch)
            lastTaken = Date()
        }
        guard let snapshot = taken, (oldestUnacknowledged ?? .max) > snapshot.batch else { return [] }
        try write(snapshot.bytes, through: snapshot.batch)
        return release()
    }

    /// Everything fed is acknowledged (the outputs were drained): saves the state now, on revocation and at
    /// shutdown, and returns the batches that became durable.
    package func saveNow(stage: DetectorStage, position: KafkaStatePosition, lastBatch: UInt64) throws -> [UInt64] {
        try write(stage.snapshot(position: position.bytes), through: lastBatch)
        lastTaken = Date()
        return release()
    }

    /// The rules changed: a snapshot taken with the old ones is not written.
    package func discardTaken() { taken = nil }

    /// No stage to save (the rules have no correlation, detector or tuned rule): everything waiting may go.
    package func releaseAll() -> [UInt64] {
        taken = nil
        durableThrough = max(durableThrough, waiting.max() ?? 0)
        defer { waiting.removeAll() }
        return waiting
    }

    private func write(_ bytes: [UInt8], through batch: UInt64) throws {
        try AtomicFile.write(bytes, to: path)
        durableThrough = max(durableThrough, batch)
        saved += 1
        lastSize = bytes.count
        taken = nil
    }

    private func release() -> [UInt64] {
        let durable = waiting.filter { $0 <= durableThrough }
        waiting.removeAll { $0 <= durableThrough }
        return durable
    }
}
