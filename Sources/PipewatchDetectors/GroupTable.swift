import CCacheHints
import Foundation

/// Group keys → dense indexes. Open addressing with linear probing on the key hash (computed once per record); a
/// table entry holds the upper half of the hash beside the index, so a probe touches the key only on a likely hit,
/// where it is compared byte for byte. Removal by backward shift, so no tombstones accumulate. Freed indexes are
/// reused, so per-group state arrays stay dense.
struct GroupTable {
    /// Per group index: the key hash and the key (empty array for a free index).
    private(set) var hashes: [UInt64] = []
    private(set) var keys: [[UInt8]] = []
    private(set) var live: [Bool] = []
    /// The table: (upper 32 bits of the hash) << 32 | (group index + 1); 0 for an empty slot.
    private var slots: [UInt64]
    private var mask: Int
    private var free: [Int32] = []
    private(set) var count = 0

    init() {
        slots = [UInt64](repeating: 0, count: 16)
        mask = 15
    }

    @inline(__always)
    static func entry(hash: UInt64, index: Int) -> UInt64 { (hash & 0xFFFF_FFFF_0000_0000) | UInt64(index + 1) }

    @inline(__always)
    static func same(_ stored: [UInt8], _ key: UnsafeRawBufferPointer) -> Bool {
        guard stored.count == key.count else { return false }
        guard key.count > 0 else { return true }
        return stored.withUnsafeBytes { memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }
    }

    /// Number of group indexes in use or free (the size per-group arrays must have).
    var indexCount: Int { keys.count }

    @inline(__always)
    func find(hash: UInt64, key: UnsafeRawBufferPointer) -> Int32? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash & 0xFFFF_FFFF_0000_0000
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let index = Int(entry & 0xFFFF_FFFF) - 1
                if GroupTable.same(keys[index], key) { return Int32(index) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Starts loading the slot where a lookup of `hash` begins.
    @inline(__always)
    func prefetch(hash: UInt64) {
        slots.withUnsafeBytes { cachePrefetch($0.baseAddress! + 8 * (Int(truncatingIfNeeded: hash) & mask)) }
    }

    /// The index of the key, inserting it when new.
    @inline(__always)
    mutating func findOrInsert(hash: UInt64, key: UnsafeRawBufferPointer) -> (index: Int32, inserted: Bool) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash & 0xFFFF_FFFF_0000_0000
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let index = Int(entry & 0xFFFF_FFFF) - 1
                if GroupTable.same(keys[index], key) { return (Int32(index), false) }
            }
            slot = (slot + 1) & mask
        }
        let index: Int32
        let bytes = Array(UnsafeBufferPointer(start: key.baseAddress?.assumingMemoryBound(to: UInt8.self), count: key.count))
        if let reused = free.popLast() {
            index = reused
            hashes[Int(index)] = hash
            keys[Int(index)] = bytes
            live[Int(index)] = true
        } else {
            index = Int32(keys.count)
            hashes.append(hash)
            keys.append(bytes)
            live.append(true)
        }
        slots[slot] = GroupTable.entry(hash: hash, index: Int(index))
        count += 1
        if count * 2 > slots.count { grow() }
        return (index, true)
    }

    mutating func remove(_ index: Int32) {
        let hash = hashes[Int(index)]
        let wanted = GroupTable.entry(hash: hash, index: Int(index))
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != wanted { slot = (slot + 1) & mask }
        // Backward shift: move later entries of the run into the hole when their home allows it.
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let home = Int(truncatingIfNeeded: hashes[Int(slots[next] & 0xFFFF_FFFF) - 1]) & mask
            let distanceFromHome = (next - home) & mask
            let distanceToHole = (next - hole) & mask
            if distanceFromHome >= distanceToHole {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
        keys[Int(index)] = []
        live[Int(index)] = false
        free.append(index)
        count -= 1
    }

    private mutating func rebuildSlots(size: Int) {
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for index in keys.indices where live[index] {
            var slot = Int(truncatingIfNeeded: hashes[index]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = GroupTable.entry(hash: hashes[index], index: index)
        }
    }

    private mutating func grow() { rebuildSlots(size: slots.count * 2) }

    /// Restores a table index for index (free indexes as nil), so state arrays saved by index stay valid.
    init(restoring saved: [[UInt8]?]) {
        self.init()
        for key in saved {
            if let key {
                hashes.append(Hash64.hash(key))
                keys.append(key)
                live.append(true)
                count += 1
            } else {
                hashes.append(0)
                keys.append([])
                live.append(false)
            }
        }
        var size = 16
        while count * 2 > size { size *= 2 }
        rebuildSlots(size: size)
        free = keys.indices.filter { !live[$0] }.reversed().map { Int32($0) }
    }

    /// Approximate bytes held: the table, the per-index arrays and the keys.
    var memoryBytes: Int {
        slots.count * 8 + keys.count * (8 + 1 + 8) + keys.reduce(0) { $0 + ($1.isEmpty ? 0 : $1.count + 32) }
    }
}
