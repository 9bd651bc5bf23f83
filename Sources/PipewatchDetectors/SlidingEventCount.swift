import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// `event_count` with a condition that only has lower bounds (gt, gte): each group keeps the times of its last K
/// events in a ring (K = the smallest count that satisfies the condition), so a group costs 8·K bytes and an
/// update is O(1). The condition is judged on the window (t − timespan, t] ending at each event; when it holds,
/// the group alerts and its window starts over.
final class SlidingEventCount: DetectorOperator {
    let timespan: Int64
    let condition: ThresholdCondition
    let signalCondition: ThresholdCondition?
    let capacity: Int
    let signalCount: Int

    /// A group's ring position and bookkeeping, packed so an update touches one entry and its ring.
    struct Window {
        var head: Int32 = 0
        var count: Int32 = 0
        var last: Int64 = .min
        var signalled = false
    }

    private var ring: [Int64] = []
    private var windows: [Window] = []

    init(base: DetectorOperator.Parameters, timespan: Int64, condition: ThresholdCondition, signalCondition: ThresholdCondition?) {
        self.timespan = timespan
        self.condition = condition
        self.signalCondition = signalCondition.flatMap { $0.isLowerBoundOnly ? $0 : nil }
        capacity = condition.minimumCount
        signalCount = self.signalCondition.map { min($0.minimumCount, condition.minimumCount) } ?? Int.max
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(timespan)|\(condition)|\(signalCondition?.description ?? "")" }

    override var memoryBytes: Int { super.memoryBytes + ring.count * 8 + windows.count * MemoryLayout<Window>.stride }

    override func ensureCapacity(_ n: Int) {
        guard windows.count < n else { return }
        let grown = max(n, windows.count * 2, 16)
        ring += [Int64](repeating: 0, count: (grown - windows.count) * capacity)
        windows += [Window](repeating: Window(), count: grown - windows.count)
    }

    override func clearGroup(_ g: Int) { windows[g] = Window() }

    /// Adds an event at `time` to group `g`; true when the window now satisfies the condition.
    @inline(__always)
    func add(group g: Int, time t: Int64) -> Bool {
        let base = g * capacity
        var window = windows[g]
        var h = Int(window.head)
        var n = Int(window.count)
        let horizon = t - timespan
        while n > 0 && ring[base + h] < horizon {
            h += 1
            if h == capacity { h = 0 }
            n -= 1
        }
        if n == capacity {
            h += 1
            if h == capacity { h = 0 }
            n -= 1
        }
        var tail = h + n
        if tail >= capacity { tail -= capacity }
        ring[base + tail] = t
        n += 1
        window.head = Int32(h)
        window.count = Int32(n)
        window.last = t
        windows[g] = window
        return n >= capacity
    }

    override func process(_ record: Record, input: Int) {
        let g = group(record.values, input: input)
        let t = record.time
        if add(group: g, time: t) {
            let n = Int(windows[g].count)
            let oldest = ring[g * capacity + Int(windows[g].head)]
            var found = finding(group: g, time: t)
            found.value = Double(n)
            found.windowStart = oldest
            found.windowEnd = t
            found.identity = record.order
            found.trigger = record
            found.details = { [condition, signalCondition] w in writeCondition(condition, signal: signalCondition, to: &w) }
            windows[g].count = 0
            windows[g].signalled = false
            emit(found)
        } else if signalCount != Int.max {
            let n = Int(windows[g].count)
            if n < signalCount {
                windows[g].signalled = false
            } else if !windows[g].signalled {
                windows[g].signalled = true
                var found = finding(group: g, time: t)
                found.value = Double(n)
                found.alertLevel = false
                found.identity = record.order
                found.trigger = record
                found.details = { [condition, signalCondition] w in writeCondition(condition, signal: signalCondition, to: &w) }
                emit(found)
            }
        }
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        sweepGroups(at: time, every: max(timespan, 60_000)) { windows[$0].last < time - timespan }
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            let window = windows[g]
            w.count(Int(window.count))
            w.bool(window.signalled)
            w.i64(window.last)
            for k in 0..<Int(window.count) { w.i64(ring[g * capacity + (Int(window.head) + k) % capacity]) }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            let n = try r.count()
            guard n <= capacity else { throw SnapshotError("an event_count window holds more events than its rule allows") }
            var window = Window()
            window.count = Int32(n)
            window.signalled = try r.bool()
            window.last = try r.i64()
            windows[g] = window
            for k in 0..<n { ring[g * capacity + k] = try r.i64() }
        }
    }
}
