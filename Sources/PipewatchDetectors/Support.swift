import CCacheHints
import Foundation

/// Asks the CPU to start loading the cache line at `address` (a hint that never faults, so a stale address is
/// harmless). For records released long after they were buffered, whose state the cache has lost by then.
@inline(__always)
func cachePrefetch(_ address: UnsafeRawPointer?) {
    if let address { pw_prefetch_read(address) }
}

/// A fast 64-bit hash over bytes (eight at a time, then a strong finalizer). Group keys are hashed once per record.
public enum Hash64 {
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 30
        x &*= 0xbf58_476d_1ce4_e5b9
        x ^= x >> 27
        x &*= 0x94d0_49bb_1331_11eb
        x ^= x >> 31
        return x
    }

    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0x9e37_79b9_7f4a_7c15) -> UInt64 {
        var h = seed ^ (UInt64(bytes.count) &* 0xff51_afd7_ed55_8ccd)
        var i = 0
        let count = bytes.count
        while i + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ mix(word)) &* 0x9e37_79b9_7f4a_7c15
            h = (h << 29) | (h >> 35)
            i += 8
        }
        if i < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ mix(tail)) &* 0x9e37_79b9_7f4a_7c15
        }
        return mix(h)
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0x9e37_79b9_7f4a_7c15) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    public static func hash(_ text: String, seed: UInt64 = 0x9e37_79b9_7f4a_7c15) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// A UUID-shaped id from two hashes of the same bytes.
    public static func uuid(_ bytes: [UInt8]) -> String {
        let high = hash(bytes, seed: 0x6a09_e667_f3bc_c908)
        let low = hash(bytes, seed: 0xbb67_ae85_84ca_a73b)
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var i = 0
            func put(_ value: UInt64, nibbles: ClosedRange<Int>) {
                for n in nibbles.reversed() {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        buffer[i] = UInt8(ascii: "-")
                        i += 1
                    }
                    buffer[i] = digits.utf8Start[Int((value >> UInt64(4 * n)) & 0xF)]
                    i += 1
                }
            }
            put(high, nibbles: 0...15)
            put(low, nibbles: 0...15)
            return i
        }
    }
}

/// Integer division rounding toward negative infinity (bucket indexes of times before 1970 stay ordered).
@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Hour of the week of a time, Monday 00:00 = 0 … Sunday 23:00 = 167 (1970-01-01 was a Thursday).
@inline(__always)
func hourOfWeek(_ milliseconds: Int64, offsetMinutes: Int) -> Int {
    let hours = floorDivide(milliseconds + Int64(offsetMinutes) * 60_000, 3_600_000)
    let slot = (hours + 72) % 168
    return Int(slot < 0 ? slot + 168 : slot)
}

// MARK: Group keys

/// Group-by values encoded as one byte string: each value as a length (LEB128) and its UTF-8 bytes, an absent
/// value as the single byte 0xFF. Unambiguous, so the bytes identify the group and decode back to its values.
enum GroupKey {
    static let absent: UInt8 = 0xFF

    @inline(__always)
    static func append(_ value: String?, to key: inout [UInt8]) {
        guard var value else {
            key.append(absent)
            return
        }
        value.withUTF8 { append(bytes: UnsafeRawBufferPointer($0), to: &key) }
    }

    /// Value `k` of `values`.
    @inline(__always)
    static func append(_ values: FieldValues, _ k: Int, to key: inout [UInt8]) {
        if values.withValue(k, { append(bytes: $0, to: &key) }) == nil { key.append(absent) }
    }

    @inline(__always)
    static func append(bytes: UnsafeRawBufferPointer, to key: inout [UInt8]) {
        var length = bytes.count
        // Six bits per byte: continuation bytes 0x80–0xBF, the last one 0x00–0x3F; never 0xFF (absent).
        while length >= 0x40 {
            key.append(UInt8(length & 0x3F) | 0x80)
            length >>= 6
        }
        key.append(UInt8(length))
        key.append(contentsOf: bytes)
    }

    static func decode(_ key: [UInt8]) -> [String?] {
        var values: [String?] = []
        var i = 0
        while i < key.count {
            if key[i] == absent {
                values.append(nil)
                i += 1
                continue
            }
            var length = 0
            var shift = 0
            while i < key.count, key[i] & 0x80 != 0 {
                length |= Int(key[i] & 0x3F) << shift
                shift += 6
                i += 1
            }
            guard i < key.count else { break }
            length |= Int(key[i]) << shift
            i += 1
            let end = min(key.count, i + length)
            values.append(String(decoding: key[i..<end], as: UTF8.self))
            i = end
        }
        return values
    }
}

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

// MARK: Snapshots

/// Why a snapshot could not be read.
public struct SnapshotError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Little-endian binary writing for state snapshots.
struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    mutating func double(_ value: Double) { u64(value.bitPattern) }
    mutating func float(_ value: Float) { u32(value.bitPattern) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    mutating func count(_ value: Int) {
        var v = UInt64(value)
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func data(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { data(Array(value.utf8)) }

    mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    /// A section whose length is written first, so a reader can check it was consumed exactly.
    mutating func section(_ body: (inout SnapshotWriter) -> Void) {
        var inner = SnapshotWriter()
        body(&inner)
        data(inner.bytes)
    }
}

struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func need(_ n: Int) throws(SnapshotError) {
        guard n >= 0, offset + n <= bytes.count else { throw SnapshotError("the snapshot is truncated") }
    }

    mutating func u8() throws(SnapshotError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() throws(SnapshotError) -> Bool { try u8() != 0 }

    mutating func u64() throws(SnapshotError) -> UInt64 {
        try need(8)
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        offset += 8
        return value
    }

    mutating func u32() throws(SnapshotError) -> UInt32 {
        try need(4)
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(bytes[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return value
    }

    mutating func i64() throws(SnapshotError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func double() throws(SnapshotError) -> Double { Double(bitPattern: try u64()) }
    mutating func float() throws(SnapshotError) -> Float { Float(bitPattern: try u32()) }

    mutating func count() throws(SnapshotError) -> Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 56 { throw SnapshotError("a count in the snapshot is malformed") }
        }
        guard value <= UInt64(Int.max / 2) else { throw SnapshotError("a count in the snapshot is out of range") }
        return Int(value)
    }

    mutating func data() throws(SnapshotError) -> [UInt8] {
        let n = try count()
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func string() throws(SnapshotError) -> String { String(decoding: try data(), as: UTF8.self) }

    mutating func optionalString() throws(SnapshotError) -> String? {
        try bool() ? try string() : nil
    }

    mutating func section() throws(SnapshotError) -> SnapshotReader { SnapshotReader(try data()) }
}

/// Writes a file atomically: a temporary file in the same directory, flushed to disk, then renamed over the target
/// (and the directory flushed), so a crash leaves either the old snapshot or the new one, never a torn one.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SnapshotError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw SnapshotError("cannot write \(temporary): \(String(cString: strerror(error)))")
        }
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw SnapshotError("cannot rename \(temporary) to \(path): \(String(cString: strerror(error)))")
        }
        // The directory's entry is flushed too. (Not NSString.deletingLastPathComponent: it traps on a
        // one-character relative path.)
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
