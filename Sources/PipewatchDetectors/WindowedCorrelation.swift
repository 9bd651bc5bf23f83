import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

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
