import Foundation
import PipewatchJSON
import PipewatchRules

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
