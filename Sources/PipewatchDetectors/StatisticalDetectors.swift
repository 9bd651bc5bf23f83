import Foundation
import PipewatchJSON
import PipewatchRules

/// A mean and variance that start as plain running statistics (Welford) and, once `1/alpha` samples are in, follow
/// an exponentially weighted moving average, so early samples are not over-weighted and late ones adapt.
struct MovingStats {
    var n: Int32 = 0
    var mean = 0.0
    /// Population variance.
    var variance = 0.0

    mutating func add(_ x: Double, alpha: Double) {
        n &+= 1
        let delta = x - mean
        if Double(n) <= 1 / alpha {
            mean += delta / Double(n)
            variance += (delta * (x - mean) - variance) / Double(n)
        } else {
            mean += alpha * delta
            variance = (1 - alpha) * (variance + alpha * delta * delta)
        }
    }
}

// MARK: volume

/// Volume baseline: the count of a group's events (or the sum of a numeric field) per bucket, against a mean and
/// σ learned per group, either one EWMA (`baseline: ewma`) or one per hour of the week (`baseline: seasonal`).
/// Buckets are aggregated as records arrive, in any order, and judged in bucket order once the watermark passes
/// their end; a group with no events in a bucket counts 0 there. Sums are kept in thousandths in integers, so that
/// the order of additions cannot change them (they saturate at ±9.2 × 10¹² per bucket). Per group: 40 bytes plus one open bucket (16 bytes)
/// per bucket the allowed lateness spans, and 16 bytes (ewma) or 168 × 24 bytes (seasonal) of baseline.
final class VolumeDetector: DetectorOperator {
    let parameters: DetectorParameters
    let sums: Bool
    let learning: Int64
    private var firstSeen: [Int64] = []
    private var lastSeen: [Int64] = []
    /// Open buckets per group: bucket index and the amount in thousandths.
    private var open: [[(bucket: Int64, value: Int64)]] = []
    private var stats: [MovingStats] = []
    private let slots: Int
    /// The last bucket judged; records of it or earlier are late.
    private(set) var closedThrough: Int64 = .min
    private var earliestOpen: Int64 = .max

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters, sums: Bool, learning: Int64) {
        self.parameters = parameters
        self.sums = sums
        self.learning = learning
        slots = parameters.baseline == .seasonal ? 168 : 1
        super.init(parameters: base)
    }

    override var isAggregating: Bool { true }
    override var definition: String { super.definition + "|\(parameters)|\(sums)" }
    override var memoryBytes: Int {
        super.memoryBytes + firstSeen.count * 16 + open.reduce(0) { $0 + 32 + $1.capacity * 16 } + stats.count * 24
    }

    override func ensureCapacity(_ n: Int) {
        guard firstSeen.count < n else { return }
        let grown = max(n, firstSeen.count * 2, 16)
        let added = grown - firstSeen.count
        firstSeen += [Int64](repeating: .max, count: added)
        lastSeen += [Int64](repeating: .min, count: added)
        open += [[(bucket: Int64, value: Int64)]](repeating: [], count: added)
        stats += [MovingStats](repeating: MovingStats(), count: added * slots)
    }

    override func clearGroup(_ g: Int) {
        firstSeen[g] = .max
        lastSeen[g] = .min
        open[g] = []
        for k in 0..<slots { stats[g * slots + k] = MovingStats() }
    }

    /// Adds one record's count or value to its group's bucket; false when that bucket is already judged.
    @inline(__always)
    override func aggregate(_ values: FieldValues, time: Int64, input: Int) -> Bool {
        let bucket = floorDivide(time, parameters.bucket)
        if bucket <= closedThrough { return false }
        var amount = 1.0
        if sums {
            let slot = inputs[input].value0
            guard slot >= 0, let text = values.string(slot), let number = Double(text), number.isFinite else {
                return true
            }
            amount = number
        }
        let g = group(values, input: input)
        add(group: g, bucket: bucket, time: time, amount: amount)
        return true
    }

    /// The hot path without field values: a group already chosen (benchmarks feed it directly).
    @inline(__always)
    func add(group g: Int, bucket: Int64, time: Int64, amount: Double) {
        if time < firstSeen[g] { firstSeen[g] = time }
        if time > lastSeen[g] { lastSeen[g] = time }
        if bucket < earliestOpen { earliestOpen = bucket }
        let scaled = amount * 1000
        let thousandths = scaled >= 9.2e18 ? Int64.max : scaled <= -9.2e18 ? Int64.min : Int64(scaled.rounded())
        if let k = open[g].firstIndex(where: { $0.bucket == bucket }) {
            let (sum, overflow) = open[g][k].value.addingReportingOverflow(thousandths)
            open[g][k].value = overflow ? (thousandths > 0 ? .max : .min) : sum
        } else {
            open[g].append((bucket, thousandths))
        }
    }

    /// Judges every bucket that ends at or before `watermark`, in order.
    func closeBuckets(through watermark: Int64) {
        let target = floorDivide(watermark, parameters.bucket) - 1
        guard target > closedThrough else { return }
        var bucket = closedThrough == .min ? (earliestOpen == .max ? target : min(earliestOpen, target)) : closedThrough + 1
        if groups.count == 0 { bucket = target }
        while bucket <= target {
            closeBucket(bucket)
            closedThrough = bucket
            bucket += 1
            if groups.count == 0 {
                closedThrough = target
                break
            }
        }
        earliestOpen = .max
        for g in 0..<groups.indexCount where groups.live[g] {
            for entry in open[g] where entry.bucket < earliestOpen { earliestOpen = entry.bucket }
        }
    }

    private func closeBucket(_ bucket: Int64) {
        let start = bucket * parameters.bucket
        let end = start + parameters.bucket
        let slot = slots == 1 ? 0 : hourOfWeek(start, offsetMinutes: parameters.utcOffsetMinutes)
        for g in 0..<groups.indexCount where groups.live[g] {
            if floorDivide(firstSeen[g], parameters.bucket) > bucket { continue }
            var value = 0.0
            if let k = open[g].firstIndex(where: { $0.bucket == bucket }) {
                value = Double(open[g][k].value) / 1000
                open[g].remove(at: k)
            } else if lastSeen[g] < end - parameters.expire {
                removeGroup(g)
                continue
            }
            judge(group: g, slot: slot, value: value, start: start, end: end)
            stats[g * slots + slot].add(value, alpha: parameters.alpha)
        }
    }

    private func judge(group g: Int, slot: Int, value: Double, start: Int64, end: Int64) {
        let baseline = stats[g * slots + slot]
        guard baseline.n >= Int32(parameters.minSamples) else { return }
        let sd = baseline.variance.squareRoot()
        let floor = parameters.minSigma ?? (sums ? 0 : max(1, max(baseline.mean, 0).squareRoot()))
        let sigma = max(sd, floor)
        let z: Double
        if sigma > 0 {
            z = (value - baseline.mean) / sigma
        } else {
            z = value == baseline.mean ? 0 : (value > baseline.mean ? .infinity : -.infinity)
        }
        let score: Double
        switch parameters.direction {
        case .up: score = z
        case .down: score = -z
        case .both: score = abs(z)
        }
        guard score >= parameters.signalThreshold else { return }
        var found = finding(group: g, time: end)
        found.alertLevel = score >= parameters.threshold
        found.learning = end - firstSeen[g] < learning
        found.value = value
        found.windowStart = start
        found.windowEnd = end
        found.identity = UInt64(bitPattern: start)
        let parameters = self.parameters
        let sums = self.sums
        found.details = { w in
            w.key("measure"); w.string(sums ? "sum" : "count")
            w.key("baseline"); w.string(parameters.baseline.rawValue)
            if parameters.baseline == .seasonal {
                w.key("hour_of_week"); w.number(slot)
            }
            w.key("mean"); w.number((baseline.mean * 1000).rounded() / 1000)
            w.key("sigma"); w.number((sigma * 1000).rounded() / 1000)
            w.key("z"); w.number(z.isFinite ? (z * 1000).rounded() / 1000 : z)
            w.key("threshold"); w.number(parameters.threshold)
            w.key("samples"); w.number(Int(baseline.n))
        }
        emit(found)
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(closedThrough)
        w.i64(earliestOpen)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.i64(firstSeen[g])
            w.i64(lastSeen[g])
            w.count(open[g].count)
            for entry in open[g] {
                w.i64(entry.bucket)
                w.i64(entry.value)
            }
            for k in 0..<slots {
                let s = stats[g * slots + k]
                w.u32(UInt32(bitPattern: s.n))
                w.double(s.mean)
                w.double(s.variance)
            }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        closedThrough = try r.i64()
        earliestOpen = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            firstSeen[g] = try r.i64()
            lastSeen[g] = try r.i64()
            let n = try r.count()
            var entries: [(bucket: Int64, value: Int64)] = []
            for _ in 0..<n { entries.append((try r.i64(), try r.i64())) }
            open[g] = entries
            for k in 0..<slots {
                stats[g * slots + k] = MovingStats(n: Int32(bitPattern: try r.u32()), mean: try r.double(), variance: try r.double())
            }
        }
    }
}

