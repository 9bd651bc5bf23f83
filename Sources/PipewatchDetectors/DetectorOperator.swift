import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// A correlation or detector at run time. Subclasses keep their state per group in flat arrays indexed by the
/// group's dense index (`groups`).
class DetectorOperator {
    let index: Int
    /// The correlation or detector type, as written (`event_count`, `volume`…), or `rule` for a tuned rule.
    let kind: String
    let reference: String
    let title: String
    let alertRule: AlertRule
    let groupBy: [String]
    var inputs: [OperatorInput] = [] {
        didSet { keySlots = inputs.map { KeySlots($0) } }
    }
    /// The group slots of each input as plain values, so the hot path copies no arrays.
    private var keySlots: [KeySlots] = []
    let gate: Gate
    /// Whether its findings alert (false for a correlation only referenced by another without `generate`).
    var alerts = true
    /// The feed its matches go to when other correlations or detectors read them.
    var derivedFeed: Int32?
    /// The source an alert without an event of its own names.
    var defaultSource: EventSource = .cloudTrail
    weak var stage: DetectorStage?
    /// Event time up to which the operator has been advanced: no record before it will come.
    var clock: Int64 = .min
    var groups = GroupTable()
    var keyScratch: [UInt8] = []
    var nextSweep: Int64 = .min

    /// What every operator is made with.
    struct Parameters {
        var index: Int
        var kind: String
        var reference: String
        var title: String
        var alertRule: AlertRule
        var groupBy: [String]
        var gate: Gate
    }

    init(parameters p: Parameters) {
        index = p.index
        kind = p.kind
        reference = p.reference
        title = p.title
        alertRule = p.alertRule
        groupBy = p.groupBy
        gate = p.gate
    }

    /// Aggregating operators (volume, drift) take records as they arrive, into buckets closed by the watermark;
    /// the others take them in event-time order.
    var isAggregating: Bool { false }

    /// What defines the operator's behaviour and state layout (a snapshot restores only into the same definition).
    var definition: String { "\(kind)|\(reference)|\(groupBy)" }

    /// Approximate bytes of state.
    var memoryBytes: Int { groups.memoryBytes }

    /// Whether records of input `input` must keep their raw event for an alert to show.
    func needsEvidence(input: Int) -> Bool { true }

    /// Makes per-group arrays at least `count` long.
    func ensureCapacity(_ count: Int) {}

    /// Forgets the state of a group (the table index is reused).
    func clearGroup(_ group: Int) {}

    // MARK: Group keys

    /// The group of a record: its group-by values hashed once; a new group gets fresh state.
    @inline(__always)
    final func group(_ values: FieldValues, input: Int) -> Int {
        buildKey(values, input: input)
        return groupForScratch()
    }

    /// Starts loading the table slot of the group of `values`, for a record processed a few records later (a hint:
    /// changes nothing).
    final func prefetchGroup(_ values: FieldValues, input: Int) {
        buildKey(values, input: input)
        keyScratch.withUnsafeBytes { groups.prefetch(hash: Hash64.hash($0)) }
    }

    /// The group key of `values` into `keyScratch`.
    @inline(__always)
    final func buildKey(_ values: FieldValues, input: Int) {
        keyScratch.removeAll(keepingCapacity: true)
        let slots = keySlots[input]
        if slots.count <= 4 {
            if slots.count > 0 { GroupKey.append(values, slots.s0, to: &keyScratch) }
            if slots.count > 1 { GroupKey.append(values, slots.s1, to: &keyScratch) }
            if slots.count > 2 { GroupKey.append(values, slots.s2, to: &keyScratch) }
            if slots.count > 3 { GroupKey.append(values, slots.s3, to: &keyScratch) }
        } else {
            inputs[input].appendKey(values, to: &keyScratch)
        }
    }

    @inline(__always)
    final func groupForScratch() -> Int {
        let (index, inserted) = keyScratch.withUnsafeBytes { key in
            groups.findOrInsert(hash: Hash64.hash(key), key: key)
        }
        if inserted {
            ensureCapacity(groups.indexCount)
            clearGroup(Int(index))
        }
        return Int(index)
    }

    final func removeGroup(_ group: Int) {
        clearGroup(group)
        groups.remove(Int32(group))
    }

    /// Removes the groups `expired` says the window no longer needs, at most once per `interval` of event time (a
    /// scan of every group is too dear for every batch). Whether it swept.
    @discardableResult
    final func sweepGroups(at time: Int64, every interval: Int64, _ expired: (Int) -> Bool) -> Bool {
        guard time >= nextSweep else { return false }
        nextSweep = time + interval
        for g in 0..<groups.indexCount where groups.live[g] && expired(g) { removeGroup(g) }
        return true
    }

    final func groupValues(_ group: Int) -> [String?] { GroupKey.decode(groups.keys[group]) }

    /// A finding for a group.
    final func finding(group: Int, time: Int64) -> Finding {
        Finding(time: time, groupKey: groups.keys[group], groupValues: groupValues(group))
    }

    // MARK: Run time (overridden)

    /// A record of input `input`, in event-time order (sequential operators).
    func process(_ record: Record, input: Int) {}

    /// A record as it arrives (aggregating operators); false when its bucket is already closed (late).
    func aggregate(_ values: FieldValues, time: Int64, input: Int) -> Bool { true }

    /// No record before `time` will come: close what ends before it.
    func advance(to time: Int64) {
        if time > clock { clock = time }
    }

    func write(_ w: inout SnapshotWriter) {}
    func read(_ r: inout SnapshotReader) throws(SnapshotError) {}

    final func emit(_ finding: Finding) { stage!.handle(finding, from: self) }

    /// Writes the group table index by index (free indexes as absent), so per-index arrays restore as they are.
    final func writeGroups(_ w: inout SnapshotWriter) {
        w.count(groups.indexCount)
        for index in 0..<groups.indexCount {
            w.bool(groups.live[index])
            if groups.live[index] { w.data(groups.keys[index]) }
        }
    }

    final func readGroups(_ r: inout SnapshotReader) throws(SnapshotError) {
        let n = try r.count()
        var saved: [[UInt8]?] = []
        saved.reserveCapacity(n)
        for _ in 0..<n { saved.append(try r.bool() ? try r.data() : nil) }
        groups = GroupTable(restoring: saved)
        ensureCapacity(groups.indexCount)
    }
}
