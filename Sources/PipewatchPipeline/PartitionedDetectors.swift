import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON
import PipewatchKafka
import PipewatchOutput
import PipewatchRules

/// The stateful half of a scaled-out daemon: one detector stage per repartition partition this instance owns, fed
/// from the repartition topic (`Repartitioning`). Each stage keeps its own event time per source, from the matches
/// and time marks of its partition, and its state is saved and restored by partition (a snapshot carries the
/// repartition offset it covers), so windows, baselines and buffered records move with the partition.
///
/// Duplicates: a repartition record read again below the snapshot's offset is skipped; and since the records one
/// input partition sends to one repartition partition arrive in input offset order (one owner at a time reads
/// it in order), a match whose input position is behind the latest one fed from that input (an input record read
/// again by the next owner after a crash, matched and sent again) is recognised and skipped too. So a crash on
/// either side never counts a record twice in a window.
public final class PartitionedDetectors {
    public let ruleSet: RuleSet
    public let options: DetectorOptions
    public let topic: String
    /// The stage of each partition owned.
    public private(set) var stages: [Int32: DetectorStage] = [:]
    /// Per partition owned, the offset after the last repartition record fed: records below it are in the state
    /// and are never fed again (read a second time after a crash or a hand-over).
    public private(set) var next: [Int32: Int64] = [:]
    /// Per partition owned and per input (hash of its partition's name): the latest input offset fed, and the rules
    /// whose matches of the record at that offset were fed.
    private var inputs: [Int32: [UInt64: (offset: Int64, rules: [Int])]] = [:]
    /// Matches skipped as sent again by an input read again.
    public private(set) var duplicates = 0
    /// Records read again below `next`, skipped.
    public private(set) var skipped = 0
    /// Records that could not be fed (damaged, or written with other rules), with where and why.
    public private(set) var refused: [(partition: KafkaTopicPartition, offset: Int64, reason: String)] = []
    /// Per partition owned and per source: its latest event time there, when (wall clock, seconds) it last moved,
    /// and whether it was marked idle since (`markIdle`).
    private var activity: [Int32: [(time: Int64, at: Double, idle: Bool)]] = [:]
    /// Late records of every stage since the last `takeLateRecords`.
    private var late: [LateRecord] = []
    private let decoder = EventDecoder()

    public init(ruleSet: RuleSet, options: DetectorOptions, topic: String) {
        self.ruleSet = ruleSet
        self.options = options
        self.topic = topic
    }

    /// Takes partition `partition` with fresh state, or with the state of `snapshot` (from its changelog); returns
    /// the offset the snapshot covers up to (0 without one).
    @discardableResult
    public func assign(_ partition: Int32, snapshot: [UInt8]? = nil) throws -> Int64 {
        let stage = DetectorStage(ruleSet: ruleSet, options: options)
        var covered: Int64 = 0
        var fed: [UInt64: (offset: Int64, rules: [Int])] = [:]
        if let snapshot {
            let position = try stage.restore(snapshot)
            guard let restored = PartitionedDetectors.position(position, partition: partition) else {
                throw SnapshotError("its position is not one of repartition partition \(partition)")
            }
            (covered, fed) = restored
        }
        stages[partition] = stage
        next[partition] = covered
        inputs[partition] = fed
        activity[partition] = PartitionedDetectors.activity(of: stage, now: Date().timeIntervalSince1970)
        return covered
    }

    /// Gives partition `partition` up (its state was saved, or is lost with it).
    public func revoke(_ partition: Int32) {
        stages[partition] = nil
        next[partition] = nil
        inputs[partition] = nil
        activity[partition] = nil
    }

    /// The state of `partition` with the offset it covers, for its changelog; nil if it is not owned.
    public func snapshot(_ partition: Int32) -> [UInt8]? {
        guard let stage = stages[partition] else { return nil }
        return stage.snapshot(position: PartitionedDetectors.position(partition, next: next[partition] ?? 0, inputs: inputs[partition] ?? [:]))
    }

    /// Feeds the records of a poll of the repartition topic to their partitions' stages, in offset order, then lets
    /// each stage fed release what its watermark passed; `handle` gets the alerts.
    public func feed(_ batch: KafkaBatch, _ handle: (Alert) throws -> Void) rethrows {
        var touched = Set<Int32>()
        for index in 0..<batch.count {
            let source = batch.sources[index]
            let p = source.partition.partition
            guard let stage = stages[p], let covered = next[p] else { continue }
            guard source.offset >= covered else {
                skipped += 1
                continue
            }
            next[p] = source.offset + 1
            touched.insert(p)
            let record = batch.records[index]
            let bytes = UnsafeRawBufferPointer(start: batch.bytes + record.start, count: record.count)
            if let match = Repartitioning.position(of: bytes), match.offset >= 0, !firstFeed(p, match) {
                duplicates += 1
                continue
            }
            do {
                guard let (rule, raw) = try stage.ingestRepartitioned(bytes) else { continue }
                ingest(raw: raw, rule: rule, stage: stage, at: source)
            } catch {
                refused.append((source.partition, source.offset, "\(error)"))
            }
        }
        let now = Date().timeIntervalSince1970
        for p in touched.sorted() {
            guard let stage = stages[p] else { continue }
            for (s, source) in EventSource.allCases.enumerated() {
                let time = stage.latestTime(of: source) ?? .min
                if time != activity[p]?[s].time { activity[p]?[s] = (time, now, false) }
            }
            stage.advance()
            for alert in stage.takeAlerts() { try handle(alert) }
            late += stage.takeLateRecords()
        }
    }

