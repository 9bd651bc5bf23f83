import Foundation
import PipewatchJSON
import PipewatchRules

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
