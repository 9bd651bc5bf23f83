import PipewatchKafka

/// Which Kafka offsets may be committed: per topic-partition, the records polled and not yet fully processed hold
/// the commit back, so a restart re-delivers them (duplicates, never loss).
///
/// Records are marked in flight when polled (in offset order per partition) and done when fully processed (in any
/// order). `committable()` returns, per partition, the offset to commit: one past the last record of the longest
/// prefix of polled records that are all done. One slow record holds back its partition's commit however many later
/// records are done. Offsets need not be contiguous (compacted topics, transaction markers): the watermark follows
/// the polled offsets themselves, never offset arithmetic.
public struct OffsetWatermark: Sendable {
    struct Partition: Sendable {
        /// Polled offsets not yet below the watermark, strictly increasing from `head`.
        var offsets: [Int64] = []
        var done: [Bool] = []
        var head = 0
        /// Tracked records not done.
        var pending = 0
        /// One past the last offset of the done prefix; nil until a record of the partition is done.
        var watermark: Int64?
        /// The offsets polled since the partition was (re)assigned: the first, and one past the last.
        var firstPolled: Int64?
        var nextPolled: Int64 = 0

        var lastPolled: Int64? { head < offsets.count ? offsets[offsets.count - 1] : nil }

        /// Index of `offset` among the tracked records, if tracked.
        func index(of offset: Int64) -> Int? {
            var low = head
            var high = offsets.count
            while low < high {
                let mid = (low + high) / 2
                if offsets[mid] < offset { low = mid + 1 } else { high = mid }
            }
            return low < offsets.count && offsets[low] == offset ? low : nil
        }

        mutating func advance() {
            while head < offsets.count && done[head] {
                watermark = offsets[head] + 1
                head += 1
            }
            // Compact once the done prefix is the larger part, so memory follows the records in flight.
            if head == offsets.count {
                offsets.removeAll(keepingCapacity: true)
                done.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= offsets.count {
                offsets.removeSubrange(0..<head)
                done.removeSubrange(0..<head)
                head = 0
            }
        }
    }

    var partitions: [KafkaTopicPartition: Partition] = [:]
    /// Records polled and not yet done, over all partitions.
    public private(set) var inFlight = 0

    public init() {}

    /// Marks a polled record in flight. Offsets of a partition normally arrive increasing; an offset at or below the
    /// last one polled means the consumer went back (a seek, or re-delivery after a rebalance): the tracked records
    /// from that offset on are dropped, since they come again. A record below the partition's watermark is already
    /// done and is not tracked again.
    public mutating func markInFlight(_ partition: KafkaTopicPartition, offset: Int64) {
        var state = partitions.removeValue(forKey: partition) ?? Partition()
        defer { partitions[partition] = state }
        if let watermark = state.watermark, offset < watermark { return }
        if state.firstPolled == nil { state.firstPolled = offset }
        state.nextPolled = max(state.nextPolled, offset + 1)
        if let last = state.lastPolled, offset <= last {
            var cut = state.offsets.count
            while cut > state.head && state.offsets[cut - 1] >= offset { cut -= 1 }
            for index in cut..<state.offsets.count where !state.done[index] {
                inFlight -= 1
                state.pending -= 1
            }
            state.offsets.removeSubrange(cut...)
            state.done.removeSubrange(cut...)
        }
        state.offsets.append(offset)
        state.done.append(false)
        state.pending += 1
        inFlight += 1
    }

    /// Marks a record fully processed. Returns false when the record is not tracked (already done, polled before
    /// its partition was forgotten, or never polled): it then changes nothing.
    @discardableResult
    public mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard var state = partitions.removeValue(forKey: partition) else { return false }
        defer { partitions[partition] = state }
        guard let index = state.index(of: offset), !state.done[index] else { return false }
        state.done[index] = true
        state.pending -= 1
        inFlight -= 1
        if index == state.head { state.advance() }
        return true
    }

    /// Per partition, the offset below which every polled record is done (the offset to commit: the next one to
    /// read). Partitions with no done prefix yet are absent.
    public func committable() -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for (partition, state) in partitions {
            if let watermark = state.watermark { result[partition] = watermark }
        }
        return result
    }

    /// The offset to commit for one partition, if any.
    public func committable(_ partition: KafkaTopicPartition) -> Int64? { partitions[partition]?.watermark }

    /// The offsets of `partition` polled since it was assigned, `first..<next`; nil before the first record.
    public func polledRange(_ partition: KafkaTopicPartition) -> Range<Int64>? {
        guard let state = partitions[partition], let first = state.firstPolled else { return nil }
        return first..<max(first, state.nextPolled)
    }

    /// Records of `partition` polled and not yet done.
    public func inFlight(_ partition: KafkaTopicPartition) -> Int { partitions[partition]?.pending ?? 0 }

    /// Partitions with tracked state.
    public var trackedPartitions: [KafkaTopicPartition] { Array(partitions.keys) }

    /// Drops a partition (revoked or lost): its records still in flight will never commit from here; marking them
    /// done later is ignored.
    public mutating func forget(_ partition: KafkaTopicPartition) {
        if let state = partitions.removeValue(forKey: partition) {
            inFlight -= state.pending
        }
    }

    public mutating func forgetAll() {
        partitions.removeAll()
        inFlight = 0
    }
}
