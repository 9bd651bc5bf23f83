import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// `temporal`: per group the last time each referenced rule matched; when the rules seen within the timespan
/// satisfy the condition (by default: all of them), the group alerts and starts over. `temporal_ordered`: per group
/// and per step the latest start of a chain that matched steps 1…k in order; a chain older than the timespan is
/// dropped; when the last step completes a chain, the group alerts. Both cost 8 bytes per rule per group.
/// With a prefix group field (`group-by: [field|prefix]`, ordered only), the first step's value names a group and a
/// later step's value joins every group named by it or by one of its `/` ancestors (`s3://b/m/9/model.pkl` joins
/// `s3://b/m/9`, `s3://b/m` and `s3://b`), without making groups of its own.
final class TemporalCorrelation: DetectorOperator {
    let ordered: Bool
    let timespan: Int64
    let condition: ThresholdCondition
    let steps: Int
    /// `evidence: first`: the alert shows the first step's event, so the later steps need none.
    let evidenceFromFirstStep: Bool
    private var times: [Int64] = []
    private var last: [Int64] = []
    /// With `evidenceFromFirstStep`: per group and step, the first record of the chain that reached that step.
    private var chains: [Record?] = []
    /// The position in the group-by of the prefix field (ordered only).
    let prefixGroup: Int?

    init(base: DetectorOperator.Parameters, ordered: Bool, timespan: Int64, condition: ThresholdCondition?, steps: Int,
         evidenceFromFirstStep: Bool = false, prefixGroup: Int? = nil) {
        self.ordered = ordered
        self.prefixGroup = ordered ? prefixGroup : nil
        self.timespan = timespan
        self.condition = condition ?? ThresholdCondition(gte: Double(steps))
        self.steps = steps
        self.evidenceFromFirstStep = ordered && evidenceFromFirstStep
        super.init(parameters: base)
    }

    override var definition: String {
        super.definition + "|\(ordered)|\(timespan)|\(condition)|\(steps)|\(evidenceFromFirstStep)" + (prefixGroup.map { "|prefix \($0)" } ?? "")
    }
    override var memoryBytes: Int { super.memoryBytes + times.count * 8 + last.count * 8 + chains.count * 8 }

    override func needsEvidence(input: Int) -> Bool { !evidenceFromFirstStep || input == 0 }

    override func ensureCapacity(_ n: Int) {
        guard last.count < n else { return }
        let grown = max(n, last.count * 2, 16)
        times += [Int64](repeating: .min, count: (grown - last.count) * steps)
        if evidenceFromFirstStep { chains += [Record?](repeating: nil, count: (grown - last.count) * steps) }
        last += [Int64](repeating: .min, count: grown - last.count)
    }

    override func clearGroup(_ g: Int) {
        for k in 0..<steps { times[g * steps + k] = .min }
        if evidenceFromFirstStep { for k in 0..<steps { chains[g * steps + k] = nil } }
        last[g] = .min
    }

    override func process(_ record: Record, input: Int) {
        if let prefixGroup, input > 0 {
            forEachPrefixGroup(record.values, input: input, position: prefixGroup) { step($0, record, input: input) }
        } else {
            step(group(record.values, input: input), record, input: input)
        }
    }

    /// The groups a later step's record joins: its value's own and each `/` ancestor's, where the first step made one.
    private func forEachPrefixGroup(_ values: FieldValues, input: Int, position: Int, _ body: (Int) -> Void) {
        let slots = inputs[input].groupSlots
        guard let path = values.withValue(slots[position], { Array($0) }) else { return }
        // Cut points: the whole value, then before each '/' after the scheme's "//" (or after the first byte).
        var ends = [path.count]
        var start = 1
        if let scheme = path.indices.dropLast(2).first(where: { path[$0] == 0x3A && path[$0 + 1] == 0x2F && path[$0 + 2] == 0x2F }) {
            start = scheme + 3
        }
        var k = path.count - 1
        while k > start {
            if path[k] == 0x2F && path[k - 1] != 0x2F { ends.append(k) }
            k -= 1
        }
        var seen: Set<Int> = []
        for end in ends {
            keyScratch.removeAll(keepingCapacity: true)
            for (p, slot) in slots.enumerated() {
                if p == position {
                    path.withUnsafeBytes { GroupKey.append(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<end]), to: &keyScratch) }
                } else {
                    GroupKey.append(values, slot, to: &keyScratch)
                }
            }
            let found = keyScratch.withUnsafeBytes { groups.find(hash: Hash64.hash($0), key: $0) }
            if let found, seen.insert(Int(found)).inserted { body(Int(found)) }
        }
    }

    private func step(_ g: Int, _ record: Record, input: Int) {
        let t = record.time
        let base = g * steps
        let horizon = t - timespan
        last[g] = t
        var complete = false
        var start = t
        if ordered {
            if input == 0 {
                times[base] = t
                if evidenceFromFirstStep { chains[base] = record }
            } else if times[base + input - 1] != .min && times[base + input - 1] >= horizon {
                if times[base + input - 1] > times[base + input] {
                    times[base + input] = times[base + input - 1]
                    if evidenceFromFirstStep { chains[base + input] = chains[base + input - 1] }
                }
            }
            if input == steps - 1 && times[base + input] != .min && times[base + input] >= horizon {
                complete = true
                start = times[base + input]
            }
        } else {
            times[base + input] = t
            var seen = 0
            for k in 0..<steps where times[base + k] != .min && times[base + k] >= horizon {
                seen += 1
                start = min(start, times[base + k])
            }
            complete = condition.holds(Double(seen))
        }
        guard complete else { return }
        var found = finding(group: g, time: t)
        found.value = ordered ? Double(steps) : Double((0..<steps).filter { times[base + $0] != .min && times[base + $0] >= horizon }.count)
        found.windowStart = start
        found.windowEnd = t
        found.identity = record.order
        found.trigger = evidenceFromFirstStep ? chains[base + steps - 1] : record
        if evidenceFromFirstStep {
            found.details = { w in
                w.key("completed_at"); w.string(Timestamp.format(milliseconds: t))
            }
            clearGroup(g)
            emit(found)
            return
        }
        let ordered = self.ordered
        let condition = self.condition
        found.details = { w in
            if !ordered { writeCondition(condition, signal: nil, to: &w) }
        }
        clearGroup(g)
        emit(found)
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
            for k in 0..<steps { w.i64(times[g * steps + k]) }
            if evidenceFromFirstStep {
                for k in 0..<steps {
                    w.bool(chains[g * steps + k] != nil)
                    if let record = chains[g * steps + k] { stage!.writeRecord(record, to: &w) }
                }
            }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            last[g] = try r.i64()
            for k in 0..<steps { times[g * steps + k] = try r.i64() }
            if evidenceFromFirstStep {
                for k in 0..<steps { chains[g * steps + k] = try r.bool() ? try stage!.readRecord(&r) : nil }
            }
        }
    }
}
