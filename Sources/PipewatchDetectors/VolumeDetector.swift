import Foundation
import PipewatchJSON
import PipewatchRules

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
