import Foundation  // memcmp

/// ASCII case folding and comparisons on bytes: what the hot path uses instead of `String`.
enum ASCII {
    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 {
        c &- UInt8(ascii: "A") < 26 ? c | 0x20 : c
    }

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] { bytes.map(lower) }

    /// `text` equals `pattern`; `pattern` is lowercased unless `cased`.
    @inline(__always)
    static func equals(_ text: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, cased: Bool) -> Bool {
        guard text.count == pattern.count else { return false }
        return matchesAt(text, 0, pattern, cased: cased)
    }

    @inline(__always)
    static func matchesAt(_ text: UnsafeBufferPointer<UInt8>, _ offset: Int, _ pattern: UnsafeBufferPointer<UInt8>, cased: Bool) -> Bool {
        guard let base = pattern.baseAddress else { return true }
        if cased { return memcmp(text.baseAddress! + offset, base, pattern.count) == 0 }
        var k = 0
        while k < pattern.count {
            if lower(text[offset + k]) != pattern[k] { return false }
            k += 1
        }
        return true
    }

    @inline(__always)
    static func hasPrefix(_ text: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, cased: Bool) -> Bool {
        text.count >= pattern.count && matchesAt(text, 0, pattern, cased: cased)
    }

    @inline(__always)
    static func hasSuffix(_ text: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, cased: Bool) -> Bool {
        text.count >= pattern.count && matchesAt(text, text.count - pattern.count, pattern, cased: cased)
    }

    /// The first offset at or after `from` where `pattern` occurs in `text`, or nil.
    static func find(_ text: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, from: Int, cased: Bool) -> Int? {
        let m = pattern.count
        guard m > 0 else { return from <= text.count ? from : nil }
        guard text.count - from >= m else { return nil }
        let first = pattern[0]
        let firstUpper = cased ? first : (first &- UInt8(ascii: "a") < 26 ? first & ~0x20 : first)
        var i = from
        let last = text.count - m
        while i <= last {
            let c = text[i]
            if c == first || c == firstUpper {
                if m == 1 || matchesAt(text, i + 1, UnsafeBufferPointer(rebasing: pattern[1...]), cased: cased) { return i }
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func contains(_ text: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, cased: Bool) -> Bool {
        find(text, pattern, from: 0, cased: cased) != nil
    }
}

/// An immutable set of byte strings answered with one hash probe, folding ASCII case unless `cased`: the literal
/// values of a field, and the keys of the rule gates. Keys live in one buffer; lookups touch no reference counts.
final class LiteralTable: @unchecked Sendable {
    let cased: Bool
    /// Distinct keys, in first-seen order (entry indices).
    let count: Int
    private let storage: UnsafeMutablePointer<UInt8>
    private let offsets: UnsafeMutablePointer<Int>
    private let lengths: UnsafeMutablePointer<Int>
    private let hashes: UnsafeMutablePointer<UInt64>
    private let slots: UnsafeMutablePointer<Int32>
    private let mask: Int

    init(_ keys: [[UInt8]], cased: Bool) {
        self.cased = cased
        var unique: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for key in keys {
            let folded = cased ? key : ASCII.lowercased(key)
            if seen.insert(folded).inserted { unique.append(folded) }
        }
        count = unique.count
        var size = 16
        while size < unique.count * 2 { size *= 2 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1, count: size)
        let total = unique.reduce(0) { $0 + $1.count }
        storage = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: max(unique.count, 1))
        lengths = .allocate(capacity: max(unique.count, 1))
        hashes = .allocate(capacity: max(unique.count, 1))
        var offset = 0
        for (index, key) in unique.enumerated() {
            for (k, byte) in key.enumerated() { storage[offset + k] = byte }
            offsets[index] = offset
            lengths[index] = key.count
            let hash = key.withUnsafeBufferPointer { LiteralTable.hash($0, fold: !cased) }
            hashes[index] = hash
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
            offset += key.count
        }
    }

    deinit {
        storage.deallocate()
        offsets.deallocate()
        lengths.deallocate()
        hashes.deallocate()
        slots.deallocate()
    }

    /// The key of entry `index` (lowercased unless cased).
    func key(_ index: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: storage + offsets[index], count: lengths[index]))
    }

    /// The entry index of `key`, or -1.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        let hash = LiteralTable.hash(key, fold: !cased)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return -1 }
            if hashes[index] == hash && lengths[index] == key.count
                && ASCII.matchesAt(key, 0, UnsafeBufferPointer(start: storage + offsets[index], count: lengths[index]), cased: cased)
            {
                return index
            }
            slot = (slot + 1) & mask
        }
    }

    /// A hash that is the same for keys equal under ASCII case folding when `fold` (it ORs 0x20 into every byte, which
    /// merges some non-letters too; the comparison after the probe is exact).
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>, fold: Bool) -> UInt64 {
        let foldMask: UInt64 = fold ? 0x2020_2020_2020_2020 : 0
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        guard let base = key.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= key.count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) | foldMask
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < key.count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while i < key.count {
                word |= UInt64(base[i] | UInt8(truncatingIfNeeded: foldMask)) << shift
                shift += 8
                i += 1
            }
            h = (h ^ word) &* 0xC4CE_B9FE_1A85_EC53
        }
        h ^= h >> 32
        h = h &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 29)
    }
}

