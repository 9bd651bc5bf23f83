import Foundation
import PipewatchEvents
import PipewatchJSON
import PipewatchRules

/// Silence: a group that had events and then has none for `after` while event time moves on alerts once, at the
/// time its silence reached `after` (`"silence": "started"`), and once more with its next event (`"silence":
/// "ended"`, at that event's time). Judged in event time like every detector: a group's silence is known once
/// the release passes its last event + `after`, which the stage's release decides (any source moving on, idle
/// sources not holding it back, or the daemon's `advanceIdle` when nothing arrives at all), so replay and the daemon
/// give the same alerts. A silent group is kept until `expire` after its last event, to report its return; then it
/// is forgotten (a group that comes back later is a new one). Per group 40 bytes: last event, state, and one
/// entry in a heap of deadlines, so advancing costs nothing until a deadline passes.
final class SilenceDetector: DetectorOperator {
    let parameters: DetectorParameters
    private var lastSeen: [Int64] = []
    private var silent: [Bool] = []
    /// The deadline a group has in the heap (.min: none): its silence, or once silent its expiry.
    private var queued: [Int64] = []
    /// Min-heap of (deadline, group), at most one entry per group.
    private var heap: [(time: Int64, group: Int32)] = []

    init(base: DetectorOperator.Parameters, parameters: DetectorParameters) {
        self.parameters = parameters
        super.init(parameters: base)
    }

    override var definition: String { super.definition + "|\(parameters)" }
    override var memoryBytes: Int { super.memoryBytes + lastSeen.count * 17 + heap.capacity * 16 }
    /// A silence has no event of its own; a group's records need not keep theirs.
    override func needsEvidence(input: Int) -> Bool { false }

    override func ensureCapacity(_ n: Int) {
        guard lastSeen.count < n else { return }
        let added = max(n, lastSeen.count * 2, 16) - lastSeen.count
        lastSeen += [Int64](repeating: .min, count: added)
        silent += [Bool](repeating: false, count: added)
        queued += [Int64](repeating: .min, count: added)
    }

    override func clearGroup(_ g: Int) {
        lastSeen[g] = .min
        silent[g] = false
        queued[g] = .min
    }

    private func deadline(_ time: Int64, plus span: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(span)
        return overflow ? .max : sum
    }

    override func process(_ record: Record, input: Int) {
        let g = group(record.values, input: input)
        if silent[g] {
            silent[g] = false
            var found = finding(group: g, time: record.time)
            // Its own tuning state (suppression), apart from the silences of the group.
            found.groupKey.append(0xFF)
            found.identity = 1
            let since = lastSeen[g]
            found.value = Double(record.time - since) / 1000
            found.details = { w in
                w.key("silence"); w.string("ended")
                w.key("last_event"); w.string(Timestamp.format(milliseconds: since))
                w.key("silent_seconds"); w.number(Int((record.time - since) / 1000))
            }
            emit(found)
        }
        if record.time > lastSeen[g] { lastSeen[g] = record.time }
        // An entry already queued (an earlier deadline) is moved on when it comes up.
        if queued[g] == .min { push(deadline(lastSeen[g], plus: parameters.after), Int32(g)) }
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        while let top = heap.first, top.time < time {
            pop()
            let g = Int(top.group)
            queued[g] = .min
            guard groups.live[g] else { continue }
            if silent[g] {
                let expiry = deadline(lastSeen[g], plus: parameters.expire)
                if expiry < time { removeGroup(g) } else { push(expiry, top.group) }
                continue
            }
            let due = deadline(lastSeen[g], plus: parameters.after)
            guard due < time else {
                push(due, top.group)  // it had events since this entry was queued
                continue
            }
            silent[g] = true
            var found = finding(group: g, time: due)
            found.identity = 0
            let since = lastSeen[g]
            let after = parameters.after
            found.value = Double(after) / 1000
            found.details = { w in
                w.key("silence"); w.string("started")
                w.key("last_event"); w.string(Timestamp.format(milliseconds: since))
                w.key("after_seconds"); w.number(Int(after / 1000))
            }
            emit(found)
            push(deadline(lastSeen[g], plus: parameters.expire), top.group)
        }
        if time >= nextSweep {
            nextSweep = deadline(time, plus: 3_600_000)
            gate.sweep(now: time)
        }
    }

    // MARK: The heap

    private func push(_ time: Int64, _ g: Int32) {
        queued[Int(g)] = time
        heap.append((time, g))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func pop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && precedes(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && precedes(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Deadline order; groups due at the same time in the order of their keys, so alerts come out in the same
    /// order whatever indexes the groups got.
    private func precedes(_ a: (time: Int64, group: Int32), _ b: (time: Int64, group: Int32)) -> Bool {
        if a.time != b.time { return a.time < b.time }
        return groups.keys[Int(a.group)].lexicographicallyPrecedes(groups.keys[Int(b.group)])
    }

    override func write(_ w: inout SnapshotWriter) {
        writeGroups(&w)
        w.i64(nextSweep)
        for g in 0..<groups.indexCount where groups.live[g] {
            w.i64(lastSeen[g])
            w.bool(silent[g])
            w.i64(queued[g])
        }
    }

    override func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        try readGroups(&r)
        nextSweep = try r.i64()
        heap = []
        for g in 0..<groups.indexCount where groups.live[g] {
            lastSeen[g] = try r.i64()
            silent[g] = try r.bool()
            let due = try r.i64()
            if due != .min { push(due, Int32(g)) }
        }
    }
}
