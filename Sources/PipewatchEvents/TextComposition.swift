import PipewatchJSON

/// Searches in decoded text without allocating (the normalizers' hot path). Literals are ASCII.
enum TextSearch {
    /// Where `needle` first starts in `bytes` at or after `start`.
    @inline(__always)
    static func find(_ needle: StaticString, in bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Int? {
        let count = needle.utf8CodeUnitCount
        guard count > 0, bytes.count >= count else { return nil }
        let first = needle.utf8Start[0]
        var i = start
        while i + count <= bytes.count {
            if bytes[i] == first && bytesEqual(bytes.baseAddress! + i, needle.utf8Start, count) { return i }
            i += 1
        }
        return nil
    }

    /// Where `needle` last starts in `bytes`.
    static func findLast(_ needle: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = needle.utf8CodeUnitCount
        guard count > 0, bytes.count >= count else { return nil }
        var i = bytes.count - count
        while i >= 0 {
            if bytesEqual(bytes.baseAddress! + i, needle.utf8Start, count) { return i }
            i -= 1
        }
        return nil
    }

    @inline(__always)
    static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        find(needle, in: bytes) != nil
    }

    @inline(__always)
    static func contains(_ bytes: UnsafeBufferPointer<UInt8>, byte: UInt8) -> Bool {
        bytes.firstIndex(of: byte) != nil
    }

    static func hasSuffix(_ bytes: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        return bytes.count >= count && bytesEqual(bytes.baseAddress! + (bytes.count - count), suffix.utf8Start, count)
    }

    /// Prefix test ignoring ASCII case (URI schemes and host names are case-insensitive).
    static func hasPrefixIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let p = prefix.utf8Start
        for k in 0..<count where lowercased(bytes[k]) != p[k] { return false }
        return true
    }

    static func hasSuffixIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let s = suffix.utf8Start
        let base = bytes.count - count
        for k in 0..<count where lowercased(bytes[base + k]) != s[k] { return false }
        return true
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

extension TextArena {
    func append(_ literal: StaticString) {
        appendBytes(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

extension Normalizer {
    /// `[from, to)` of a string value's decoded text: a range of the record when the value has no escapes (no
    /// copy), else a copy in the arena.
    func slice(_ doc: JSONDocument, _ index: UInt32, _ from: Int, _ to: Int, _ arena: TextArena) -> TextRef {
        guard index != 0, to > from, doc[index].kind == .string else { return .missing }
        let node = doc[index]
        if !node.isEscaped {
            return TextRef(offset: node.start &+ UInt32(from), length: UInt32(to - from), flags: TextRef.present)
        }
        return doc.withString(index) { arena.append(UnsafeBufferPointer(rebasing: $0[from..<to])) }
    }

    /// Calls `body` with a string value's decoded bytes; nil (without calling) when the value is not a string.
    @inline(__always)
    func withString<R>(_ doc: JSONDocument, _ index: UInt32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard index != 0, doc[index].kind == .string else { return nil }
        return doc.withString(index, body)
    }

    /// Calls `body` with the decoded bytes of a text the normalizer has set (in the record or in the arena).
    func withText<R>(_ ref: TextRef, _ doc: JSONDocument, _ arena: TextArena, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard ref.isPresent else { return nil }
        let base = ref.flags & TextRef.inArena != 0 ? UnsafePointer(arena.bytes) : doc.bytes
        let raw = UnsafeBufferPointer(start: base + Int(ref.offset), count: Int(ref.length))
        guard ref.flags & TextRef.escaped != 0 else { return body(raw) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(raw.count, 1)) { buffer in
            let count = JSONString.unescape(raw, into: buffer.baseAddress!)
            return body(UnsafeBufferPointer(start: buffer.baseAddress, count: count))
        }
    }

    /// The first element of an array value (Kubernetes `user.extra` values are lists of strings).
    @inline(__always)
    func firstElement(_ doc: JSONDocument, _ index: UInt32?) -> UInt32 {
        guard let index, doc[index].kind == .array else { return 0 }
        return doc.element(index, at: 0) ?? 0
    }

    /// A member of an object by either spelling (CloudTrail writes API members in camelCase, other exports in the
    /// API's own PascalCase).
    @inline(__always)
    func member(_ doc: JSONDocument, _ object: UInt32, _ key: StaticString, _ alternative: StaticString) -> UInt32 {
        guard object != 0 else { return 0 }
        return doc.member(object, key) ?? doc.member(object, alternative) ?? 0
    }
}
