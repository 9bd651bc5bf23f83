import Foundation  // memcmp

/// Maps a fixed set of object keys to small slot numbers with one hash probe and one compare, so a normalizer can
/// read every member it needs in a single pass over an object instead of searching it once per field.
public final class KeyTable: @unchecked Sendable {
    private struct Entry {
        var length: Int
        var start: Int  // into `storage`
        var slot: Int
    }

    private let storage: UnsafeMutablePointer<UInt8>
    private let table: [Entry?]
    private let mask: Int
    public let keys: [String]

    public init(_ keys: [String]) {
        self.keys = keys
        var size = 64
        while size < keys.count * 8 { size *= 2 }
        mask = size - 1
        var table = [Entry?](repeating: nil, count: size)
        let total = keys.reduce(0) { $0 + $1.utf8.count }
        storage = .allocate(capacity: max(total, 1))
        var offset = 0
        for (slot, key) in keys.enumerated() {
            let bytes = Array(key.utf8)
            storage.advanced(by: offset).update(from: bytes, count: bytes.count)
            var h = bytes.withUnsafeBufferPointer { KeyTable.hash($0) } & mask
            while table[h] != nil { h = (h + 1) & mask }
            table[h] = Entry(length: bytes.count, start: offset, slot: slot)
            offset += bytes.count
        }
        self.table = table
    }

    deinit { storage.deallocate() }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = key.first, let last = key.last else { return 0 }
        return key.count &* 31 &+ Int(first) &* 7 &+ Int(last) &* 131 &+ Int(key[key.count / 2]) &* 17
    }

    /// The slot of `key`, or -1.
    @inlinable
    public func slot(_ key: UnsafeBufferPointer<UInt8>) -> Int { lookup(key) }

    @usableFromInline
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h = KeyTable.hash(key) & mask
        while let entry = table[h] {
            if entry.length == key.count && bytesEqual(storage + entry.start, key.baseAddress!, key.count) {
                return entry.slot
            }
            h = (h + 1) & mask
        }
        return -1
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
            let slot: Int
            if key.isEscaped {
                slot = document.withString(k) { lookup($0) }
            } else {
                slot = lookup(UnsafeBufferPointer(start: document.bytes + Int(key.start), count: key.byteCount))
            }
            if slot >= 0 && slots[slot] == 0 { slots[slot] = k &+ 1 }
            k = document[k &+ 1].next
        }
    }
}
