import Foundation
import PipewatchJSON
import PipewatchRules

/// Distribution drift: the distribution of a categorical field per group and bucket against the group's baseline
/// distribution (an EWMA of past buckets' distributions), by the population stability index (`psi`: Σ (p−q)·ln(p/q),
/// shares floored at 10⁻⁴) or the Jensen–Shannon distance (`js`: √JSD, base 2, 0…1). Buckets with fewer than
/// `min_count` events are neither judged nor learned.
///
/// Categories are identified by a 64-bit hash of the value, and every choice is made so that arrival order cannot
/// change it: an open bucket counts at most 4 × `max_categories` distinct values, keeping those with the smallest
/// hashes (the others are pooled as "(other)"); a judged bucket keeps its `max_categories` most frequent ones (ties
/// by hash); the baseline keeps its `max_categories` largest shares. Sums run in hash order. Per group: about 40
/// bytes per category of the baseline plus 24 bytes per distinct value of each open bucket.
final class DriftDetector: DetectorOperator {
    let parameters: DetectorParameters
    let learning: Int64
    /// The "(other)" category.
    static let other: UInt64 = 0

    struct OpenBucket {
        var bucket: Int64
        var counts: [UInt64: Double] = [:]
        var largest: UInt64 = 0
        var other = 0.0
    }

    struct GroupState {
        var open: [OpenBucket] = []
        var baseline: [UInt64: Double] = [:]
        var names: [UInt64: String] = [:]
        var learned: Int32 = 0
        var firstSeen: Int64 = .max
        var lastSeen: Int64 = .min
    }