// MARK: drift

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

// MARK: new_value

/// The values a group has seen, with when each was last seen: open addressing on a 64-bit fingerprint of the value
/// (fingerprints are never 0, the empty mark), fingerprint and time side by side in one array, at most `limit`
/// values, the least recently seen evicted first. 16 bytes per remembered value (the table at most half full:
/// ≤ 32 bytes per value).
struct SeenSet {
    /// Pairs: fingerprint at 2k, last-seen time at 2k + 1.
    var entries: [UInt64] = []
    var count = 0
    /// The latest time any value was seen.
    var lastSeen: Int64 = .min

    var capacity: Int { entries.count / 2 }

    /// Records `fingerprint` as seen at `time`, in one probe; true when it was not known, or last seen longer than
    /// `history` before.
    @inline(__always)
    mutating func touch(_ fingerprint: UInt64, time: Int64, history: Int64, limit: Int) -> Bool {
        if time > lastSeen { lastSeen = time }
        if entries.isEmpty { resize(4) }
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        while true {
            let entry = entries[2 * slot]
            if entry == fingerprint {
                let seen = Int64(bitPattern: entries[2 * slot + 1])
                if time > seen { entries[2 * slot + 1] = UInt64(bitPattern: time) }
                return time - seen > history
            }
            if entry == 0 { break }
            slot = (slot + 1) & mask
        }
        set(fingerprint, time: time, limit: limit)
        return true
    }

