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

/// The field values a record carries, packed in one byte array: a header with the number of values and, per value,
/// its start and length (length −1: absent), then the UTF-8 bytes. One allocation per record, no string objects:
/// group keys and hashes read the bytes in place.
struct FieldValues: Equatable {
    private(set) var storage: [UInt8]

    init(_ strings: [String?]) {
        var builder = Builder(count: strings.count, capacity: strings.reduce(0) { $0 + ($1?.utf8.count ?? 0) })
        for string in strings { builder.append(string) }
        self = builder.values
    }

    /// Values stored by `storage` (checked: a snapshot may be damaged).
    init?(storage: [UInt8]) {
        guard storage.count >= 4 else { return nil }
        let count = storage.withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
        guard count <= (storage.count - 4) / 8 else { return nil }
        for k in 0..<count {
            let (start, length) = storage.withUnsafeBytes {
                (Int($0.loadUnaligned(fromByteOffset: 4 + 8 * k, as: Int32.self)), Int($0.loadUnaligned(fromByteOffset: 8 + 8 * k, as: Int32.self)))
            }
            guard length < 0 || (start >= 4 + 8 * count && start + length <= storage.count) else { return nil }
        }
        self.storage = storage
    }

    private init(built storage: [UInt8]) { self.storage = storage }

    @inline(__always)
    var count: Int { storage.withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) } }

    /// Where the bytes are (valid while this value lives; for prefetching only).
    @inline(__always)
    var address: UnsafeRawPointer? { storage.withUnsafeBytes { $0.baseAddress } }

    /// Calls `body` with the bytes of value `k`; nil (without calling) when it is absent.
    @inline(__always)
    func withValue<R>(_ k: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        storage.withUnsafeBytes { raw in
            let start = Int(raw.loadUnaligned(fromByteOffset: 4 + 8 * k, as: Int32.self))
            let length = Int(raw.loadUnaligned(fromByteOffset: 8 + 8 * k, as: Int32.self))
            if length < 0 { return nil }
            return body(UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
        }
    }

    func string(_ k: Int) -> String? { withValue(k) { String(decoding: $0, as: UTF8.self) } }

    /// The 64-bit hash of value `k`, nil when absent.
    @inline(__always)
    func hash(_ k: Int) -> UInt64? { withValue(k) { Hash64.hash($0) } }

    var strings: [String?] { (0..<count).map(string) }

    /// Builds values one by one, in slot order.
    struct Builder {
        private var storage: [UInt8]
        private let count: Int
        private var next = 0

        init(count: Int, capacity: Int = 64) {
            self.count = count
            storage = []
            storage.reserveCapacity(4 + 8 * count + capacity)
            withUnsafeBytes(of: UInt32(count).littleEndian) { storage.append(contentsOf: $0) }
            storage.append(contentsOf: repeatElement(0, count: 8 * count))
        }

        private mutating func header(start: Int, length: Int) {
            let offset = 4 + 8 * next
            storage.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: Int32(start).littleEndian, toByteOffset: offset, as: Int32.self)
                raw.storeBytes(of: Int32(length).littleEndian, toByteOffset: offset + 4, as: Int32.self)
            }
            next += 1
        }

        mutating func append(bytes: UnsafeRawBufferPointer) {
            header(start: storage.count, length: bytes.count)
            storage.append(contentsOf: bytes)
        }

        mutating func appendAbsent() { header(start: 0, length: -1) }

        mutating func append(_ string: String?) {
            guard var string else { return appendAbsent() }
            string.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
        }

        /// Value `k` of other values.
        mutating func append(_ values: FieldValues, _ k: Int) {
            if values.withValue(k, { append(bytes: $0) }) == nil { appendAbsent() }
        }

        var values: FieldValues {
            precondition(next == count, "every value must be appended")
            return FieldValues(built: storage)
        }
    }
}

