import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchInputs
import PipewatchKafka
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

/// The daemon's scale-out (`scaling:`), the way Kafka Streams does it. Every instance consumes the input topics in
/// the group as before and alerts stand-alone rules itself; the matches the detectors read go to the repartition
/// topic keyed by entity (`Repartitioning`), before the input records they came from may be committed. A second
/// consumer, in the group `<group>-stateful`, reads the repartition topic and runs one detector stage per partition
/// it is assigned (`PartitionedDetectors`); each stage's state is saved to its partition of the compacted changelog
/// topic with the repartition offset it covers, and the repartition offsets are committed only up to what a saved
/// snapshot covers. A partition's next owner restores the latest snapshot and skips the records it covers, so a
/// hand-over or a crash neither forgets a window nor counts a record twice.
final class ScaleOut {
    let scaling: DaemonConfiguration.Scaling
    let partitions: Int32
    private let producer: KafkaTopicProducer
    private let repartitioning: Repartitioning
    /// A stage used only to read the values that key and carry each match.
    private let keyStage: DetectorStage
    /// Repartition records of the batch being evaluated.
    private var pending: [KafkaTopicProducer.Message] = []
    /// This instance's latest event time per source, and what the last time mark carried.
    private var times = [Int64](repeating: .min, count: EventSource.allCases.count)
    private var marked = [Int64](repeating: .min, count: EventSource.allCases.count)

    let consumer: KafkaConsumer
    let detectors: PartitionedDetectors
    private let changelog: KafkaChangelogReader
    /// Repartition records behind each batch of alerts in flight.
    private var recordsOfBatch: [UInt64: [KafkaRecordSource]] = [:]
    /// Records whose alerts are acknowledged, waiting for a saved snapshot that covers them.
    private var acknowledged: [KafkaRecordSource] = []
    /// Snapshots taken in memory (per partition, with the offset each covers) and the last batch fed before them;
    /// written once every batch up to it is acknowledged.
    private var taken: (snapshots: [Int32: [UInt8]], covered: [Int32: Int64], batch: UInt64)?
    private var lastTaken = Date()
    /// Snapshots written, their bytes, restore times (seconds) since the last `takeRestoreTimes`.
    private(set) var snapshotsWritten = 0
    private(set) var snapshotBytes = 0
    private var restoreTimes: [Double] = []

    init(_ scaling: DaemonConfiguration.Scaling, kafka: DaemonConfiguration.Kafka, ruleSet: RuleSet,
         options: DetectorOptions, log: (String) -> Void) throws {
        self.scaling = scaling
        let config = kafka.consumer
        producer = try KafkaTopicProducer(bootstrapServers: config.bootstrapServers, properties: config.properties)
        partitions = try ScaleOut.prepareTopics(scaling, config, producer: producer, log: log)
        keyStage = DetectorStage(ruleSet: ruleSet, options: options)
        repartitioning = Repartitioning(stage: keyStage, partitions: partitions)
        for r in ruleSet.rules.indices where keyStage.consumed[r] && !repartitioning.keyedByEntity(rule: r) {
            log("scaling: the detectors reading rule \(ruleSet.rules[r].reference) do not group by one entity; "
                + "their matches run on one repartition partition")
        }
        detectors = PartitionedDetectors(ruleSet: ruleSet, options: options, topic: scaling.repartitionTopic)
        changelog = try KafkaChangelogReader(bootstrapServers: config.bootstrapServers, properties: config.properties)
        var stateful = KafkaConsumerConfig(
            bootstrapServers: config.bootstrapServers, groupID: config.groupID + "-stateful",
            topics: [scaling.repartitionTopic], properties: config.properties)
        stateful.maxRecordBytes = max(config.maxRecordBytes, 1 << 20) + 64
        consumer = try KafkaConsumer(stateful)
    }

