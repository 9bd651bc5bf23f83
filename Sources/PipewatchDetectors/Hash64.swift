import CCacheHints
import Foundation

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
