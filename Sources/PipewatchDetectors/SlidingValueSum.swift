import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// `value_sum` with lower bounds only, and `value_avg` with any condition: per group the (time, value) pairs of the
/// window and their running sum, judged on the window ending at each event. At most `maxWindowEvents` pairs are
/// kept per group (the oldest are dropped beyond that and counted as overflow). Non-numeric values are skipped.
final class SlidingValueSum: DetectorOperator {
    static let maxWindowEvents = 100_000
    let timespan: Int64
    let condition: ThresholdCondition
    let average: Bool
    private var entries: [[(time: Int64, value: Double)]] = []
    private var heads: [Int] = []
    private var sums: [Double] = []
    private(set) var overflow = 0

    init(base: DetectorOperator.Parameters, timespan: Int64, condition: ThresholdCondition, average: Bool) {
        self.timespan = timespan
        self.condition = condition
        self.average = average
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(timespan)|\(condition)|\(average)" }
    override var memoryBytes: Int { super.memoryBytes + entries.reduce(0) { $0 + 32 + $1.capacity * 16 } + sums.count * 16 }

    override func ensureCapacity(_ n: Int) {
        while entries.count < n {
            entries.append([])
            heads.append(0)
            sums.append(0)
        }
    }

    override func clearGroup(_ g: Int) {
        entries[g] = []
        heads[g] = 0
        sums[g] = 0
    }

    private func evict(_ g: Int, before horizon: Int64) {
        var h = heads[g]
        while h < entries[g].count && entries[g][h].time < horizon {
            sums[g] -= entries[g][h].value
            h += 1
        }
        if h == entries[g].count {
            entries[g].removeAll(keepingCapacity: true)
            h = 0
            sums[g] = 0
        } else if h > 64 && h * 2 > entries[g].count {
            entries[g].removeFirst(h)
            h = 0
            sums[g] = entries[g].reduce(0) { $0 + $1.value }  // re-summed so rounding cannot drift
        }
        heads[g] = h
    }

    override func process(_ record: Record, input: Int) {
        guard let value = numericValue(record, input: input), value.isFinite else { return }
        let g = group(record.values, input: input)
        let t = record.time
        evict(g, before: t - timespan)
        if entries[g].count - heads[g] >= SlidingValueSum.maxWindowEvents {
            sums[g] -= entries[g][heads[g]].value
            heads[g] += 1
            overflow += 1
        }
        entries[g].append((t, value))
        sums[g] += value
        let n = entries[g].count - heads[g]
        let measured = average ? sums[g] / Double(n) : sums[g]
        if condition.holds(measured) {
            var found = finding(group: g, time: t)
            found.value = measured
            found.windowStart = entries[g][heads[g]].time
            found.windowEnd = t
            found.identity = record.order
            found.trigger = record
            found.details = { [condition, average] w in
                writeCondition(condition, signal: nil, to: &w)
                w.key("events"); w.number(n)
                w.key("aggregate"); w.string(average ? "avg" : "sum")
            }
            clearGroup(g)
            emit(found)
        }
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        sweepGroups(at: time, every: max(timespan, 60_000)) { g in
            evict(g, before: time - timespan)
            return entries[g].isEmpty
        }
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.count(entries[g].count - heads[g])
            for k in heads[g]..<entries[g].count {
                w.i64(entries[g][k].time)
                w.double(entries[g][k].value)
            }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            let n = try r.count()
            var list: [(time: Int64, value: Double)] = []
            for _ in 0..<n { list.append((try r.i64(), try r.double())) }
            entries[g] = list
            heads[g] = 0
            sums[g] = list.reduce(0) { $0 + $1.value }
        }
    }
}