    /// The repartition topic's partition count: the existing topic's, else it is created (with the changelog,
    /// compacted) with the configured count or the input topics' largest.
    static func prepareTopics(_ scaling: DaemonConfiguration.Scaling, _ config: KafkaConsumerConfig,
                              producer: KafkaTopicProducer, log: (String) -> Void) throws -> Int32 {
        var count = try producer.partitionCount(scaling.repartitionTopic)
        if count == nil {
            var wanted = scaling.partitions.map(Int32.init)
            if wanted == nil {
                for topic in config.topics where !topic.hasPrefix("^") {
                    if let n = try producer.partitionCount(topic) { wanted = max(wanted ?? 0, n) }
                }
            }
            guard let wanted else {
                throw DaemonConfigurationError(problems: [
                    "scaling: the input topics' partition counts are unknown (regular expressions, or topics not created "
                        + "yet): name scaling.partitions"])
            }
            if try producer.createTopic(scaling.repartitionTopic, partitions: wanted, replication: Int32(scaling.replication)) {
                log("scaling: created \(scaling.repartitionTopic) with \(wanted) partitions")
            }
            count = try producer.partitionCount(scaling.repartitionTopic) ?? wanted
        }
        guard let count else { throw DaemonConfigurationError(problems: ["scaling: no repartition topic"]) }
        if let wanted = scaling.partitions, wanted != Int(count) {
            log("scaling: \(scaling.repartitionTopic) has \(count) partitions, not the \(wanted) configured; it keeps them")
        }
        if try producer.partitionCount(scaling.changelogTopic) == nil,
           try producer.createTopic(scaling.changelogTopic, partitions: count, replication: Int32(scaling.replication),
                                    config: [("cleanup.policy", "compact")]) {
            log("scaling: created \(scaling.changelogTopic) (compacted) with \(count) partitions")
        }
        return count
    }

    // MARK: The input side

    /// Where each event of the batch being evaluated was read (by its index in the chunk); nil for an input
    /// without positions (webhook deliveries, which their ledger keeps from being processed twice).
    var positions: ((Int) -> KafkaRecordSource)?
    private var inputIDs: [KafkaTopicPartition: UInt64] = [:]

    /// A match a detector reads, from `Detection`: a repartition record for the batch being evaluated.
    func add(_ view: EventView, rule: Int, event: Int) {
        var input: UInt64 = 0
        var offset: Int64 = -1
        if let source = positions?(event) {
            offset = source.offset
            if let id = inputIDs[source.partition] {
                input = id
            } else {
                input = Hash64.hash(source.partition.description)
                inputIDs[source.partition] = input
            }
        }
        let record = repartitioning.record(view, rule: rule, stage: keyStage, input: input, offset: offset)
        pending.append(.init(partition: record.partition, key: record.key, value: record.value))
    }

    /// Produces the batch's repartition records, and a time mark to every partition when the batch moved this
    /// instance's event time; returns once the brokers acknowledged them all, so the input records may be committed
    /// once their alerts are. Throws when they cannot be delivered (the input records stay uncommitted).
    func flush(_ events: [Event]) throws {
        positions = nil
        var moved = false
        for event in events where event.time != Event.unknownTime && event.time > times[Int(event.source.rawValue)] {
            times[Int(event.source.rawValue)] = event.time
            moved = true
        }
        if moved && times != marked {
            let mark = repartitioning.timeMark(times)
            for p in 0..<partitions { pending.append(.init(partition: p, key: [], value: mark)) }
            marked = times
        }
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        var attempt = 0
        while true {
            do {
                try producer.produce(scaling.repartitionTopic, pending)
                return
            } catch {
                attempt += 1
                if attempt >= 3 { throw error }
            }
        }
    }

    /// Repartition messages and bytes produced so far.
    var produced: (messages: Int, bytes: Int) { (producer.messages, producer.bytes) }

    // MARK: The stateful side

    /// Partitions assigned: each restores the latest snapshot of its changelog partition.
    func assigned(_ partitions: [KafkaTopicPartition], log: (String) -> Void) throws {
        for partition in partitions {
            let started = Date()
            let snapshot = try changelog.latest(scaling.changelogTopic, partition: partition.partition)
            let covered: Int64
            do {
                covered = try detectors.assign(partition.partition, snapshot: snapshot)
            } catch {
                log("scaling: the snapshot of \(partition) cannot be restored (\(error)); its detectors start afresh")
                covered = try detectors.assign(partition.partition, snapshot: nil)
            }
            let seconds = Date().timeIntervalSince(started)
            restoreTimes.append(seconds)
            if snapshot != nil {
                let stage = detectors.stages[partition.partition]
                log("scaling: \(partition) restored in \(String(format: "%.3f", seconds)) s: \(stage?.liveGroups ?? 0) groups, "
                    + "\(stage?.bufferedRecords ?? 0) buffered records; covers the records below \(covered)")
            }
        }
    }

