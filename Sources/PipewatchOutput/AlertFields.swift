import PipewatchEvents
import PipewatchJSON

/// The normalized fields an alert carries, in one byte buffer: a header of (start, length) per `EventField`
/// (start `absent` when the event has no such field), then the fields' UTF-8 bytes. One allocation per alert
/// instead of a String per field; formatters read the bytes, and `String`s are made only when asked for.
public struct AlertFields: Sendable {
    private var storage: [UInt8]

    private static let count = EventField.allCases.count
    private static let headerSize = count * 8
    private static let absent = UInt32.max

    /// Copies the fields of an event (escapes decoded). Text that is not valid UTF-8 (which the parser does not let
    /// through, but a normalizer's slice could make) is kept as `String` would repair it.
    public init(view: EventView) {
        var total = AlertFields.headerSize
        let fields = view.eventPointer
        for k in 0..<AlertFields.count {
            let ref = fields.pointee.fields[k]
            if ref.isPresent { total += Int(ref.length) }  // an upper bound: decoding escapes only shortens
        }
        var valid = true
        storage = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let base = buffer.baseAddress!
            var end = AlertFields.headerSize
            for k in 0..<AlertFields.count {
                let copied = view.withField(EventField(rawValue: k)!) { text -> Int in
                    if let source = text.baseAddress { (base + end).update(from: source, count: text.count) }
                    if !JSONWriter.isASCII(text) && !JSONWriter.isValidUTF8(text) { valid = false }
                    return text.count
                }
                AlertFields.setSpan(base, k, start: copied == nil ? AlertFields.absent : UInt32(end), length: UInt32(copied ?? 0))
                end += copied ?? 0
            }
            initialized = end
        }
        if !valid { self = AlertFields(EventField.allCases.map { view.string($0) }) }
    }

    /// Fields from strings, indexed by `EventField.rawValue` (nil where absent; missing entries are absent).
    public init(_ values: [String?]) {
        var bytes = [UInt8](repeating: 0, count: AlertFields.headerSize)
        for k in 0..<AlertFields.count {
            guard k < values.count, let value = values[k] else {
                bytes.withUnsafeMutableBufferPointer { AlertFields.setSpan($0.baseAddress!, k, start: AlertFields.absent, length: 0) }
                continue
            }
            let start = UInt32(bytes.count)
            bytes.append(contentsOf: value.utf8)
            let length = UInt32(bytes.count) - start
            bytes.withUnsafeMutableBufferPointer { AlertFields.setSpan($0.baseAddress!, k, start: start, length: length) }
        }
        storage = bytes
    }

    @inline(__always)
    private static func setSpan(_ base: UnsafeMutablePointer<UInt8>, _ k: Int, start: UInt32, length: UInt32) {
        UnsafeMutableRawPointer(base + k * 8).storeBytes(of: start, as: UInt32.self)
        UnsafeMutableRawPointer(base + k * 8 + 4).storeBytes(of: length, as: UInt32.self)
    }

    public func isPresent(_ field: EventField) -> Bool {
        storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: field.rawValue * 8, as: UInt32.self) } != AlertFields.absent
    }

    /// Calls `body` with the field's UTF-8 bytes; nil (without calling) when the field is absent.
    @inline(__always)
    public func withBytes<R>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try storage.withUnsafeBufferPointer { buffer -> R? in
            let raw = UnsafeRawPointer(buffer.baseAddress!)
            let start = raw.loadUnaligned(fromByteOffset: field.rawValue * 8, as: UInt32.self)
            guard start != AlertFields.absent else { return nil }
            let length = raw.loadUnaligned(fromByteOffset: field.rawValue * 8 + 4, as: UInt32.self)
            return try body(UnsafeBufferPointer(start: buffer.baseAddress! + Int(start), count: Int(length)))
        }
    }

    public subscript(field: EventField) -> String? {
        withBytes(field) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every field as a String (nil where absent), indexed by `EventField.rawValue`.
    public var strings: [String?] { EventField.allCases.map { self[$0] } }
}
