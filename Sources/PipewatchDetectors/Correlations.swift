import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Helpers shared by the correlation operators.
extension DetectorOperator {
    /// The value fields of a record as one text (a tuple joined by U+001F), nil when any is absent.
    @inline(__always)
    final func valueText(_ record: Record, input: Int) -> String? {
        let single = inputs[input].value0
        if single >= 0 { return record.values.string(single) }
        let slots = inputs[input].valueSlots
        var parts: [String] = []
        for slot in slots {
            guard let value = record.values.string(slot) else { return nil }
            parts.append(value)
        }
        return parts.joined(separator: "\u{1F}")
    }

    /// The hash of the value fields (of their tuple), nil when any is absent: no string is made for one field.
    @inline(__always)
    final func valueHash(_ record: Record, input: Int) -> UInt64? {
        let single = inputs[input].value0
        if single >= 0 { return record.values.hash(single) }
        return valueText(record, input: input).map { Hash64.hash($0) }
    }

    @inline(__always)
    final func numericValue(_ record: Record, input: Int) -> Double? {
        let slot = inputs[input].value0
        guard slot >= 0, let text = record.values.string(slot) else { return nil }
        return Double(text)
    }
}

func writeCondition(_ condition: ThresholdCondition?, signal: ThresholdCondition?, to w: inout JSONWriter) {
    if let condition {
        w.key("condition"); w.string(condition.description)
    }
    if let signal {
        w.key("signal_condition"); w.string(signal.description)
    }
}

// MARK: event_count, sliding

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

// MARK: value_count, sliding

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

// MARK: value_sum / value_avg, sliding

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

// MARK: complete windows

/// Conditions with an upper bound (lt, lte, eq, neq, ranges) for event_count, value_count and value_sum, and every
/// value_percentile: these need a complete window, so a group's window opens at its first event and is judged when
/// event time passes its end (timespan later); the next event opens the next window. value_percentile judges, for
/// each distinct value of the field, its share (0–100) of the window's events: `lte: 1` finds values that make up
/// at most 1 % of a group's events (rare values). At most `maxDistinct` distinct values are tracked per window.
final class WindowedCorrelation: DetectorOperator {
    static let maxDistinct = 10_000
    let type: CorrelationType
    let timespan: Int64
    let condition: ThresholdCondition
    let signalCondition: ThresholdCondition?

    struct Window {
        var start: Int64 = .min
        var count = 0
        var sum = 0.0
        var distinct: [UInt64: (count: Int, text: String, first: Record)] = [:]
        var first: Record?
    }

    private var windows: [Window] = []
    /// Windows by end time: they open in event-time order and all last `timespan`, so a FIFO is sorted.
    private var queue: [(end: Int64, group: Int32, start: Int64)] = []
    private var queueHead = 0