    /// Records `fingerprint` as seen at `time`.
    mutating func set(_ fingerprint: UInt64, time: Int64, limit: Int) {
        if entries.isEmpty { resize(4) }
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        while true {
            let entry = entries[2 * slot]
            if entry == fingerprint {
                entries[2 * slot + 1] = UInt64(bitPattern: time)
                return
            }
            if entry == 0 { break }
            slot = (slot + 1) & mask
        }
        if count >= limit {
            evictOldest()
            set(fingerprint, time: time, limit: limit)
            return
        }
        entries[2 * slot] = fingerprint
        entries[2 * slot + 1] = UInt64(bitPattern: time)
        count += 1
        if count * 2 > capacity { resize(capacity * 2) }
    }

    var pairs: [(UInt64, Int64)] {
        (0..<capacity).filter { entries[2 * $0] != 0 }.map { (entries[2 * $0], Int64(bitPattern: entries[2 * $0 + 1])) }
    }

    mutating func evictOldest() {
        let all = pairs
        guard let oldest = all.indices.min(by: { all[$0].1 != all[$1].1 ? all[$0].1 < all[$1].1 : all[$0].0 < all[$1].0 }) else { return }
        rebuild(all.enumerated().filter { $0.offset != oldest }.map(\.element))
    }

    /// Drops values last seen before `horizon`.
    mutating func expire(before horizon: Int64) {
        let kept = pairs.filter { $0.1 >= horizon }
        guard kept.count != count else { return }
        rebuild(kept)
    }

    private mutating func rebuild(_ list: [(UInt64, Int64)]) {
        var size = 4
        while list.count * 2 > size { size *= 2 }
        place(list, size: size)
    }

    private mutating func resize(_ size: Int) { place(pairs, size: size) }

    private mutating func place(_ list: [(UInt64, Int64)], size: Int) {
        entries = [UInt64](repeating: 0, count: 2 * size)
        count = 0
        let mask = size - 1
        for (fingerprint, time) in list {
            var slot = Int(truncatingIfNeeded: fingerprint) & mask
            while entries[2 * slot] != 0 { slot = (slot + 1) & mask }
            entries[2 * slot] = fingerprint
            entries[2 * slot + 1] = UInt64(bitPattern: time)
            count += 1
        }
    }

