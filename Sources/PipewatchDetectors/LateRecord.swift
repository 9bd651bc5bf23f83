import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// A record that arrived after the watermark had passed its time (or that has no time): never silently dropped.
public struct LateRecord: Sendable {
    public var rule: String
    public var time: Int64?
    /// The watermark (or closed bucket end) it was late for.
    public var watermark: Int64
    public var uid: String?
    public var reason: String

    /// One NDJSON object: `{"reason", "rule", "time", "watermark", "uid"}`.
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("reason"); w.string(reason)
        w.key("rule"); w.string(rule)
        if let time {
            w.key("time"); w.string(Timestamp.format(milliseconds: time))
        }
        w.key("watermark"); w.string(Timestamp.format(milliseconds: watermark))
        if let uid {
            w.key("uid"); w.string(uid)
        }
        w.endObject()
        return w.bytes
    }
}