    init(base: DetectorOperator.Parameters, type: CorrelationType, timespan: Int64, condition: ThresholdCondition,
         signalCondition: ThresholdCondition?) {
        self.type = type
        self.timespan = timespan
        self.condition = condition
        self.signalCondition = signalCondition
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(type.rawValue)|\(timespan)|\(condition)|\(signalCondition?.description ?? "")" }
    override var memoryBytes: Int {
        super.memoryBytes + windows.count * 64 + windows.reduce(0) { $0 + $1.distinct.count * 96 } + (queue.count - queueHead) * 24
    }

    override func ensureCapacity(_ n: Int) {
        while windows.count < n { windows.append(Window()) }
    }

    override func clearGroup(_ g: Int) { windows[g] = Window() }

    override func process(_ record: Record, input: Int) {
        var text: String?
        var number: Double?
        switch type {
        case .valueCount, .valuePercentile:
            guard let value = valueText(record, input: input) else { return }
            text = value
        case .valueSum, .valueAvg:
            guard let value = numericValue(record, input: input), value.isFinite else { return }
            number = value
        default:
            break
        }
        let g = group(record.values, input: input)
        if windows[g].start == .min {
            windows[g].start = record.time
            windows[g].first = record
            queue.append((record.time + timespan, Int32(g), record.time))
        }
        windows[g].count += 1
        if let number { windows[g].sum += number }
        if let text {
            let hash = Hash64.hash(text)
            if let existing = windows[g].distinct[hash] {
                windows[g].distinct[hash] = (existing.count + 1, existing.text, existing.first)
            } else if windows[g].distinct.count < WindowedCorrelation.maxDistinct {
                windows[g].distinct[hash] = (1, text, record)
            }
        }
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        while queueHead < queue.count && queue[queueHead].end < time {
            let (end, group, start) = queue[queueHead]
            queueHead += 1
            close(Int(group), start: start, end: end)
        }
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    private func close(_ g: Int, start: Int64, end: Int64) {
        let window = windows[g]
        let key = groups.keys[g]
        removeGroup(g)
        guard window.start == start else { return }
        var measured: Double
        var trigger = window.first
        var rare: [(text: String, count: Int, share: Double)] = []
        switch type {
        case .eventCount: measured = Double(window.count)
        case .valueCount: measured = Double(window.distinct.count)
        case .valueSum: measured = window.sum
        case .valueAvg: measured = window.count > 0 ? window.sum / Double(window.count) : 0
        case .valuePercentile:
            let total = Double(window.count)
            let shares = window.distinct.values.map { (text: $0.text, count: $0.count, share: 100 * Double($0.count) / total, first: $0.first) }
                .sorted { $0.share != $1.share ? $0.share < $1.share : Record.precedes($0.first, $1.first) }
            let qualifying = shares.filter { condition.holds($0.share) }
            let signalling = signalCondition.map { signal in shares.filter { signal.holds($0.share) } } ?? []
            let chosen = qualifying.isEmpty ? signalling : qualifying
            guard let first = chosen.first else { return }
            measured = first.share
            trigger = first.first
            rare = chosen.prefix(10).map { ($0.text, $0.count, $0.share) }
        case .temporal, .temporalOrdered:
            return
        }
        let alertLevel = condition.holds(measured)
        guard alertLevel || signalCondition?.holds(measured) == true else { return }
        var found = Finding(time: end, groupKey: key, groupValues: GroupKey.decode(key))
        found.alertLevel = alertLevel
        found.value = measured
        found.windowStart = start
        found.windowEnd = end
        found.identity = UInt64(bitPattern: start)
        found.trigger = trigger
        let events = window.count
        found.details = { [condition, signalCondition, type] w in
            writeCondition(condition, signal: signalCondition, to: &w)
            w.key("events"); w.number(events)
            if type == .valuePercentile {
                w.key("values")
                w.beginArray()
                for entry in rare {
                    w.beginObject()
                    w.key("value"); w.string(entry.text)
                    w.key("count"); w.number(entry.count)
                    w.key("percent"); w.number((entry.share * 1000).rounded() / 1000)
                    w.endObject()
                }
                w.endArray()
            }
        }
        emit(found)
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        for g in 0..<groups.indexCount where groups.live[g] {
            let window = windows[g]
            w.i64(window.start)
            w.count(window.count)
            w.double(window.sum)
            stage!.writeRecord(window.first!, to: &w)
            w.count(window.distinct.count)
            for (hash, entry) in window.distinct.sorted(by: { $0.key < $1.key }) {
                w.u64(hash)
                w.count(entry.count)
                w.string(entry.text)
                stage!.writeRecord(entry.first, to: &w)
            }
        }
        w.count(queue.count - queueHead)
        for k in queueHead..<queue.count {
            w.i64(queue[k].end)
            w.count(Int(queue[k].group))
            w.i64(queue[k].start)
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        for g in 0..<groups.indexCount where groups.live[g] {
            var window = Window()
            window.start = try r.i64()
            window.count = try r.count()
            window.sum = try r.double()
            window.first = try stage!.readRecord(&r)
            let n = try r.count()
            for _ in 0..<n {
                let hash = try r.u64()
                let count = try r.count()
                let text = try r.string()
                window.distinct[hash] = (count, text, try stage!.readRecord(&r))
            }
            windows[g] = window
        }
        let n = try r.count()
        queue = []
        queueHead = 0
        for _ in 0..<n {
            let end = try r.i64()
            let group = try r.count()
            let start = try r.i64()
            guard group < groups.indexCount else { throw SnapshotError("a window refers to an unknown group") }
            queue.append((end, Int32(group), start))
        }
    }
}

// MARK: temporal, temporal_ordered

/// `temporal`: per group the last time each referenced rule matched; when the rules seen within the timespan
/// satisfy the condition (by default: all of them), the group alerts and starts over. `temporal_ordered`: per group
/// and per step the latest start of a chain that matched steps 1…k in order; a chain older than the timespan is
/// dropped; when the last step completes a chain, the group alerts. Both cost 8 bytes per rule per group.
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

    init(base: DetectorOperator.Parameters, ordered: Bool, timespan: Int64, condition: ThresholdCondition?, steps: Int,
         evidenceFromFirstStep: Bool = false) {
        self.ordered = ordered
        self.timespan = timespan
        self.condition = condition ?? ThresholdCondition(gte: Double(steps))
        self.steps = steps
        self.evidenceFromFirstStep = ordered && evidenceFromFirstStep
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(ordered)|\(timespan)|\(condition)|\(steps)|\(evidenceFromFirstStep)" }
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
        let g = group(record.values, input: input)
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

// MARK: Tuned detection rules

/// A detection rule with a `tuning` block: each match is a finding of the group `tuning.group-by` names, so
/// persist, suppression and observe mode apply; the alert is the rule's own (same uid) with the tuning outcome.
final class TunedRule: DetectorOperator {
    override func process(_ record: Record, input: Int) {
        keyScratch.removeAll(keepingCapacity: true)
        inputs[input].appendKey(record.values, to: &keyScratch)
        var found = Finding(time: record.time, groupKey: keyScratch, groupValues: inputs[input].groupValues(record.values))
        found.identity = record.order
        found.trigger = record
        emit(found)
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        guard time >= nextSweep else { return }
        nextSweep = time + 3_600_000
        gate.sweep(now: time)
    }
}
