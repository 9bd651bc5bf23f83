import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// What an operator found: a correlation that matched, a baseline exceeded, a new value…
struct Finding {
    var time: Int64
    var groupKey: [UInt8]
    var groupValues: [String?]
    /// Over the alert threshold (false: over the signal threshold only).
    var alertLevel = true
    /// The operator's own learning (baselines per group) is not over yet.
    var learning = false
    var windowStart: Int64?
    var windowEnd: Int64?
    /// The count, sum, average, score… the condition was judged on.
    var value: Double?
    /// What makes this finding distinct from others of the same rule and group (a window, a trigger record).
    var identity: UInt64 = 0
    /// The record whose evidence the alert shows.
    var trigger: Record?
    /// Extra members of the alert's `detector` object.
    var details: ((inout JSONWriter) -> Void)?
}
