import Foundation
import PipewatchJSON
import PipewatchRules

/// Value change: per group, a field's value against the group's previous values. `change` fires on any new value,
/// `decrease` / `increase` when it is below / above the one before (as numbers or versions, `ValueOrder`), `revert`
/// when it goes back to one of the group's `history` previous distinct values (a production alias moved from
/// version 9 back to 7). A value equal to the current one changes nothing; an absent value is not a value. Per group
/// the current value and the fingerprints of at most `history` earlier distinct values, most recent last; groups
/// with no record for `expire` are forgotten. Learning counts from the detector's first record (default 0: a
/// first value has nothing to compare with anyway).
final class ValueChangeDetector: DetectorOperator {
    let parameters: DetectorParameters
    private var current: [String?] = []
    /// The current value's fingerprint (never 0; 0: none yet).
    private var currentHash: [UInt64] = []
    /// Earlier distinct values (fingerprints), the current one excluded, oldest first.
    private var previous: [[UInt64]] = []
    private var lastSeen: [Int64] = []

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters) {
        self.parameters = parameters
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(parameters)" }
    override var memoryBytes: Int {
        super.memoryBytes + currentHash.count * 48
            + previous.reduce(0) { $0 + $1.capacity * 8 } + current.reduce(0) { $0 + ($1?.utf8.count ?? 0) }
    }

    override func ensureCapacity(_ n: Int) {
        guard currentHash.count < n else { return }
        let added = max(n, currentHash.count * 2, 16) - currentHash.count
        current += [String?](repeating: nil, count: added)
        currentHash += [UInt64](repeating: 0, count: added)
        previous += [[UInt64]](repeating: [], count: added)
        lastSeen += [Int64](repeating: .min, count: added)
    }

    override func clearGroup(_ g: Int) {
        current[g] = nil
        currentHash[g] = 0
        previous[g] = []
        lastSeen[g] = .min
    }

    override func process(_ record: Record, input: Int) {
        let slot = inputs[input].value0
        guard slot >= 0, let hash = record.values.hash(slot) else { return }
        let fingerprint = hash | 1
        let g = group(record.values, input: input)
        if record.time > lastSeen[g] { lastSeen[g] = record.time }
        let before = currentHash[g]
        // The same value again (most records): nothing to compare, nothing allocated.
        if before == fingerprint { return }
        let value = record.values.string(slot) ?? ""
        if before != 0, let old = current[g] {
            let returning = previous[g].contains(fingerprint)
            let order: Int?
            let fires: Bool
            switch parameters.change {
            case .change:
                order = nil
                fires = true
            case .revert:
                order = nil
                fires = returning
            case .decrease:
                order = ValueOrder.compare(value, old, as: parameters.comparison)
                fires = (order ?? 0) < 0
            case .increase:
                order = ValueOrder.compare(value, old, as: parameters.comparison)
                fires = (order ?? 0) > 0
            }
            if fires { report(group: g, record: record, input: input, old: old, value: value, returning: returning) }
            if let k = previous[g].firstIndex(of: fingerprint) { previous[g].remove(at: k) }
            previous[g].append(before)
            if previous[g].count > parameters.historyValues { previous[g].removeFirst(previous[g].count - parameters.historyValues) }
        }
        current[g] = value
        currentHash[g] = fingerprint
    }

    private func report(group g: Int, record: Record, input: Int, old: String, value: String, returning: Bool) {
        var found = finding(group: g, time: record.time)
        found.identity = record.order
        found.trigger = record
        let name = stage!.feedNames[Int(record.feed)][inputs[input].value0]
        let change = parameters.change.rawValue
        let comparison = parameters.comparison.rawValue
        found.details = { w in
            w.key("field"); w.string(name)
            w.key("change"); w.string(change)
            if change == "decrease" || change == "increase" {
                w.key("compare"); w.string(comparison)
            }
            w.key("previous_value"); w.string(old)
            w.key("new_value"); w.string(value)
            w.key("seen_before"); w.bool(returning)
        }
        emit(found)
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        let horizon = time - parameters.expire
        let swept = sweepGroups(at: time, every: max(parameters.expire / 8, 60_000)) { lastSeen[$0] < horizon }
        if swept { gate.sweep(now: time) }
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.i64(lastSeen[g])
            w.u64(currentHash[g])
            w.optionalString(current[g])
            w.count(previous[g].count)
            for fingerprint in previous[g] { w.u64(fingerprint) }
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        for g in 0..<groups.indexCount where groups.live[g] {
            lastSeen[g] = try r.i64()
            currentHash[g] = try r.u64()
            current[g] = try r.optionalString()
            let n = try r.count()
            guard n <= parameters.historyValues else { throw SnapshotError("a value_change group has more values than its history") }
            var list: [UInt64] = []
            for _ in 0..<n { list.append(try r.u64()) }
            previous[g] = list
        }
    }
}
