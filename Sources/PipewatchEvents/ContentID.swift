import PipewatchJSON

/// The id of a record whose source gave it none (CloudTrail without eventID, Kubernetes without auditID, GCP without
/// insertId, MLflow without a delivery id): `mmh3:` and the 32 hex digits of MurmurHash3 x64 128 (seed 0) over the
/// record's JSON text with the whitespace between tokens removed. So the same record gets the same id whether it
/// came pretty-printed, in an array or on one line; anything else (a changed value, key order or escape) is another
/// record. Python's `mmh3.hash_bytes(text).hex()` computes the same digits from the compacted text.
public enum ContentID {
    public static let prefix: StaticString = "mmh3:"
    /// `prefix` and 32 hex digits.
    public static let length = 37

    /// Writes the id of the JSON value `text` to `out` (`length` bytes) without allocating.
    public static func write(_ text: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        var hash = Murmur3x64x128()
        if let base = text.baseAddress { hashWithoutLayout(base, text.count, into: &hash) }
        write(hash.finish(), into: out)
    }

    /// Writes the id of the parsed value at `index` to `out` (`length` bytes) without allocating. A value written
    /// without layout whitespace (as NDJSON records are) is hashed as it is, a block at a time; the tape tells.
    public static func write(_ document: JSONDocument, _ index: UInt32, into out: UnsafeMutablePointer<UInt8>) {
        let text = document.jsonText(index)
        var hash = Murmur3x64x128()
        if let base = text.baseAddress {
            if compactLength(document, index) == text.count {
                hash.add(base, text.count)
            } else {
                hashWithoutLayout(base, text.count, into: &hash)
            }
        }
        write(hash.finish(), into: out)
    }

    /// The length of the value's JSON text without whitespace between tokens: its scalars as written (strings with
    /// their quotes), two brackets per container, a colon per member and a comma between entries. The tape holds
    /// keys and values as nodes, so the colons and commas of all containers are the nodes below the value less one
    /// per non-empty container.
    static func compactLength(_ document: JSONDocument, _ index: UInt32) -> Int {
        let end = document[index].next
        var length = 0
        var k = index
        while k < end {
            let node = document[k]
            switch node.kind {
            case .object, .array:
                length += node.next > k &+ 1 ? 1 : 2  // brackets, less the one comma fewer than entries
            case .string:
                length += node.byteCount + 2
            default:
                length += node.byteCount
            }
            k &+= 1
        }
        // Each node below the value is a key (its colon) or an entry (its comma, one fewer per non-empty container).
        return length + Int(end &- index &- 1)
    }

    private static func write(_ digest: (UInt64, UInt64), into out: UnsafeMutablePointer<UInt8>) {
        let (h1, h2) = digest
        let prefixCount = prefix.utf8CodeUnitCount
        out.update(from: prefix.utf8Start, count: prefixCount)
        let hex: StaticString = "0123456789abcdef"
        // The digest's bytes in order: h1 then h2, each little-endian (as the reference implementation writes them).
        func writeHex(_ word: UInt64, at start: Int) {
            for byteIndex in 0..<8 {
                let byte = Int((word >> UInt64(byteIndex * 8)) & 0xff)
                out[start + byteIndex * 2] = hex.utf8Start[byte >> 4]
                out[start + byteIndex * 2 + 1] = hex.utf8Start[byte & 0xf]
            }
        }
        writeHex(h1, at: prefixCount)
        writeHex(h2, at: prefixCount + 16)
    }

