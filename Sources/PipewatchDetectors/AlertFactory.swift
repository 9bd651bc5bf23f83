import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Turns findings into `Alert`s that every formatter writes: with the triggering event (re-normalized from its
/// raw bytes) when there is one, else with the group values in the normalized fields they name.
final class AlertFactory {
    private let decoder = RecordDecoder()
    private let baseRules: [AlertRule]
    /// An alert whose every property is overwritten: `Alert` is only made from events, and a bucket alert has none.
    private lazy var template: Alert = {
        let record = #"{"entity":"detector","action":"finding","timestamp":"1970-01-01T00:00:00Z","data":{}}"#
        do {
            return try decoder.withEventView(json: record) { Alert(rule: AlertRule(id: "", title: "", level: .medium), view: $0) }
        } catch {
            preconditionFailure("the alert template record does not normalize: \(error)")
        }
    }()

    init(baseRules: [AlertRule]) {
        self.baseRules = baseRules
    }

    /// The alert the rule of the evidence raised (or would have raised) on its event.
    func baseAlert(_ evidence: Evidence) -> Alert? {
        let json = String(decoding: evidence.bytes, as: UTF8.self)
        return try? decoder.withEventView(json: json) { Alert(rule: baseRules[Int(evidence.rule)], view: $0) }
    }

    func make(_ finding: Finding, from op: DetectorOperator, suppressed: Int) -> Alert {
        var alert: Alert
        var eventJSON: [UInt8]?
        if let evidence = finding.trigger?.evidence, let base = baseAlert(evidence) {
            alert = base
            eventJSON = base.eventJSON
        } else {
            alert = template
            alert.source = op.defaultSource
            alert.outcome = .unknown
            var fields = [String?](repeating: nil, count: EventField.allCases.count)
            for (name, value) in zip(op.groupBy, finding.groupValues) {
                guard let value else { continue }
                if let field = EventField(name: name) {
                    fields[field.rawValue] = value
                } else if name == "source", let source = EventSource(name: value) {
                    alert.source = source
                }
            }
            alert.fields = fields
        }
        let baseUID = alert.uid
        alert.rule = op.alertRule
        alert.time = finding.time
        if op.kind == "rule" {
            alert.uid = baseUID  // a tuned rule keeps the uid it has without tuning
        } else {
            var identity = Array(op.reference.utf8)
            identity.append(0)
            identity += finding.groupKey
            identity.append(0)
            withUnsafeBytes(of: finding.identity.littleEndian) { identity += $0 }
            withUnsafeBytes(of: finding.time.littleEndian) { identity += $0 }
            alert.uid = Hash64.uuid(identity)
        }
        var w = JSONWriter(capacity: 512 + (eventJSON?.count ?? 0))
        w.beginObject()
        w.key("detector")
        writeDetector(finding, op: op, suppressed: suppressed, to: &w)
        if let eventJSON {
            w.key("event")
            eventJSON.withUnsafeBufferPointer { w.raw(compactJSON: $0) }  // our own compact JSON
        }
        w.endObject()
        alert.eventJSON = w.bytes
        return alert
    }

    /// The `detector` object of an alert or a signal.
    func writeDetector(_ finding: Finding, op: DetectorOperator, suppressed: Int?, to w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.string(op.kind)
        w.key("rule"); w.string(op.reference)
        w.key("title"); w.string(op.title)
        if !op.groupBy.isEmpty {
            w.key("group")
            w.beginObject()
            for (name, value) in zip(op.groupBy, finding.groupValues) {
                w.key(name)
                if let value { w.string(value) } else { w.null() }
            }
            w.endObject()
        }
        if let value = finding.value {
            w.key("value"); w.number(value)
        }
        if let start = finding.windowStart, let end = finding.windowEnd {
            w.key("window")
            w.beginObject()
            w.key("start"); w.string(Timestamp.format(milliseconds: start))
            w.key("end"); w.string(Timestamp.format(milliseconds: end))
            w.endObject()
        }
        finding.details?(&w)
        if let suppressed {
            w.key("suppressed"); w.number(suppressed)
        }
        w.endObject()
    }

    func signal(_ finding: Finding, from op: DetectorOperator, reason: SignalReason) -> Signal {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.key("signal_reason"); w.string(reason.rawValue)
        w.key("time"); w.string(Timestamp.format(milliseconds: finding.time))
        if let evidence = finding.trigger?.evidence, let base = baseAlert(evidence), let uid = base[.uid] {
            w.key("event_uid"); w.string(uid)
        }
        w.key("detector")
        writeDetector(finding, op: op, suppressed: nil, to: &w)
        w.endObject()
        return Signal(rule: op.reference, reason: reason, time: finding.time, json: w.bytes)
    }
}
