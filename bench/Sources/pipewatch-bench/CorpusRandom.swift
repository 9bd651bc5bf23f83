import Foundation
import PipewatchEvents

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
struct CorpusRandom {
    var s0: UInt64
    var s1: UInt64
    var s2: UInt64
    var s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x)
        s1 = splitMix(&x)
        s2 = splitMix(&x)
        s3 = splitMix(&x)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    /// Uniform in `0..<n` (multiply-high; the bias is far below anything a benchmark can observe).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: UInt64(truncatingIfNeeded: n).multipliedFullWidth(by: next()).high)
    }

    /// True with probability `p` percent.
    @inline(__always)
    mutating func percent(_ p: Int) -> Bool { below(100) < p }

    /// True with probability `p` per ten thousand.
    @inline(__always)
    mutating func perTenThousand(_ p: Int) -> Bool { below(10_000) < p }

    @inline(__always)
    func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