/// Records waiting for the watermark, smallest (time, order, feed) first. Records that arrive in order (the usual
/// case) go to a FIFO in O(1); the others to a binary heap; the next record is the smaller of the two heads. Both
/// move small keys only, the records stay in place in slots, so neither costs reference counting.
struct ReorderBuffer {
    struct Key {
        var time: Int64
        var order: UInt64
        var feed: Int32
        var slot: Int32
        /// The record's values, to prefetch before its release (a hint; the record in its slot keeps them alive).
        var values: UnsafeRawPointer?

        @inline(__always)
        static func precedes(_ a: Key, _ b: Key) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.order != b.order { return a.order < b.order }
            return a.feed < b.feed
        }
    }

    private var fifo: [Key] = []
    private var fifoHead = 0
    private var heap: [Key] = []
    private var storage: [Record?] = []
    private var free: [Int32] = []

    var count: Int { fifo.count - fifoHead + heap.count }

    /// The key released next, if any.
    @inline(__always)
    private var next: Key? {
        let inOrder = fifoHead < fifo.count ? fifo[fifoHead] : nil
        guard let top = heap.first else { return inOrder }
        guard let inOrder else { return top }
        return Key.precedes(top, inOrder) ? top : inOrder
    }

    /// The time of the record released next, if any.
    var firstTime: Int64? { next?.time }

    mutating func push(_ record: Record) {
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
            storage[Int(slot)] = record
        } else {
            slot = Int32(storage.count)
            storage.append(record)
        }
        let key = Key(time: record.time, order: record.order, feed: record.feed, slot: slot, values: record.values.address)
        if fifoHead == fifo.count || !Key.precedes(key, fifo[fifo.count - 1]) {
            fifo.append(key)
            return
        }
        heap.append(key)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Key.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Starts loading the values of the in-order record `distance` places after the next one.
    @inline(__always)
    func prefetchValues(ahead distance: Int) {
        let k = fifoHead + distance
        if k < fifo.count { cachePrefetch(fifo[k].values) }
    }

    /// The feed and values of the in-order record `distance` places after the next one, if any.
    @inline(__always)
    func ahead(_ distance: Int) -> (feed: Int32, values: FieldValues)? {
        let k = fifoHead + distance
        guard k < fifo.count, let record = storage[Int(fifo[k].slot)] else { return nil }
        return (record.feed, record.values)
    }

    mutating func pop() -> Record? {
        guard let key = next else { return nil }
        if fifoHead < fifo.count && fifo[fifoHead].slot == key.slot {
            fifoHead += 1
            if fifoHead == fifo.count {
                fifo.removeAll(keepingCapacity: true)
                fifoHead = 0
            } else if fifoHead > 4096 && fifoHead * 2 > fifo.count {
                fifo.removeFirst(fifoHead)
                fifoHead = 0
            }
        } else {
            popHeap()
        }
        var record: Record?
        swap(&record, &storage[Int(key.slot)])
        free.append(key.slot)
        return record
    }

    private mutating func popHeap() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            var smallest = left
            let right = left + 1
            if right < heap.count && Key.precedes(heap[right], heap[left]) { smallest = right }
            guard Key.precedes(heap[smallest], heap[parent]) else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Every waiting record, in release order.
    var sortedRecords: [Record] {
        (fifo[fifoHead...] + heap).sorted(by: Key.precedes).map { storage[Int($0.slot)]! }
    }

    mutating func removeAll() {
        fifo.removeAll()
        fifoHead = 0
        heap.removeAll()
        storage.removeAll()
        free.removeAll()
    }
}

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

/// The tuning controls applied to an operator's findings, in this order: threshold (signal-level findings stay
/// signals), learning, persist (M of the last N windows), suppression (one alert per group per period; the count
/// of suppressed findings rides on the next alert), observe (everything that would alert becomes a signal, with
/// suppression state kept as if it had alerted, so observe mode shows the alert volume that tuning would give).
final class Gate {
    struct GroupState {
        var mask: UInt64 = 0
        var lastWindow: Int64 = .min
        var lastAlert: Int64 = .min
        var suppressed = 0
        var lastTouch: Int64 = .min
    }

