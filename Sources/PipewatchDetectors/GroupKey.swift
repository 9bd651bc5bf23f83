import CCacheHints
import Foundation

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
