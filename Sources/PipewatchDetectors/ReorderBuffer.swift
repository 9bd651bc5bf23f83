import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

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
