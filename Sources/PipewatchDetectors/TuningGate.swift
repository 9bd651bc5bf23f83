import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// The tuning controls applied to an operator's findings, in this order: threshold (signal-level findings stay
/// signals), learning, persist (M of the last N windows), suppression (one alert per group per period; the count
/// of suppressed findings rides on the next alert), observe (everything that would alert becomes a signal, with
/// suppression state kept as if it had alerted, so observe mode shows the alert volume that tuning would give).
final class Gate {
    struct GroupState {
        var mask: UInt64 = 0
        var lastWindow: Int64 = .min
        var lastAlert: Int64 = .min
        var suppressed = 0
        var lastTouch: Int64 = .min
    }

    enum Verdict {
        case alert(suppressed: Int)
        case signal(SignalReason)
    }

    let tuning: Tuning
    let learning: Int64
    /// The window `persist` counts in.
    let persistWindow: Int64
    /// Whether the operator judges learning itself (baselines per group).
    let ownLearning: Bool
    /// First event time the operator processed (for rule-level learning).
    var firstTime: Int64 = .max
    var states: [[UInt8]: GroupState] = [:]

    init(tuning: Tuning, defaultLearning: Int64, persistWindow: Int64, ownLearning: Bool) {
        self.tuning = tuning
        learning = tuning.learning ?? defaultLearning
        self.persistWindow = max(1, persistWindow)
        self.ownLearning = ownLearning
    }

    var isStateful: Bool { tuning.persistOf > 1 || tuning.suppress != nil }

    func noteTime(_ time: Int64) {
        if time < firstTime { firstTime = time }
    }

    func judge(_ finding: Finding) -> Verdict {
        if !finding.alertLevel { return .signal(.belowAlertThreshold) }
        if ownLearning ? finding.learning : (firstTime == .max || finding.time - firstTime < learning) {
            return .signal(.learning)
        }
        if !isStateful {
            return tuning.observe ? .signal(.observe) : .alert(suppressed: 0)
        }
        var state = states[finding.groupKey] ?? GroupState()
        state.lastTouch = finding.time
        defer { states[finding.groupKey] = state }
        if tuning.persistOf > 1 {
            let window = floorDivide(finding.time, persistWindow)
            if state.lastWindow == .min || window - state.lastWindow >= 64 {
                state.mask = 0
            } else if window > state.lastWindow {
                state.mask <<= UInt64(window - state.lastWindow)
            }
            if window >= state.lastWindow || state.lastWindow == .min {
                state.lastWindow = window
            }
            state.mask |= 1
            let recent = tuning.persistOf >= 64 ? state.mask : state.mask & ((1 << UInt64(tuning.persistOf)) - 1)
            if recent.nonzeroBitCount < tuning.persist { return .signal(.persist) }
        }
        if let suppress = tuning.suppress {
            if state.lastAlert != .min && finding.time - state.lastAlert < suppress {
                state.suppressed += 1
                return .signal(.suppressed)
            }
            let suppressed = state.suppressed
            state.suppressed = 0
            state.lastAlert = finding.time
            return tuning.observe ? .signal(.observe) : .alert(suppressed: suppressed)
        }
        return tuning.observe ? .signal(.observe) : .alert(suppressed: 0)
    }

    /// Forgets groups whose state can no longer change a verdict.
    func sweep(now: Int64) {
        guard !states.isEmpty else { return }
        let horizon = max(tuning.suppress ?? 0, persistWindow * Int64(tuning.persistOf))
        states = states.filter { $0.value.suppressed > 0 || now - $0.value.lastTouch <= horizon }
    }

    func write(_ w: inout SnapshotWriter) {
        w.i64(firstTime)
        w.count(states.count)
        for (key, state) in states.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            w.data(key)
            w.u64(state.mask)
            w.i64(state.lastWindow)
            w.i64(state.lastAlert)
            w.count(state.suppressed)
            w.i64(state.lastTouch)
        }
    }

    func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        firstTime = try r.i64()
        let n = try r.count()
        states = [:]
        for _ in 0..<n {
            let key = try r.data()
            var state = GroupState()
            state.mask = try r.u64()
            state.lastWindow = try r.i64()
            state.lastAlert = try r.i64()
            state.suppressed = try r.count()
            state.lastTouch = try r.i64()
            states[key] = state
        }
    }
}