    private var states: [GroupState] = []
    private(set) var closedThrough: Int64 = .min

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters, learning: Int64) {
        self.parameters = parameters
        self.learning = learning
        super.init(parameters: base)
    }

    override var isAggregating: Bool { true }
    override var definition: String { super.definition + "|\(parameters)" }
    override var memoryBytes: Int {
        super.memoryBytes + states.reduce(0) { total, state in
            total + 96 + state.baseline.count * 40 + state.names.values.reduce(0) { $0 + 24 + $1.utf8.count }
                + state.open.reduce(0) { $0 + 48 + $1.counts.count * 24 }
        }
    }

    override func ensureCapacity(_ n: Int) {
        while states.count < n { states.append(GroupState()) }
    }

    override func clearGroup(_ g: Int) { states[g] = GroupState() }

    override func aggregate(_ values: FieldValues, time: Int64, input: Int) -> Bool {
        let bucket = floorDivide(time, parameters.bucket)
        if bucket <= closedThrough { return false }
        let slot = inputs[input].value0
        guard slot >= 0, let hash = values.hash(slot) else { return true }
        let g = group(values, input: input)
        let key = hash | 1
        lazy var value = values.string(slot) ?? ""
        if time < states[g].firstSeen { states[g].firstSeen = time }
        if time > states[g].lastSeen { states[g].lastSeen = time }
        var k = states[g].open.firstIndex { $0.bucket == bucket } ?? -1
        if k < 0 {
            states[g].open.append(OpenBucket(bucket: bucket))
            k = states[g].open.count - 1
        }
        let limit = parameters.maxCategories * 4
        if let count = states[g].open[k].counts[key] {
            states[g].open[k].counts[key] = count + 1
        } else if states[g].open[k].counts.count < limit {
            states[g].open[k].counts[key] = 1
            states[g].open[k].largest = max(states[g].open[k].largest, key)
            if states[g].names[key] == nil { states[g].names[key] = value }
        } else if key < states[g].open[k].largest {
            // Keep the smallest hashes: the largest one goes to "(other)".
            let evicted = states[g].open[k].largest
            states[g].open[k].other += states[g].open[k].counts.removeValue(forKey: evicted) ?? 0
            states[g].open[k].counts[key] = 1
            states[g].open[k].largest = states[g].open[k].counts.keys.max() ?? 0
            if states[g].names[key] == nil { states[g].names[key] = value }
        } else {
            states[g].open[k].other += 1
        }
        return true
    }

    func closeBuckets(through watermark: Int64) {
        let target = floorDivide(watermark, parameters.bucket) - 1
        guard target > closedThrough else { return }
        var buckets = Set<Int64>()
        for g in 0..<groups.indexCount where groups.live[g] {
            for entry in states[g].open where entry.bucket <= target { buckets.insert(entry.bucket) }
        }
        for bucket in buckets.sorted() { closeBucket(bucket) }
        closedThrough = target
        for g in 0..<groups.indexCount where groups.live[g] && states[g].open.isEmpty
            && states[g].lastSeen < (target + 1) * parameters.bucket - parameters.expire
        {
            removeGroup(g)
        }
    }

    /// The `limit` largest entries (ties by smaller key), the rest summed into "(other)".
    static func keepLargest(_ shares: [UInt64: Double], limit: Int) -> [UInt64: Double] {
        var named = shares.filter { $0.key != other }
        var pooled = shares[other] ?? 0
        if named.count > limit {
            let ranked = named.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            for (key, value) in ranked[limit...] {
                pooled += value
                named.removeValue(forKey: key)
            }
        }
        if pooled > 0 { named[other] = pooled }
        return named
    }

    private func closeBucket(_ bucket: Int64) {
        let start = bucket * parameters.bucket
        let end = start + parameters.bucket
        for g in 0..<groups.indexCount where groups.live[g] {
            guard let k = states[g].open.firstIndex(where: { $0.bucket == bucket }) else { continue }
            let open = states[g].open.remove(at: k)
            var counts = open.counts
            if open.other > 0 { counts[DriftDetector.other] = open.other }
            counts = DriftDetector.keepLargest(counts, limit: parameters.maxCategories)
            let total = counts.values.reduce(0, +)  // whole numbers: exact in any order
            if total >= Double(parameters.minCount) {
                judgeAndLearn(group: g, counts: counts, total: total, start: start, end: end)
            }
            // Names of categories nothing refers to any more.
            let used = Set(states[g].baseline.keys).union(states[g].open.flatMap { $0.counts.keys })
            states[g].names = states[g].names.filter { used.contains($0.key) }
        }
    }

    private func judgeAndLearn(group g: Int, counts: [UInt64: Double], total: Double, start: Int64, end: Int64) {
        let baseline = states[g].baseline
        let keys = Set(counts.keys).union(baseline.keys).sorted()
        let p = keys.map { (counts[$0] ?? 0) / total }
        let q = keys.map { baseline[$0] ?? 0 }
        if states[g].learned >= Int32(parameters.minSamples) {
            let score = parameters.metric == .psi ? DriftDetector.psi(p, q) : DriftDetector.jensenShannon(p, q)
            if score >= parameters.signalThreshold {
                var found = finding(group: g, time: end)
                found.alertLevel = score >= parameters.threshold
                found.learning = end - states[g].firstSeen < learning
                found.value = score
                found.windowStart = start
                found.windowEnd = end
                found.identity = UInt64(bitPattern: start)
                let names = keys.map { $0 == DriftDetector.other ? "(other)" : states[g].names[$0] ?? "?" }
                let metric = parameters.metric
                let threshold = parameters.threshold
                let shifts = p.indices.sorted { abs(p[$0] - q[$0]) != abs(p[$1] - q[$1]) ? abs(p[$0] - q[$0]) > abs(p[$1] - q[$1]) : $0 < $1 }.prefix(5)
                found.details = { w in
                    w.key("metric"); w.string(metric.rawValue)
                    w.key("threshold"); w.number(threshold)
                    w.key("events"); w.number(total)
                    w.key("shifts")
                    w.beginArray()
                    for index in shifts {
                        w.beginObject()
                        w.key("value"); w.string(names[index])
                        w.key("share"); w.number((p[index] * 10000).rounded() / 10000)
                        w.key("baseline_share"); w.number((q[index] * 10000).rounded() / 10000)
                        w.endObject()
                    }
                    w.endArray()
                }
                emit(found)
            }
        }
        states[g].learned &+= 1
        let weight = Double(states[g].learned) <= 1 / parameters.alpha ? 1 / Double(states[g].learned) : parameters.alpha
        var updated: [UInt64: Double] = [:]
        for (i, key) in keys.enumerated() {
            let share = q[i] + weight * (p[i] - q[i])
            if share > 1e-9 { updated[key] = share }
        }
        states[g].baseline = DriftDetector.keepLargest(updated, limit: parameters.maxCategories)
    }

    static func psi(_ p: [Double], _ q: [Double]) -> Double {
        var total = 0.0
        for i in p.indices {
            let a = max(p[i], 1e-4)
            let b = max(q[i], 1e-4)
            total += (a - b) * log(a / b)
        }
        return total
    }

    static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        var divergence = 0.0
        for i in p.indices {
            let m = (p[i] + q[i]) / 2
            if p[i] > 0 { divergence += 0.5 * p[i] * log2(p[i] / m) }
            if q[i] > 0 { divergence += 0.5 * q[i] * log2(q[i] / m) }
        }
        return max(0, divergence).squareRoot()
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(closedThrough)
        for g in 0..<groups.indexCount where groups.live[g] {
            let state = states[g]
            w.count(state.open.count)
            for entry in state.open {
                w.i64(entry.bucket)
                w.double(entry.other)
                w.count(entry.counts.count)
                for (key, count) in entry.counts.sorted(by: { $0.key < $1.key }) {
                    w.u64(key)
                    w.double(count)
                }
            }
            w.count(state.baseline.count)
            for (key, share) in state.baseline.sorted(by: { $0.key < $1.key }) {
                w.u64(key)
                w.double(share)
            }
            w.count(state.names.count)
            for (key, name) in state.names.sorted(by: { $0.key < $1.key }) {
                w.u64(key)
                w.string(name)
            }
            w.u32(UInt32(bitPattern: state.learned))
            w.i64(state.firstSeen)
            w.i64(state.lastSeen)
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        closedThrough = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            var state = GroupState()
            let open = try r.count()
            for _ in 0..<open {
                var entry = OpenBucket(bucket: try r.i64())
                entry.other = try r.double()
                let n = try r.count()
                for _ in 0..<n {
                    let key = try r.u64()
                    entry.counts[key] = try r.double()
                    entry.largest = max(entry.largest, key)
                }
                state.open.append(entry)
            }
            let baseline = try r.count()
            for _ in 0..<baseline {
                let key = try r.u64()
                state.baseline[key] = try r.double()
            }
            let names = try r.count()
            for _ in 0..<names {
                let key = try r.u64()
                state.names[key] = try r.string()
            }
            state.learned = Int32(bitPattern: try r.u32())
            state.firstSeen = try r.i64()
            state.lastSeen = try r.i64()
            states[g] = state
        }
    }
}
