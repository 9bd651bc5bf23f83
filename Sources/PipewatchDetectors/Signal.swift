import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Why a finding was recorded as a signal instead of alerting.
public enum SignalReason: String, Sendable, CaseIterable {
    /// Over the signal (detection) threshold, under the alert threshold.
    case belowAlertThreshold = "below_alert_threshold"
    /// The learning period is not over.
    case learning
    /// Not yet in enough windows (`persist`).
    case persist
    /// Within the suppression period of an earlier alert of the same group (counted on the next alert).
    case suppressed
    /// The rule is in observe mode.
    case observe
}

/// A finding that did not alert, for tuning: one NDJSON object per signal.
public struct Signal: Sendable {
    public var rule: String
    public var reason: SignalReason
    public var time: Int64
    /// `{"signal_reason", "time", "rule": {"id","title","type"}, "group", "value", …}`.
    public var json: [UInt8]
}
