import PipewatchEvents
import PipewatchJSON
import PipewatchRules

/// How matches travel through a repartition topic when several instances share the detectors (the daemon's
/// `scaling:`): each match a correlation, detector or tuned rule reads becomes one record, keyed by the entity its
/// readers group by, so one entity's matches meet on one partition whichever instance read them; time marks carry
/// each instance's per-source event time to every partition, so watermarks advance there as on one instance.
///
/// Keys: operators that share a feed (a rule, or a correlation read by others) form a component, and their records
/// must meet on one partition as a whole unless every reader of every feed in it groups by the same values. A
/// component whose readers agree is keyed by those values (one entity, one partition); one whose readers disagree
/// (say, one groups by user and another by IP over the same rule) is keyed by the component alone and runs on one
/// partition. A key starts with the component's number, so components spread over the partitions.
///
/// Records: kind (1 values, 2 raw record, 3 time mark), the program's fingerprint (a record written by an instance
/// with other rules is refused, never misread), then for a match its rule, source, event time and input position
/// (a hash of the input partition and the offset: an input record read again after a crash makes the same match
/// again, which the consumer recognises and does not count twice), and either the field values its readers read
/// or, when a reader may show it as evidence, the raw record (the consumer decodes it again, so the alert is the one
/// a single instance gives). A time mark holds (source, latest event time) pairs.
public struct Repartitioning {
    /// Per rule: its component, and the slots of its feed values that form the key (nil: the component alone).
    let components: [Int32]
    let keySlots: [[Int]?]
    let fingerprint: UInt64
    public let partitions: Int32

    public init(stage: DetectorStage, partitions: Int32) {
        self.partitions = max(1, partitions)
        fingerprint = stage.fingerprint
        let ruleCount = stage.ruleSet.rules.count
        // Union-find over feeds: an operator joins every feed it reads and the feed its findings go to.
        var parent = Array(0..<stage.feeds.count)
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        func join(_ a: Int, _ b: Int) { parent[root(a)] = root(b) }
        for op in stage.operators {
            let feeds = op.inputs.map { Int($0.feed) } + (op.derivedFeed.map { [Int($0)] } ?? [])
            for feed in feeds.dropFirst() { join(feeds[0], feed) }
        }
        // Per feed, the group slots its readers use; a feed read with two different ones spoils its component.
        var slots = [[Int]?](repeating: nil, count: stage.feeds.count)
        var spoiled = Set<Int>()
        for op in stage.operators {
            for input in op.inputs {
                let feed = Int(input.feed)
                if let known = slots[feed], known != input.groupSlots { spoiled.insert(root(feed)) }
                slots[feed] = input.groupSlots
            }
            // Readers of a correlation's findings must group by its group-by values (its findings' first values).
            if let derived = op.derivedFeed, let read = slots[Int(derived)], read != Array(0..<op.groupBy.count) {
                spoiled.insert(root(Int(derived)))
            }
        }
        for op in stage.operators {
            guard let derived = op.derivedFeed else { continue }
            for reader in stage.operators {
                for input in reader.inputs where input.feed == derived && input.groupSlots != Array(0..<op.groupBy.count) {
                    spoiled.insert(root(Int(derived)))
                }
            }
        }
        var numbers: [Int: Int32] = [:]
        var components = [Int32](repeating: -1, count: ruleCount)
        var keySlots = [[Int]?](repeating: nil, count: ruleCount)
        for r in 0..<ruleCount where stage.consumed[r] {
            let component = root(r)
            if numbers[component] == nil { numbers[component] = Int32(numbers.count) }
            components[r] = numbers[component]!
            keySlots[r] = spoiled.contains(component) ? nil : slots[r]
        }
        self.components = components
        self.keySlots = keySlots
    }

    /// Whether rule `rule`'s matches are keyed by entity (false: its component runs on one partition).
    public func keyedByEntity(rule: Int) -> Bool { keySlots[rule].map { !$0.isEmpty } ?? false }

    // MARK: Writing

    /// Bytes before a match's values or raw record.
    public static let matchHeader = 38

    /// The key, partition and record of a match of rule `rule` (one the stage consumes) on `view`, read at `offset`
    /// of the input `input` (`Hash64` of its name; 0 and −1 for an input without positions).
    public func record(_ view: EventView, rule: Int, stage: DetectorStage, input: UInt64, offset: Int64)
        -> (partition: Int32, key: [UInt8], value: [UInt8])
    {
        let feed = stage.feeds[rule]
        var builder = FieldValues.Builder(count: feed.readers.count)
        for reader in feed.readers {
            if reader.withFirstText(in: view, { builder.append(bytes: UnsafeRawBufferPointer($0)) }) == nil { builder.appendAbsent() }
        }
        let values = builder.values
        var key: [UInt8] = []
        key.reserveCapacity(32)
        withUnsafeBytes(of: UInt16(truncatingIfNeeded: components[rule]).littleEndian) { key.append(contentsOf: $0) }
        for slot in keySlots[rule] ?? [] { GroupKey.append(values, slot, to: &key) }
        let partition = Int32(truncatingIfNeeded: Hash64.hash(key) % UInt64(partitions))
        var value: [UInt8] = []
        if feed.evidence {
            let raw = view.document.rawBytes(view.record)
            value.reserveCapacity(Repartitioning.matchHeader + raw.count)
            header(2, rule: rule, source: view.event.source, time: view.event.time, into: &value)
            append(input, to: &value)
            append(UInt64(bitPattern: offset), to: &value)
            value.append(contentsOf: raw)
        } else {
            value.reserveCapacity(Repartitioning.matchHeader + values.storage.count)
            header(1, rule: rule, source: view.event.source, time: view.event.time, into: &value)
            append(input, to: &value)
            append(UInt64(bitPattern: offset), to: &value)
            value.append(contentsOf: values.storage)
        }
        return (partition, key, value)
    }

