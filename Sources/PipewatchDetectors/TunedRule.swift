import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// A detection rule with a `tuning` block: each match is a finding of the group `tuning.group-by` names, so
/// persist, suppression and observe mode apply; the alert is the rule's own (same uid) with the tuning outcome.
final class TunedRule: DetectorOperator {
    override func process(_ record: Record, input: Int) {
        keyScratch.removeAll(keepingCapacity: true)
        inputs[input].appendKey(record.values, to: &keyScratch)
        var found = Finding(time: record.time, groupKey: keyScratch, groupValues: inputs[input].groupValues(record.values))
        found.identity = record.order
        found.trigger = record
        emit(found)
    }

    override func advance(to time: Int64) {
        super.advance(to: time)
        guard time >= nextSweep else { return }
        nextSweep = time + 3_600_000
        gate.sweep(now: time)
    }
}