/// Byte strings in one buffer, for loops that touch no reference counts.
final class ByteStrings: @unchecked Sendable {
    let count: Int
    private let storage: UnsafeMutablePointer<UInt8>
    private let offsets: UnsafeMutablePointer<Int>
    private let lengths: UnsafeMutablePointer<Int>

    init(_ strings: [[UInt8]]) {
        count = strings.count
        let total = strings.reduce(0) { $0 + $1.count }
        storage = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        var offset = 0
        for (index, string) in strings.enumerated() {
            for (k, byte) in string.enumerated() { storage[offset + k] = byte }
            offsets[index] = offset
            lengths[index] = string.count
            offset += string.count
        }
    }

    deinit {
        storage.deallocate()
        offsets.deallocate()
        lengths.deallocate()
    }

    @inline(__always)
    subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage + offsets[index], count: lengths[index])
    }
}

/// A wildcard pattern (`*`, `?`) matched without backtracking blow-up: the greedy two-pointer algorithm, at most
/// O(text × pattern) steps.
struct GlobPattern: Sendable {
    enum Token: Sendable, Equatable {
        case literal([UInt8])
        case anyCharacter
        case anyString
    }

    let tokens: [Token]
    let cased: Bool

    init(_ value: SigmaString, cased: Bool) {
        self.cased = cased
        tokens = value.parts.compactMap { part in
            switch part {
            case .literal(let bytes): return .literal(cased ? bytes : ASCII.lowercased(bytes))
            case .anyString: return .anyString
            case .anyCharacter: return .anyCharacter
            case .placeholder: return nil
            }
        }
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var t = 0  // position in text
        var p = 0  // token index
        var starToken = -1
        var starText = 0
        while true {
            if p < tokens.count {
                switch tokens[p] {
                case .anyString:
                    starToken = p
                    starText = t
                    p += 1
                    continue
                case .anyCharacter:
                    if t < text.count {
                        t += GlobPattern.characterLength(text, t)
                        p += 1
                        continue
                    }
                case .literal(let bytes):
                    let fits = bytes.withUnsafeBufferPointer { literal in
                        text.count - t >= literal.count && ASCII.matchesAt(text, t, literal, cased: cased)
                    }
                    if fits {
                        t += bytes.count
                        p += 1
                        continue
                    }
                }
            } else if t == text.count {
                return true
            }
            // Mismatch: let the last `*` swallow one more character, if there is one.
            guard starToken >= 0, starText < text.count else { return false }
            starText += GlobPattern.characterLength(text, starText)
            t = starText
            p = starToken + 1
        }
    }

    /// Length of the UTF-8 character starting at `i` (1 for a stray continuation byte).
    @inline(__always)
    static func characterLength(_ text: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let c = text[i]
        var length = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
        length = min(length, text.count - i)
        return max(length, 1)
    }
}
