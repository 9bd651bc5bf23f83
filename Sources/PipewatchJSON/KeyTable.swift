
/// Maps a fixed set of object keys to small slot numbers with one hash probe and one compare, so a normalizer can
/// read every member it needs in a single pass over an object instead of searching it once per field.
public final class KeyTable: @unchecked Sendable {
    /// Open addressing over flat arrays: per bucket the key's length (-1 when empty), where its bytes start in
    /// `storage`, and its slot.
    private let lengths: UnsafeMutablePointer<Int32>
    private let starts: UnsafeMutablePointer<Int32>
    private let slotOf: UnsafeMutablePointer<Int32>
    private let storage: UnsafeMutablePointer<UInt8>
    private let mask: Int
    public let keys: [String]

    public init(_ keys: [String]) {
        self.keys = keys
        var size = 64
        while size < keys.count * 8 { size *= 2 }
        mask = size - 1
        lengths = .allocate(capacity: size)
        lengths.initialize(repeating: -1, count: size)
        starts = .allocate(capacity: size)
        starts.initialize(repeating: 0, count: size)
        slotOf = .allocate(capacity: size)
        slotOf.initialize(repeating: 0, count: size)
        let total = keys.reduce(0) { $0 + $1.utf8.count }
        storage = .allocate(capacity: max(total, 1))
        var offset = 0
        for (slot, key) in keys.enumerated() {
            let bytes = Array(key.utf8)
            storage.advanced(by: offset).update(from: bytes, count: bytes.count)
            var h = bytes.withUnsafeBufferPointer { KeyTable.hash($0) } & mask
            while lengths[h] >= 0 { h = (h + 1) & mask }
            lengths[h] = Int32(bytes.count)
            starts[h] = Int32(offset)
            slotOf[h] = Int32(slot)
            offset += bytes.count
        }
    }

    deinit {
        lengths.deallocate()
        starts.deallocate()
        slotOf.deallocate()
        storage.deallocate()
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = key.first, let last = key.last else { return 0 }
        return key.count &* 31 &+ Int(first) &* 7 &+ Int(last) &* 131 &+ Int(key[key.count / 2]) &* 17
    }

    /// The slot of `key`, or -1.
    @inline(__always)
    public func slot(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h = KeyTable.hash(key) & mask
        while true {
            let length = Int(lengths[h])
            if length < 0 { return -1 }
            if length == key.count && bytesEqual(storage + Int(starts[h]), key.baseAddress!, length) {
                return Int(slotOf[h])
            }
            h = (h &+ 1) & mask
        }
    }

    /// One pass over the object at `object`: writes each known member's value index to `slots[slot]` (0 where
    /// absent; a member value is never tape index 0). Keys written with escapes are decoded first.
    public func collect(_ document: JSONDocument, _ object: UInt32, into slots: UnsafeMutablePointer<UInt32>) {
        slots.update(repeating: 0, count: keys.count)
        let container = document[object]
        guard container.kind == .object else { return }
        var k = object &+ 1
        while k < container.next {
            let key = document[k]
            let found: Int
            if key.isEscaped {
                found = document.withString(k) { slot($0) }
            } else {
                found = slot(UnsafeBufferPointer(start: document.bytes + Int(key.start), count: key.byteCount))
            }
            if found >= 0 && slots[found] == 0 { slots[found] = k &+ 1 }
            k = document[k &+ 1].next
        }
    }
}