    var sortedEntries: [(UInt64, Int64)] { pairs.sorted { $0.0 < $1.0 } }
}

/// New value: the first time a value (or a tuple of values) is seen for a group within `history`. Values are
/// remembered exactly (by a 64-bit fingerprint), at most `max_values` per group, least recently seen evicted first
/// (an evicted value that comes back is new again). During the learning period (`tuning.learning`, default 7 days
/// from the detector's first event) values are learned silently.
final class NewValueDetector: DetectorOperator {
    let parameters: DetectorParameters
    private var sets: [SeenSet] = []

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters) {
        self.parameters = parameters
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(parameters)" }
    override var memoryBytes: Int {
        super.memoryBytes + sets.count * MemoryLayout<SeenSet>.stride + sets.reduce(0) { $0 + ($1.entries.isEmpty ? 0 : 32 + $1.entries.count * 8) }
    }

    override func ensureCapacity(_ n: Int) {
        guard sets.count < n else { return }
        let grown = max(n, sets.count * 2, 16)
        sets += [SeenSet](repeating: SeenSet(), count: grown - sets.count)
    }

    override func clearGroup(_ g: Int) { sets[g] = SeenSet() }

    override func process(_ record: Record, input: Int) {
        guard let hash = valueHash(record, input: input) else { return }
        let g = group(record.values, input: input)
        gate.noteTime(record.time)
        if observe(group: g, fingerprint: hash | 1, time: record.time) {
            var found = finding(group: g, time: record.time)
            found.identity = hash
            found.trigger = record
            let names = inputs[input].valueSlots.map { stage!.feedNames[Int(record.feed)][$0] }
            let parts = inputs[input].valueSlots.map { record.values.string($0) }
            found.details = { w in
                w.key("field")
                w.beginArray()
                for name in names { w.string(name) }
                w.endArray()
                w.key("new_value")
                if parts.count == 1 {
                    if let part = parts[0] { w.string(part) } else { w.null() }
                } else {
                    w.beginArray()
                    for part in parts {
                        if let part { w.string(part) } else { w.null() }
                    }
                    w.endArray()
                }
            }
            emit(found)
        }
    }

    /// Records a value of a group; true when it is new (and the learning period is over).
    @inline(__always)
    func observe(group g: Int, fingerprint: UInt64, time: Int64) -> Bool {
        guard sets[g].touch(fingerprint, time: time, history: parameters.history, limit: parameters.maxValues) else { return false }
        return gate.firstTime != .max && time - gate.firstTime >= gate.learning
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        let horizon = time - parameters.history
        let swept = sweepGroups(at: time, every: max(parameters.history / 8, 60_000)) { g in
            if sets[g].lastSeen < horizon { return true }
            sets[g].expire(before: horizon)
            return false
        }
        if swept { gate.sweep(now: time) }
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.i64(sets[g].lastSeen)
            let entries = sets[g].sortedEntries
            w.count(entries.count)
            for (fingerprint, time) in entries {
                w.u64(fingerprint)
                w.i64(time)
            }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            let last = try r.i64()
            let n = try r.count()
            var set = SeenSet()
            for _ in 0..<n {
                let fingerprint = try r.u64()
                set.set(fingerprint, time: try r.i64(), limit: Int.max)
            }
            set.lastSeen = last
            sets[g] = set
        }
    }
}

// MARK: outside_hours