    /// Whether a match is fed for the first time from its input record (and notes it).
    private func firstFeed(_ p: Int32, _ match: (rule: Int, input: UInt64, offset: Int64)) -> Bool {
        guard let last = inputs[p]?[match.input] else {
            inputs[p, default: [:]][match.input] = (match.offset, [match.rule])
            return true
        }
        if match.offset < last.offset || (match.offset == last.offset && last.rules.contains(match.rule)) { return false }
        if match.offset == last.offset {
            inputs[p]![match.input]!.rules.append(match.rule)
        } else {
            inputs[p]![match.input] = (match.offset, [match.rule])
        }
        return true
    }

    /// A match that carries its raw record: decoded again, so the stage sees the event (and its evidence) as the
    /// instance that read it did.
    private func ingest(raw: UnsafeRawBufferPointer, rule: Int, stage: DetectorStage, at source: KafkaRecordSource) {
        guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            refused.append((source.partition, source.offset, "a match without its record"))
            return
        }
        let chunk = RecordChunk(
            input: "kafka:\(source.partition)", bytes: base,
            records: [FramedRecord(start: 0, end: raw.count, line: 0, streamOffset: source.offset)], framing: nil)
        decoder.decode(chunk)
        if let failure = decoder.failures.first {
            refused.append((source.partition, source.offset, failure.reason))
            return
        }
        decoder.forEachView { _, view in
            stage.observe(time: view.event.time, source: view.event.source)
            stage.ingest(view, rule: rule)
        }
    }

    /// The daemon's `idle-timeout`, per partition: a source whose event time there has not moved for `timeout`
    /// seconds of wall clock no longer holds that partition's release back (until it moves again), and when none
    /// moved for that long, event time is carried forward on the wall clock from the partition's lead, as one
    /// instance does for its sources. `handle` gets the alerts this releases; returns whether anything changed.
    @discardableResult
    public func markIdle(after timeout: Double, now: Double, _ handle: (Alert) throws -> Void) rethrows -> Bool {
        var changed = false
        for p in stages.keys.sorted() {
            guard let stage = stages[p], var sources = activity[p] else { continue }
            var marked = false
            for (s, source) in EventSource.allCases.enumerated()
            where sources[s].time != .min && !sources[s].idle && now - sources[s].at >= timeout {
                stage.markIdle(source)
                sources[s].idle = true
                marked = true
            }
            let lastMove = sources.filter { $0.time != .min }.map(\.at).max()
            if let lastMove, let lead = stage.lead, now - lastMove >= timeout {
                stage.advanceIdle(to: max(lead, sources.map(\.time).max()! + Int64((now - lastMove) * 1000)))
                marked = true
            }
            activity[p] = sources
            guard marked else { continue }
            changed = true
            stage.advance()
            for alert in stage.takeAlerts() { try handle(alert) }
            late += stage.takeLateRecords()
        }
        return changed
    }

    static func activity(of stage: DetectorStage, now: Double) -> [(time: Int64, at: Double, idle: Bool)] {
        EventSource.allCases.map { (stage.latestTime(of: $0) ?? .min, now, false) }
    }

    /// Late records since the last call.
    public func takeLateRecords() -> [LateRecord] {
        defer { late.removeAll() }
        return late
    }

    /// Refused records since the last call.
    public func takeRefused() -> [(partition: KafkaTopicPartition, offset: Int64, reason: String)] {
        defer { refused.removeAll() }
        return refused
    }

    /// Buffered records and live groups over every stage owned.
    public var bufferedRecords: Int { stages.values.reduce(0) { $0 + $1.bufferedRecords } }
    public var liveGroups: Int { stages.values.reduce(0) { $0 + $1.liveGroups } }
    public var stateBytes: Int { stages.values.reduce(0) { $0 + $1.stateBytes } }

    /// `{"repartition":P,"next":N,"inputs":[[INPUT,OFFSET,[RULE…]],…]}`: what a partition's snapshot covers (input
    /// hashes as text, since JSON numbers do not hold 64 bits).
    static func position(_ partition: Int32, next: Int64, inputs: [UInt64: (offset: Int64, rules: [Int])]) -> [UInt8] {
        let entries = inputs.sorted { $0.key < $1.key }.map { input, last in
            #"["\#(input)",\#(last.offset),[\#(last.rules.map(String.init).joined(separator: ","))]]"#
        }
        return Array(#"{"repartition":\#(partition),"next":\#(next),"inputs":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    static func position(_ bytes: [UInt8], partition: Int32) -> (next: Int64, inputs: [UInt64: (offset: Int64, rules: [Int])])? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              (object["repartition"] as? NSNumber)?.int32Value == partition,
              let next = (object["next"] as? NSNumber)?.int64Value, let entries = object["inputs"] as? [[Any]]
        else { return nil }
        var inputs: [UInt64: (offset: Int64, rules: [Int])] = [:]
        for entry in entries {
            guard entry.count == 3, let input = (entry[0] as? String).flatMap(UInt64.init),
                  let offset = (entry[1] as? NSNumber)?.int64Value, let rules = entry[2] as? [NSNumber] else { return nil }
            inputs[input] = (offset, rules.map(\.intValue))
        }
        return (next, inputs)
    }
}
