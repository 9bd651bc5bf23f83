import Foundation  // memcmp, strtod

/// A read-only view of parsed records: the input bytes and the tape that indexes them. It is only valid while the
/// buffers it points into are alive and unchanged (the batch that owns them), which is what makes it free to copy.
@frozen
public struct JSONDocument: @unchecked Sendable {
    public let bytes: UnsafePointer<UInt8>
    public let nodes: UnsafePointer<JSONNode>

    @inlinable
    public init(bytes: UnsafePointer<UInt8>, nodes: UnsafePointer<JSONNode>) {
        self.bytes = bytes
        self.nodes = nodes
    }

    @inlinable
    public subscript(index: UInt32) -> JSONNode { nodes[Int(index)] }

    /// The raw bytes of a value: a string's body without quotes (escapes not decoded), or the whole text of
    /// any other value.
    @inlinable
    public func rawBytes(_ index: UInt32) -> UnsafeBufferPointer<UInt8> {
        let node = nodes[Int(index)]
        return UnsafeBufferPointer(start: bytes + Int(node.start), count: node.byteCount)
    }

    /// The full JSON text of a value (strings with their quotes).
    public func jsonText(_ index: UInt32) -> UnsafeBufferPointer<UInt8> {
        let node = nodes[Int(index)]
        if node.kind == .string {
            return UnsafeBufferPointer(start: bytes + Int(node.start) - 1, count: node.byteCount + 2)
        }
        return rawBytes(index)
    }

    /// Whether the text of the value at `index` has no whitespace between its tokens, so that it can be copied
    /// as it is where compact JSON is wanted. Told from the tape alone: compact text is exactly its tokens, two
    /// brackets per container and one separator before every value but the first of each container and the root;
    /// any other byte is whitespace.
    public func isCompact(_ index: UInt32) -> Bool {
        let root = nodes[Int(index)]
        var length = 0
        var k = Int(index)
        let end = Int(root.next)
        while k < end {
            let node = nodes[k]
            switch node.kind {
            case .string: length &+= node.byteCount &+ 3  // quotes and the separator before it
            case .object, .array: length &+= Int(node.next) == k &+ 1 ? 3 : 2  // brackets (and the first child's place)
            default: length &+= node.byteCount &+ 1
            }
            k &+= 1
        }
        length &-= 1  // the root has no separator before it
        let text = root.kind == .string ? root.byteCount + 2 : root.byteCount
        return length == text
    }

    // MARK: Objects and arrays

    /// The value of `key` in the object at `object`, or nil (also when `object` is not an object).
    @inlinable
    public func member(_ object: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let container = nodes[Int(object)]
        guard container.kind == .object else { return nil }
        var k = object &+ 1
        while k < container.next {
            if keyEquals(k, key) { return k &+ 1 }
            k = nodes[Int(k &+ 1)].next
        }
        return nil
    }

    @inlinable
    public func member(_ object: UInt32, _ key: StaticString) -> UInt32? {
        member(object, UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
    }

    public func member(_ object: UInt32, _ key: String) -> UInt32? {
        var key = key
        return key.withUTF8 { member(object, $0) }
    }

    /// Follows a chain of object keys (no array fan-out).
    @inlinable
    public func member(_ object: UInt32, _ first: StaticString, _ second: StaticString) -> UInt32? {
        guard let inner = member(object, first) else { return nil }
        return member(inner, second)
    }

    /// Whether the key node at `index` spells `key` (after decoding escapes, if it has any).
    @inlinable
    public func keyEquals(_ index: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let node = nodes[Int(index)]
        if !node.isEscaped {
            return node.byteCount == key.count && bytesEqual(bytes + Int(node.start), key.baseAddress!, key.count)
        }
        return withString(index) { decoded in
            decoded.count == key.count && (key.isEmpty || memcmp(decoded.baseAddress!, key.baseAddress!, key.count) == 0)
        }
    }

    /// Calls `body` with each key index and value index of an object, in order.
    @inlinable
    public func forEachMember(_ object: UInt32, _ body: (_ key: UInt32, _ value: UInt32) throws -> Void) rethrows {
        let container = nodes[Int(object)]
        guard container.kind == .object else { return }
        var k = object &+ 1
        while k < container.next {
            try body(k, k &+ 1)
            k = nodes[Int(k &+ 1)].next
        }
    }

    /// Calls `body` with each element index of an array, in order.
    @inlinable
    public func forEachElement(_ array: UInt32, _ body: (UInt32) throws -> Void) rethrows {
        let container = nodes[Int(array)]
        guard container.kind == .array else { return }
        var e = array &+ 1
        while e < container.next {
            try body(e)
            e = nodes[Int(e)].next
        }
    }

    /// The element at `position` of the array at `array`.
    public func element(_ array: UInt32, at position: Int) -> UInt32? {
        let container = nodes[Int(array)]
        guard container.kind == .array, position >= 0 else { return nil }
        var e = array &+ 1
        var k = 0
        while e < container.next {
            if k == position { return e }
            k += 1
            e = nodes[Int(e)].next
        }
        return nil
    }

    /// The number of members of an object or elements of an array.
    public func childCount(_ container: UInt32) -> Int {
        var count = 0
        let node = nodes[Int(container)]
        if node.kind == .object {
            forEachMember(container) { _, _ in count += 1 }
        } else if node.kind == .array {
            forEachElement(container) { _ in count += 1 }
        }
        return count
    }

    // MARK: Scalars

    /// Calls `body` with a string's UTF-8 bytes, decoding escapes into temporary storage only when it has any.
    @inlinable
    public func withString<R>(_ index: UInt32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let node = nodes[Int(index)]
        let raw = UnsafeBufferPointer(start: bytes + Int(node.start), count: node.byteCount)
        guard node.isEscaped else { return try body(raw) }
        // Decoding never makes a string longer: every escape is at least as long as what it stands for.
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(raw.count, 1)) { buffer in
            let count = JSONString.unescape(raw, into: buffer.baseAddress!)
            return try body(UnsafeBufferPointer(start: buffer.baseAddress, count: count))
        }
    }

