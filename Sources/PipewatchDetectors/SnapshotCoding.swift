import CCacheHints
import Foundation

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
