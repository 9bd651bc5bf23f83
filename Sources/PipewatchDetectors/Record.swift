import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// The raw bytes of the event a detector may cite as evidence. Copied once when the event is matched, and
/// normalized again only if an alert is made from it (normalization is deterministic, so the alert shows exactly
/// what the original event showed).
final class Evidence: @unchecked Sendable {
    /// The detection rule that matched the event.
    let rule: Int32
    let bytes: [UInt8]

    init(rule: Int32, bytes: [UInt8]) {
        self.rule = rule
        self.bytes = bytes
    }
}

/// One matched event (or one match of a correlation) on its way through the detectors: its event time, a content
/// hash that orders records of the same millisecond the same way whatever order they arrived in, the feed it
/// belongs to (a rule, or a correlation), the field values its consumers read, and its evidence.
struct Record {
    var time: Int64
    var order: UInt64
    var feed: Int32
    var values: FieldValues
    var evidence: Evidence?

    @inline(__always)
    static func precedes(_ a: Record, _ b: Record) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.order != b.order { return a.order < b.order }
        return a.feed < b.feed
    }
}