/// Outside normal hours: per entity (group) an activity profile over the 168 hours of the week (local time by
/// `utc_offset`), halved every `half_life`. An event fires when the profile has at least `min_events` events, the
/// entity's learning period is over (`tuning.learning`, default 14 days from its first event), and the entity's
/// activity around the event's hour (± `tolerance`, on days of the same kind with `profile: daily`, on that day of
/// the week with `weekly`) is at most `threshold` (default 1 %) of all of it. The event is then added to the
/// profile. Per group: 168 × 4 bytes of profile plus 32 bytes.
final class OutsideHoursDetector: DetectorOperator {
    let parameters: DetectorParameters
    let learning: Int64
    private var profile: [Float] = []
    private var total: [Float] = []
    private var events: [Int32] = []
    private var firstSeen: [Int64] = []
    private var decayed: [Int64] = []

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters, learning: Int64) {
        self.parameters = parameters
        self.learning = learning
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(parameters)" }
    override var memoryBytes: Int { super.memoryBytes + profile.count * 4 + total.count * (4 + 4 + 8 + 8) }

    override func ensureCapacity(_ n: Int) {
        guard total.count < n else { return }
        let grown = max(n, total.count * 2, 16)
        profile += [Float](repeating: 0, count: (grown - total.count) * 168)
        events += [Int32](repeating: 0, count: grown - total.count)
        firstSeen += [Int64](repeating: .max, count: grown - total.count)
        decayed += [Int64](repeating: .min, count: grown - total.count)
        total += [Float](repeating: 0, count: grown - total.count)
    }

    override func clearGroup(_ g: Int) {
        for k in 0..<168 { profile[g * 168 + k] = 0 }
        total[g] = 0
        events[g] = 0
        firstSeen[g] = .max
        decayed[g] = .min
    }

    override func process(_ record: Record, input: Int) {
        let g = group(record.values, input: input)
        let t = record.time
        if firstSeen[g] == .max {
            firstSeen[g] = t
            decayed[g] = t
        }
        // Decay by whole days elapsed.
        let days = (t - decayed[g]) / 86_400_000
        if days > 0 {
            let factor = Float(pow(0.5, Double(days * 86_400_000) / Double(parameters.halfLife)))
            for k in 0..<168 { profile[g * 168 + k] *= factor }
            total[g] *= factor
            decayed[g] += days * 86_400_000
        }
        let hour = hourOfWeek(t, offsetMinutes: parameters.utcOffsetMinutes)
        if Int(events[g]) >= parameters.minEvents && total[g] > 0 {
            let around = activity(group: g, hour: hour)
            let share = Double(around / total[g])
            if share <= parameters.signalThreshold {
                var found = finding(group: g, time: t)
                found.alertLevel = share <= parameters.threshold
                found.learning = t - firstSeen[g] < learning
                found.value = (share * 100000).rounded() / 1000
                found.identity = record.order
                found.trigger = record
                let parameters = self.parameters
                let profileEvents = Int(events[g])
                found.details = { w in
                    let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
                    w.key("hour_of_week"); w.number(hour)
                    w.key("local_time"); w.string("\(days[hour / 24]) \(hour % 24 < 10 ? "0" : "")\(hour % 24):00")
                    w.key("utc_offset_minutes"); w.number(parameters.utcOffsetMinutes)
                    w.key("profile"); w.string(parameters.profile.rawValue)
                    w.key("share_percent"); w.number((share * 100000).rounded() / 1000)
                    w.key("threshold_percent"); w.number(parameters.threshold * 100)
                    w.key("profile_events"); w.number(profileEvents)
                }
                emit(found)
            }
        }
        profile[g * 168 + hour] += 1
        total[g] += 1
        events[g] &+= 1
    }

    /// The entity's activity around an hour of the week: at hours ± tolerance of that day (`weekly`), or of every
    /// day of the same kind, weekdays or weekend days (`daily`).
    private func activity(group g: Int, hour: Int) -> Float {
        let base = g * 168
        var sum: Float = 0
        let dayOfWeek = hour / 24
        let days: [Int]
        if parameters.profile == .weekly {
            days = [dayOfWeek]
        } else {
            days = dayOfWeek < 5 ? [0, 1, 2, 3, 4] : [5, 6]
        }
        if parameters.profile == .weekly {
            for d in -parameters.tolerance...parameters.tolerance { sum += profile[base + ((hour + d) % 168 + 168) % 168] }
            return sum
        }
        for day in days {
            for d in -parameters.tolerance...parameters.tolerance {
                let hourOfDay = ((hour % 24 + d) % 24 + 24) % 24
                sum += profile[base + day * 24 + hourOfDay]
            }
        }
        return sum
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        sweepGroups(at: time, every: 86_400_000) { decayed[$0] < time - parameters.expire }
        gate.sweep(now: time)
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.float(total[g])
            w.u32(UInt32(bitPattern: events[g]))
            w.i64(firstSeen[g])
            w.i64(decayed[g])
            for k in 0..<168 { w.float(profile[g * 168 + k]) }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            total[g] = try r.float()
            events[g] = Int32(bitPattern: try r.u32())
            firstSeen[g] = try r.i64()
            decayed[g] = try r.i64()
            for k in 0..<168 { profile[g * 168 + k] = try r.float() }
        }
    }
}