    enum Verdict {
        case alert(suppressed: Int)
        case signal(SignalReason)
    }

    let tuning: Tuning
    let learning: Int64
    /// The window `persist` counts in.
    let persistWindow: Int64
    /// Whether the operator judges learning itself (baselines per group).
    let ownLearning: Bool
    /// First event time the operator processed (for rule-level learning).
    var firstTime: Int64 = .max
    var states: [[UInt8]: GroupState] = [:]

    init(tuning: Tuning, defaultLearning: Int64, persistWindow: Int64, ownLearning: Bool) {
        self.tuning = tuning
        learning = tuning.learning ?? defaultLearning
        self.persistWindow = max(1, persistWindow)
        self.ownLearning = ownLearning
    }

    var isStateful: Bool { tuning.persistOf > 1 || tuning.suppress != nil }

    func noteTime(_ time: Int64) {
        if time < firstTime { firstTime = time }
    }

    func judge(_ finding: Finding) -> Verdict {
        if !finding.alertLevel { return .signal(.belowAlertThreshold) }
        if ownLearning ? finding.learning : (firstTime == .max || finding.time - firstTime < learning) {
            return .signal(.learning)
        }
        if !isStateful {
            return tuning.observe ? .signal(.observe) : .alert(suppressed: 0)
        }
        var state = states[finding.groupKey] ?? GroupState()
        state.lastTouch = finding.time
        defer { states[finding.groupKey] = state }
        if tuning.persistOf > 1 {
            let window = floorDivide(finding.time, persistWindow)
            if state.lastWindow == .min || window - state.lastWindow >= 64 {
                state.mask = 0
            } else if window > state.lastWindow {
                state.mask <<= UInt64(window - state.lastWindow)
            }
            if window >= state.lastWindow || state.lastWindow == .min {
                state.lastWindow = window
            }
            state.mask |= 1
            let recent = tuning.persistOf >= 64 ? state.mask : state.mask & ((1 << UInt64(tuning.persistOf)) - 1)
            if recent.nonzeroBitCount < tuning.persist { return .signal(.persist) }
        }
        if let suppress = tuning.suppress {
            if state.lastAlert != .min && finding.time - state.lastAlert < suppress {
                state.suppressed += 1
                return .signal(.suppressed)
            }
            let suppressed = state.suppressed
            state.suppressed = 0
            state.lastAlert = finding.time
            return tuning.observe ? .signal(.observe) : .alert(suppressed: suppressed)
        }
        return tuning.observe ? .signal(.observe) : .alert(suppressed: 0)
    }

    /// Forgets groups whose state can no longer change a verdict.
    func sweep(now: Int64) {
        guard !states.isEmpty else { return }
        let horizon = max(tuning.suppress ?? 0, persistWindow * Int64(tuning.persistOf))
        states = states.filter { $0.value.suppressed > 0 || now - $0.value.lastTouch <= horizon }
    }

    func write(_ w: inout SnapshotWriter) {
        w.i64(firstTime)
        w.count(states.count)
        for (key, state) in states.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            w.data(key)
            w.u64(state.mask)
            w.i64(state.lastWindow)
            w.i64(state.lastAlert)
            w.count(state.suppressed)
            w.i64(state.lastTouch)
        }
    }

    func read(_ r: inout SnapshotReader) throws(SnapshotError) {
        firstTime = try r.i64()
        let n = try r.count()
        states = [:]
        for _ in 0..<n {
            let key = try r.data()
            var state = GroupState()
            state.mask = try r.u64()
            state.lastWindow = try r.i64()
            state.lastAlert = try r.i64()
            state.suppressed = try r.count()
            state.lastTouch = try r.i64()
            states[key] = state
        }
    }
}

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

// MARK: Alerts

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
            eventJSON.withUnsafeBufferPointer { w.raw(json: $0) }
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