    /// A string value decoded as a Swift `String`, or nil when the value is not a string.
    public func string(_ index: UInt32) -> String? {
        guard nodes[Int(index)].kind == .string else { return nil }
        return withString(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// A scalar as text: strings decoded, numbers and literals as written; nil for objects and arrays.
    public func scalarText(_ index: UInt32) -> String? {
        switch nodes[Int(index)].kind {
        case .string: return string(index)
        case .object, .array: return nil
        default: return String(decoding: rawBytes(index), as: UTF8.self)
        }
    }

    /// A number value (or a string holding a number) as a Double.
    public func double(_ index: UInt32) -> Double? {
        let node = nodes[Int(index)]
        guard node.kind == .number || node.kind == .string else { return nil }
        return JSONNumber.parseDouble(rawBytes(index))
    }

    /// A boolean value, or a string "true"/"false" (CloudTrail writes some booleans as strings).
    public func bool(_ index: UInt32) -> Bool? {
        switch nodes[Int(index)].kind {
        case .true: return true
        case .false: return false
        case .string:
            let raw = rawBytes(index)
            if JSONString.equalsIgnoringASCIICase(raw, "true") { return true }
            if JSONString.equalsIgnoringASCIICase(raw, "false") { return false }
            return nil
        default: return nil
        }
    }
}

/// Decoding and comparing JSON string bodies.
public enum JSONString {
    /// Decodes the escapes of a (validated) string body into `out`; returns the number of bytes written, which
    /// is never more than `raw.count`.
    public static func unescape(_ raw: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0
        var o = 0
        let n = raw.count
        while i < n {
            let c = raw[i]
            if c != UInt8(ascii: "\\") {
                out[o] = c
                o += 1
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out[o] = 0x08
            case UInt8(ascii: "f"): out[o] = 0x0C
            case UInt8(ascii: "n"): out[o] = 0x0A
            case UInt8(ascii: "r"): out[o] = 0x0D
            case UInt8(ascii: "t"): out[o] = 0x09
            case UInt8(ascii: "u"):
                var scalar = hexValue(raw, i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF && i + 6 <= n {
                    let low = hexValue(raw, i + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                o += encodeUTF8(scalar, out + o)
                continue
            default: out[o] = e  // '"', '\\', '/'
            }
            o += 1
        }
        return o
    }

    static func hexValue(_ raw: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | (JSONParser.hexDigit(raw[i + k]) ?? 0) }
        return value
    }

    static func encodeUTF8(_ scalar: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | scalar >> 6)
            out[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | scalar >> 12)
            out[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            out[0] = UInt8(0xF0 | scalar >> 18)
            out[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    public static func equalsIgnoringASCIICase(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let t = text.utf8Start
        for k in 0..<bytes.count where bytes[k] | 0x20 != t[k] | 0x20 { return false }
        return true
    }

    @inlinable
    public static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && (bytes.isEmpty || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0)
    }

    @inlinable
    public static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count >= text.utf8CodeUnitCount && memcmp(bytes.baseAddress!, text.utf8Start, text.utf8CodeUnitCount) == 0
    }
}

public enum JSONNumber {
    /// Parses a JSON number (or a decimal string) without allocating.
    public static func parseDouble(_ raw: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !raw.isEmpty, raw.count < 64 else {
            if raw.isEmpty { return nil }
            return Double(String(decoding: raw, as: UTF8.self))
        }
        // Integers (the common case) without strtod.
        var negative = false
        var k = 0
        if raw[0] == UInt8(ascii: "-") {
            negative = true
            k = 1
        }
        var value: Int64 = 0
        var digits = 0
        while k < raw.count, raw[k] &- UInt8(ascii: "0") < 10, digits < 18 {
            value = value * 10 + Int64(raw[k] &- UInt8(ascii: "0"))
            k += 1
            digits += 1
        }
        if k == raw.count && digits > 0 { return Double(negative ? -value : value) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: raw.count + 1) { buffer in
            for j in 0..<raw.count { buffer[j] = CChar(bitPattern: raw[j]) }
            buffer[raw.count] = 0
            var endPointer: UnsafeMutablePointer<CChar>?
            let result = strtod(buffer.baseAddress!, &endPointer)
            guard let endPointer, endPointer - buffer.baseAddress! == raw.count else { return nil }
            return result
        }
    }
}