    /// Partitions revoked (their state was saved by `save(_:)` first) or lost.
    func released(_ partitions: [KafkaTopicPartition]) {
        for partition in partitions { detectors.revoke(partition.partition) }
        acknowledged.removeAll { partitions.contains($0.partition) }
        let gone = Set(partitions)
        for id in recordsOfBatch.keys { recordsOfBatch[id]?.removeAll { gone.contains($0.partition) } }
    }

    /// Feeds a poll of the repartition topic; `alert` gets the alerts. Returns the records that make up the batch
    /// (to be done once its alerts are acknowledged and a snapshot covers them); those the state already holds are
    /// done at once.
    func feed(_ batch: KafkaBatch, _ alert: (Alert) -> Void) -> [KafkaRecordSource] {
        var fed: [KafkaRecordSource] = []
        fed.reserveCapacity(batch.count)
        for source in batch.sources {
            if let covered = detectors.next[source.partition.partition], source.offset >= covered {
                fed.append(source)
            } else {
                _ = consumer.watermark.markDone(source.partition, offset: source.offset)
            }
        }
        detectors.feed(batch, alert)
        return fed
    }

    func submitted(batch id: UInt64, records: [KafkaRecordSource]) {
        if !records.isEmpty { recordsOfBatch[id] = records }
    }

    /// A batch acknowledged by every output: its repartition records wait for a snapshot.
    func acknowledged(batch id: UInt64) {
        if let records = recordsOfBatch.removeValue(forKey: id) { acknowledged += records }
    }

    /// Takes snapshots every `checkpoint-interval` and writes the one taken once every batch before it is
    /// acknowledged; returns whether one was written.
    func checkpointIfDue(lastBatch: UInt64, oldestUnacknowledged: UInt64?) throws -> Bool {
        if taken == nil, !acknowledged.isEmpty || !recordsOfBatch.isEmpty,
           Date().timeIntervalSince(lastTaken) >= scaling.checkpointInterval {
            var snapshots: [Int32: [UInt8]] = [:]
            for p in detectors.stages.keys { snapshots[p] = detectors.snapshot(p) }
            taken = (snapshots, detectors.next, lastBatch)
            lastTaken = Date()
        }
        guard let snapshot = taken, (oldestUnacknowledged ?? .max) > snapshot.batch else { return false }
        taken = nil
        try write(snapshot.snapshots, covered: snapshot.covered)
        return true
    }

    /// Saves the state of `partitions` now (everything in flight was acknowledged): on revocation and at shutdown.
    func save(_ partitions: [Int32]) throws {
        var snapshots: [Int32: [UInt8]] = [:]
        for p in partitions { if let bytes = detectors.snapshot(p) { snapshots[p] = bytes } }
        taken = nil
        try write(snapshots, covered: detectors.next.filter { partitions.contains($0.key) })
    }

    private func write(_ snapshots: [Int32: [UInt8]], covered: [Int32: Int64]) throws {
        guard !snapshots.isEmpty else { return }
        let messages = snapshots.sorted { $0.key < $1.key }.map { p, bytes in
            KafkaTopicProducer.Message(partition: p, key: Array("repartition-\(p)".utf8), value: bytes)
        }
        try producer.produce(scaling.changelogTopic, messages)
        snapshotsWritten += messages.count
        snapshotBytes = messages.reduce(0) { $0 + $1.value.count }
        // What the saved state covers may be committed.
        var waiting: [KafkaRecordSource] = []
        for source in acknowledged {
            if let next = covered[source.partition.partition], source.offset < next {
                _ = consumer.watermark.markDone(source.partition, offset: source.offset)
            } else {
                waiting.append(source)
            }
        }
        acknowledged = waiting
    }

    /// Restore times since the last call, in seconds.
    func takeRestoreTimes() -> [Double] {
        defer { restoreTimes.removeAll() }
        return restoreTimes
    }

    func close() -> [KafkaError] {
        let errors = consumer.close()
        producer.close()
        return errors
    }
}
