import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// `value_count` with lower bounds only: per group the last-seen time of at most K distinct values (K = the
/// smallest count that satisfies the condition; the least recently seen value is dropped beyond that, which never
/// changes a verdict). Judged on the window ending at each event.
final class SlidingValueCount: DetectorOperator {
    let timespan: Int64
    let condition: ThresholdCondition
    let capacity: Int
    private var seen: [[(value: UInt64, time: Int64)]] = []
    private var last: [Int64] = []

    init(base: DetectorOperator.Parameters, timespan: Int64, condition: ThresholdCondition) {
        self.timespan = timespan
        self.condition = condition
        capacity = condition.minimumCount
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(timespan)|\(condition)" }
    override var memoryBytes: Int { super.memoryBytes + seen.reduce(0) { $0 + 32 + $1.capacity * 16 } + last.count * 8 }

    override func ensureCapacity(_ n: Int) {
        while seen.count < n {
            seen.append([])
            last.append(.min)
        }
    }

    override func clearGroup(_ g: Int) {
        seen[g] = []
        last[g] = .min
    }

    override func process(_ record: Record, input: Int) {
        guard let hash = valueHash(record, input: input) else { return }
        let g = group(record.values, input: input)
        let t = record.time
        let horizon = t - timespan
        seen[g].removeAll { $0.time < horizon || $0.value == hash }
        seen[g].append((hash, t))
        if seen[g].count > capacity { seen[g].removeFirst() }  // kept in last-seen order
        last[g] = t
        if seen[g].count >= capacity && condition.holds(Double(seen[g].count)) {
            var found = finding(group: g, time: t)
            found.value = Double(seen[g].count)
            found.windowStart = seen[g].first!.time
            found.windowEnd = t
            found.identity = record.order
            found.trigger = record
            found.details = { [condition] w in writeCondition(condition, signal: nil, to: &w) }
            seen[g].removeAll()
            emit(found)
        }
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        sweepGroups(at: time, every: max(timespan, 60_000)) { last[$0] < time - timespan }
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.i64(last[g])
            w.count(seen[g].count)
            for entry in seen[g] {
                w.u64(entry.value)
                w.i64(entry.time)
            }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            last[g] = try r.i64()
            let n = try r.count()
            var entries: [(value: UInt64, time: Int64)] = []
            for _ in 0..<n { entries.append((try r.u64(), try r.i64())) }
            seen[g] = entries
        }
    }
}