    /// Hashes the runs of `text` between the whitespace outside strings, jumping from one byte that may matter
    /// (whitespace, a quote, a backslash: valid JSON has no other byte below 0x21 outside strings) to the next,
    /// eight bytes at a time; a compact record is one run, hashed block by block.
    private static func hashWithoutLayout(_ p: UnsafePointer<UInt8>, _ n: Int, into hash: inout Murmur3x64x128) {
        let raw = UnsafeRawPointer(p)
        @inline(__always) func next(_ from: Int) -> Int {
            var i = from
            while i + 8 <= n {
                let mask = mayMatter(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                // Little-endian: the lowest flagged byte is the first in memory, and the lowest flag is exact.
                if mask != 0 { return i + mask.trailingZeroBitCount >> 3 }
                i += 8
            }
            while i < n {
                let byte = p[i]
                if byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return i }
                i += 1
            }
            return n
        }
        var inString = false
        var runStart = 0
        var i = next(0)
        while i < n {
            let byte = p[i]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    i = next(i + 2)  // the escaped character, whatever it is, belongs to the string
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else {
                hash.add(p + runStart, i - runStart)
                runStart = i + 1
            }
            i = next(i + 1)
        }
        if n > runStart { hash.add(p + runStart, n - runStart) }
    }

    /// A flag (0x80) in each byte of `word` below 0x21, a quote or a backslash; the lowest flag is exact, the ones
    /// above it may not be (SWAR borrow), which is all `next` needs.
    @inline(__always)
    private static func mayMatter(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below = (word &- ones &* 0x21) & ~word & highs
        return below | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5c))
    }

    public static func string(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
                write(bytes, into: buffer.baseAddress!)
                return String(decoding: UnsafeBufferPointer(start: buffer.baseAddress, count: length), as: UTF8.self)
            }
        }
    }
}

/// MurmurHash3 x64 128 (Austin Appleby's public-domain algorithm), seed 0, over bytes given in pieces.
struct Murmur3x64x128 {
    private var h1: UInt64 = 0
    private var h2: UInt64 = 0
    /// The bytes of an unfinished 16-byte block, as two little-endian words.
    private var k1: UInt64 = 0
    private var k2: UInt64 = 0
    private var pending = 0
    private var total: UInt64 = 0

    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    private static func fmix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    @inline(__always)
    private static func mixK1(_ k: UInt64) -> UInt64 { rotl(k &* c1, 31) &* c2 }
    @inline(__always)
    private static func mixK2(_ k: UInt64) -> UInt64 { rotl(k &* c2, 33) &* c1 }

    @inline(__always)
    private mutating func block(_ a: UInt64, _ b: UInt64) {
        h1 ^= Self.mixK1(a)
        h1 = Self.rotl(h1, 27) &+ h2
        h1 = h1 &* 5 &+ 0x52dc_e729
        h2 ^= Self.mixK2(b)
        h2 = Self.rotl(h2, 31) &+ h1
        h2 = h2 &* 5 &+ 0x3849_5ab5
    }

    @inline(__always)
    private mutating func addByte(_ byte: UInt8) {
        if pending < 8 {
            k1 |= UInt64(byte) << (UInt64(pending) * 8)
        } else {
            k2 |= UInt64(byte) << (UInt64(pending - 8) * 8)
        }
        pending += 1
        if pending == 16 {
            block(k1, k2)
            k1 = 0
            k2 = 0
            pending = 0
        }
    }

    /// Appends `count` bytes at `p` to what is hashed.
    mutating func add(_ p: UnsafePointer<UInt8>, _ count: Int) {
        total &+= UInt64(count)
        var i = 0
        while pending != 0 && i < count {
            addByte(p[i])
            i += 1
        }
        let raw = UnsafeRawPointer(p)
        while i + 16 <= count {
            block(
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)))
            i += 16
        }
        while i < count {
            addByte(p[i])
            i += 1
        }
    }

    mutating func finish() -> (UInt64, UInt64) {
        if pending > 8 { h2 ^= Self.mixK2(k2) }
        if pending > 0 { h1 ^= Self.mixK1(k1) }
        h1 ^= total
        h2 ^= total
        h1 &+= h2
        h2 &+= h1
        h1 = Self.fmix(h1)
        h2 = Self.fmix(h2)
        h1 &+= h2
        h2 &+= h1
        return (h1, h2)
    }
}