    /// A time mark: the latest event time seen per source (`.min`: none).
    public func timeMark(_ times: [Int64]) -> [UInt8] {
        var value: [UInt8] = [3]
        append(fingerprint, to: &value)
        let seen = times.indices.filter { times[$0] != .min }
        value.append(UInt8(seen.count))
        for s in seen {
            value.append(UInt8(s))
            append(UInt64(bitPattern: times[s]), to: &value)
        }
        return value
    }

    private func header(_ kind: UInt8, rule: Int, source: EventSource, time: Int64, into value: inout [UInt8]) {
        value.append(kind)
        append(fingerprint, to: &value)
        withUnsafeBytes(of: UInt32(rule).littleEndian) { value.append(contentsOf: $0) }
        value.append(source.rawValue)
        append(UInt64(bitPattern: time), to: &value)
    }

    private func append(_ number: UInt64, to value: inout [UInt8]) {
        withUnsafeBytes(of: number.littleEndian) { value.append(contentsOf: $0) }
    }

    /// The rule and input position of a match record; nil for a time mark or a record too short to be a match.
    public static func position(of record: UnsafeRawBufferPointer) -> (rule: Int, input: UInt64, offset: Int64)? {
        guard record.count >= matchHeader, record[0] == 1 || record[0] == 2 else { return nil }
        return (Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 9, as: UInt32.self))),
                UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 22, as: UInt64.self)),
                Int64(bitPattern: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 30, as: UInt64.self))))
    }
}

/// A repartition record that cannot be fed: damaged, or written by an instance running other rules.
public struct RepartitionRecordError: Error, CustomStringConvertible {
    public var description: String
}

extension DetectorStage {
    /// Feeds one repartition record (`Repartitioning`): a time mark moves its sources' event time, a match with
    /// values is ingested. A match that carries its raw record is returned for the caller to decode and ingest
    /// (`ingest(_:rule:)`), in order.
    public func ingestRepartitioned(_ record: UnsafeRawBufferPointer) throws(RepartitionRecordError) -> (rule: Int, raw: UnsafeRawBufferPointer)? {
        guard record.count >= 9 else { throw RepartitionRecordError(description: "a repartition record of \(record.count) bytes") }
        let kind = record[0]
        let print = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        guard print == fingerprint else {
            throw RepartitionRecordError(description: "written by an instance running other correlations or detectors")
        }
        if kind == 3 {
            guard record.count >= 10 else { throw RepartitionRecordError(description: "a time mark cut short") }
            let count = Int(record[9])
            guard record.count >= 10 + 9 * count else { throw RepartitionRecordError(description: "a time mark cut short") }
            for k in 0..<count {
                let s = record[10 + 9 * k]
                let time = Int64(bitPattern: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 11 + 9 * k, as: UInt64.self)))
                guard let source = EventSource(rawValue: s) else { continue }
                observe(time: time, source: source)
            }
            return nil
        }
        guard kind == 1 || kind == 2, record.count >= Repartitioning.matchHeader else {
            throw RepartitionRecordError(description: "a repartition record of unknown kind \(kind)")
        }
        let rule = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 9, as: UInt32.self)))
        guard rule < consumed.count, consumed[rule], let source = EventSource(rawValue: record[13]) else {
            throw RepartitionRecordError(description: "a match of rule \(rule), which no detector reads")
        }
        let time = Int64(bitPattern: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 14, as: UInt64.self)))
        let payload = UnsafeRawBufferPointer(rebasing: record[Repartitioning.matchHeader...])
        if kind == 2 { return (rule, payload) }
        guard time != Event.unknownTime else {
            // As `ingest(_:rule:)` counts a match without time: it has no place in event time.
            statistics.records += 1
            statistics.recordsWithoutTime += 1
            return nil
        }
        guard let values = FieldValues(storage: Array(payload)), values.count == feeds[rule].names.count else {
            throw RepartitionRecordError(description: "the values of a match of rule \(rule) are damaged")
        }
        observe(time: time, source: source)
        ingest(rule: rule, time: time, values: values, source: source)
        return nil
    }
}
