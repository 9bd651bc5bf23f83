import Foundation  // memcmp
import PipewatchJSON

/// Text the normalizers compose (joined names, constants) for one batch of events. It starts with every constant
/// the normalizers use, so constants cost nothing per event; `reset` keeps them.
public final class TextArena: @unchecked Sendable {
    public private(set) var bytes: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int
    private let constantsEnd: Int
    private let constantRefs: [TextRef]

    public init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
        var refs: [TextRef] = []
        var end = 0
        for constant in ArenaConstant.allCases {
            let utf8 = Array(constant.text.utf8)
            (bytes + end).update(from: utf8, count: utf8.count)
            refs.append(TextRef(offset: UInt32(end), length: UInt32(utf8.count), flags: TextRef.present | TextRef.inArena))
            end += utf8.count
        }
        constantRefs = refs
        constantsEnd = end
        count = end
    }

    deinit { bytes.deallocate() }

    /// Forgets the composed text of the last batch; keeps the constants.
    public func reset() { count = constantsEnd }

    @inline(__always)
    public func constant(_ constant: ArenaConstant) -> TextRef { constantRefs[constant.rawValue] }

    @discardableResult
    public func append(_ text: UnsafeBufferPointer<UInt8>) -> TextRef {
        let start = count
        appendBytes(text)
        return TextRef(offset: UInt32(start), length: UInt32(text.count), flags: TextRef.present | TextRef.inArena)
    }

    /// Starts a composed text; finish it with `finish(from:)`.
    @inlinable public var mark: Int { count }

    public func appendBytes(_ text: UnsafeBufferPointer<UInt8>) {
        guard !text.isEmpty else { return }
        if count + text.count > capacity { grow(count + text.count) }
        (bytes + count).update(from: text.baseAddress!, count: text.count)
        count += text.count
    }

    public func appendByte(_ byte: UInt8) {
        if count + 1 > capacity { grow(count + 1) }
        bytes[count] = byte
        count += 1
    }

    public func finish(from mark: Int) -> TextRef {
        TextRef(offset: UInt32(mark), length: UInt32(count - mark), flags: TextRef.present | TextRef.inArena)
    }

    private func grow(_ minimum: Int) {
        var newCapacity = capacity * 2
        while newCapacity < minimum { newCapacity *= 2 }
        let newBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBytes.update(from: bytes, count: count)
        bytes.deallocate()
        bytes = newBytes
        capacity = newCapacity
    }
}

/// An event together with the bytes its text lives in: what rules, detectors and formatters read.
/// Valid while the batch that produced it is alive and unchanged.
public struct EventView: @unchecked Sendable {
    public let document: JSONDocument
    public let arena: UnsafePointer<UInt8>
    public let eventPointer: UnsafePointer<Event>

    @inlinable
    public init(document: JSONDocument, arena: UnsafePointer<UInt8>, event: UnsafePointer<Event>) {
        self.document = document
        self.arena = arena
        eventPointer = event
    }

    @inlinable public var event: Event { eventPointer.pointee }
    @inlinable public var source: EventSource { eventPointer.pointee.source }
    @inlinable public var record: UInt32 { eventPointer.pointee.record }

    /// Calls `body` with the UTF-8 bytes of a text (escapes decoded); nil text gives nil without calling.
    @inlinable
    public func withText<R>(_ ref: TextRef, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        guard ref.isPresent else { return nil }
        let base = ref.flags & TextRef.inArena != 0 ? arena : document.bytes
        let raw = UnsafeBufferPointer(start: base + Int(ref.offset), count: Int(ref.length))
        guard ref.flags & TextRef.escaped != 0 else { return try body(raw) }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(raw.count, 1)) { buffer in
            let count = JSONString.unescape(raw, into: buffer.baseAddress!)
            return try body(UnsafeBufferPointer(start: buffer.baseAddress, count: count))
        }
    }

    @inlinable
    public func withField<R>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withText(eventPointer.pointee.fields[field.rawValue], body)
    }

    public func string(_ field: EventField) -> String? {
        withField(field) { String(decoding: $0, as: UTF8.self) }
    }

    /// The event time as RFC 3339 text (milliseconds, UTC), or nil.
    public var timeText: String? {
        let time = eventPointer.pointee.time
        guard time != Event.unknownTime else { return nil }
        return Timestamp.format(milliseconds: time)
    }
}
