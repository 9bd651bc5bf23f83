import PipewatchJSON

/// The Splunk HTTP Event Collector envelope for one alert (for `/services/collector/event`):
///
///     {"time":1793700420.123,"host":"…","source":"pipewatch","sourcetype":"pipewatch:alert","index":"…",
///      "event":{…OCSF Detection Finding…},"fields":{"rule_id":"…","severity":"high","event_source":"aws.cloudtrail"}}
///
/// `time` is epoch seconds with exactly three decimals (never exponent notation, which HEC refuses); it is left out
/// when the event had no time, so Splunk uses the receipt time. Only the documented top-level keys are written: an
/// unknown one makes HEC drop the rest of a batch. A batch is these objects concatenated.
public struct SplunkHECFormatter: Sendable {
    public var host: String
    public var source: String
    public var sourcetype: String
    public var index: String?

    public init(host: String, source: String = "pipewatch", sourcetype: String = "pipewatch:alert", index: String? = nil) {
        self.host = host
        self.source = source
        self.sourcetype = sourcetype
        self.index = index
    }

    public func format(_ alert: Alert) -> [UInt8] {
        let finding = OCSFDetectionFinding.format(alert)
        var w = JSONWriter(capacity: 512 + finding.count)
        w.beginObject()
        if !alert.timeAbsent {
            w.key("time")
            let time = Array(SplunkHECFormatter.epochSeconds(milliseconds: alert.time).utf8)
            time.withUnsafeBufferPointer { w.raw(json: $0) }
        }
        w.key("host"); w.string(host)
        w.key("source"); w.string(source)
        w.key("sourcetype"); w.string(sourcetype)
        if let index, !index.isEmpty { w.key("index"); w.string(index) }
        w.key("event")
        finding.withUnsafeBufferPointer { w.raw(json: $0) }
        w.key("fields")
        w.beginObject()
        w.key("rule_id"); w.string(alert.rule.id)
        w.key("severity"); w.string(alert.rule.level.rawValue)
        w.key("event_source"); w.string(alert.source.name)
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// `1793700420123` → `1793700420.123` (fixed point, also for negative times: `-0.5 s` → `-0.500`).
    public static func epochSeconds(milliseconds: Int64) -> String {
        let magnitude = milliseconds.magnitude
        let seconds = magnitude / 1000
        let fraction = String(magnitude % 1000)
        return (milliseconds < 0 ? "-" : "") + String(seconds) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
