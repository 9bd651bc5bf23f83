import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Helpers shared by the correlation operators.
extension DetectorOperator {
    /// The value fields of a record as one text (a tuple joined by U+001F), nil when any is absent.
    @inline(__always)
    final func valueText(_ record: Record, input: Int) -> String? {
        let single = inputs[input].value0
        if single >= 0 { return record.values.string(single) }
        let slots = inputs[input].valueSlots
        var parts: [String] = []
        for slot in slots {
            guard let value = record.values.string(slot) else { return nil }
            parts.append(value)
        }
        return parts.joined(separator: "\u{1F}")
    }

    /// The hash of the value fields (of their tuple), nil when any is absent: no string is made for one field.
    @inline(__always)
    final func valueHash(_ record: Record, input: Int) -> UInt64? {
        let single = inputs[input].value0
        if single >= 0 { return record.values.hash(single) }
        return valueText(record, input: input).map { Hash64.hash($0) }
    }

    @inline(__always)
    final func numericValue(_ record: Record, input: Int) -> Double? {
        let slot = inputs[input].value0
        guard slot >= 0, let text = record.values.string(slot) else { return nil }
        return Double(text)
    }
}

func writeCondition(_ condition: ThresholdCondition?, signal: ThresholdCondition?, to w: inout JSONWriter) {
    if let condition {
        w.key("condition"); w.string(condition.description)
    }
    if let signal {
        w.key("signal_condition"); w.string(signal.description)
    }
}
