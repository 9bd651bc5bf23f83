import Foundation
import PipewatchJSON
import PipewatchRules

/// The values a group has seen, with when each was last seen: open addressing on a 64-bit fingerprint of the value
/// (fingerprints are never 0, the empty mark), fingerprint and time side by side in one array, at most `limit`
/// values, the least recently seen evicted first. 16 bytes per remembered value (the table at most half full:
/// ≤ 32 bytes per value).
struct SeenSet {
    /// Pairs: fingerprint at 2k, last-seen time at 2k + 1.
    var entries: [UInt64] = []
    var count = 0
    /// The latest time any value was seen.
    var lastSeen: Int64 = .min

    var capacity: Int { entries.count / 2 }

    /// Records `fingerprint` as seen at `time`, in one probe; true when it was not known, or last seen longer than
    /// `history` before.
    @inline(__always)
    mutating func touch(_ fingerprint: UInt64, time: Int64, history: Int64, limit: Int) -> Bool {
        if time > lastSeen { lastSeen = time }
        if entries.isEmpty { resize(4) }
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        while true {
            let entry = entries[2 * slot]
            if entry == fingerprint {
                let seen = Int64(bitPattern: entries[2 * slot + 1])
                if time > seen { entries[2 * slot + 1] = UInt64(bitPattern: time) }
                return time - seen > history
            }
            if entry == 0 { break }
            slot = (slot + 1) & mask
        }
        set(fingerprint, time: time, limit: limit)
        return true
    }

    /// Records `fingerprint` as seen at `time`.
    mutating func set(_ fingerprint: UInt64, time: Int64, limit: Int) {
        if entries.isEmpty { resize(4) }
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        while true {
            let entry = entries[2 * slot]
            if entry == fingerprint {
                entries[2 * slot + 1] = UInt64(bitPattern: time)
                return
            }
            if entry == 0 { break }
            slot = (slot + 1) & mask
        }
        if count >= limit {
            evictOldest()
            set(fingerprint, time: time, limit: limit)
            return
        }
        entries[2 * slot] = fingerprint
        entries[2 * slot + 1] = UInt64(bitPattern: time)
        count += 1
        if count * 2 > capacity { resize(capacity * 2) }
    }

    var pairs: [(UInt64, Int64)] {
        (0..<capacity).filter { entries[2 * $0] != 0 }.map { (entries[2 * $0], Int64(bitPattern: entries[2 * $0 + 1])) }
    }

    mutating func evictOldest() {
        let all = pairs
        guard let oldest = all.indices.min(by: { all[$0].1 != all[$1].1 ? all[$0].1 < all[$1].1 : all[$0].0 < all[$1].0 }) else { return }
        rebuild(all.enumerated().filter { $0.offset != oldest }.map(\.element))
    }

    /// Drops values last seen before `horizon`.
    mutating func expire(before horizon: Int64) {
        let kept = pairs.filter { $0.1 >= horizon }
        guard kept.count != count else { return }
        rebuild(kept)
    }

    private mutating func rebuild(_ list: [(UInt64, Int64)]) {
        var size = 4
        while list.count * 2 > size { size *= 2 }
        place(list, size: size)
    }

    private mutating func resize(_ size: Int) { place(pairs, size: size) }

    private mutating func place(_ list: [(UInt64, Int64)], size: Int) {
        entries = [UInt64](repeating: 0, count: 2 * size)
        count = 0
        let mask = size - 1
        for (fingerprint, time) in list {
            var slot = Int(truncatingIfNeeded: fingerprint) & mask
            while entries[2 * slot] != 0 { slot = (slot + 1) & mask }
            entries[2 * slot] = fingerprint
            entries[2 * slot + 1] = UInt64(bitPattern: time)
            count += 1
        }
    }

    var sortedEntries: [(UInt64, Int64)] { pairs.sorted { $0.0 < $1.0 } }
}
