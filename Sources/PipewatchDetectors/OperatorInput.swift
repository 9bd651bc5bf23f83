import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// The first four group slots of an input and their number, a trivial value.
struct KeySlots {
    var count: Int
    var s0: Int, s1: Int, s2: Int, s3: Int

    init(_ input: OperatorInput) {
        count = input.groupCount
        (s0, s1, s2, s3) = OperatorInput.inline(input.groupSlots)
    }
}

/// How an operator reads one of its inputs: the feed, and where in the feed's values its group-by fields and its
/// value fields are.
struct OperatorInput {
    var feed: Int32
    var groupSlots: [Int] {
        didSet { (group0, group1, group2, group3) = OperatorInput.inline(groupSlots) }
    }
    var valueSlots: [Int] {
        didSet { value0 = valueSlots.count == 1 ? valueSlots[0] : -1 }
    }
    /// The first four group slots inline (-1 where absent), so the hot path reads them without reference counting.
    private(set) var group0 = -1, group1 = -1, group2 = -1, group3 = -1
    /// The value slot when there is exactly one, else -1.
    private(set) var value0 = -1

    init(feed: Int32, groupSlots: [Int], valueSlots: [Int]) {
        self.feed = feed
        self.groupSlots = groupSlots
        self.valueSlots = valueSlots
        (group0, group1, group2, group3) = OperatorInput.inline(groupSlots)
        value0 = valueSlots.count == 1 ? valueSlots[0] : -1
    }

    var groupCount: Int { groupSlots.count }

    static func inline(_ slots: [Int]) -> (Int, Int, Int, Int) {
        (slots.count > 0 ? slots[0] : -1, slots.count > 1 ? slots[1] : -1, slots.count > 2 ? slots[2] : -1,
         slots.count > 3 ? slots[3] : -1)
    }

    /// Appends the group key of `values` to `key`.
    @inline(__always)
    func appendKey(_ values: FieldValues, to key: inout [UInt8]) {
        if group0 < 0 { return }
        GroupKey.append(values, group0, to: &key)
        if group1 < 0 { return }
        GroupKey.append(values, group1, to: &key)
        if group2 < 0 { return }
        GroupKey.append(values, group2, to: &key)
        if group3 < 0 { return }
        GroupKey.append(values, group3, to: &key)
        for slot in groupSlots.dropFirst(4) { GroupKey.append(values, slot, to: &key) }
    }

    /// The group values of `values`.
    func groupValues(_ values: FieldValues) -> [String?] { groupSlots.map { values.string($0) } }
}
