import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// The field values a record carries, packed in one byte array: a header with the number of values and, per value,
/// its start and length (length −1: absent), then the UTF-8 bytes. One allocation per record, no string objects:
/// group keys and hashes read the bytes in place.
struct FieldValues: Equatable {
    private(set) var storage: [UInt8]

    init(_ strings: [String?]) {
        var builder = Builder(count: strings.count, capacity: strings.reduce(0) { $0 + ($1?.utf8.count ?? 0) })
        for string in strings { builder.append(string) }
        self = builder.values
    }

    /// Values stored by `storage` (checked: a snapshot may be damaged).
    init?(storage: [UInt8]) {
        guard storage.count >= 4 else { return nil }
        let count = storage.withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
        guard count <= (storage.count - 4) / 8 else { return nil }
        for k in 0..<count {
            let (start, length) = storage.withUnsafeBytes {
                (Int($0.loadUnaligned(fromByteOffset: 4 + 8 * k, as: Int32.self)), Int($0.loadUnaligned(fromByteOffset: 8 + 8 * k, as: Int32.self)))
            }
            guard length < 0 || (start >= 4 + 8 * count && start + length <= storage.count) else { return nil }
        }
        self.storage = storage
    }

    private init(built storage: [UInt8]) { self.storage = storage }

    @inline(__always)
    var count: Int { storage.withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) } }

    /// Where the bytes are (valid while this value lives; for prefetching only).
    @inline(__always)
    var address: UnsafeRawPointer? { storage.withUnsafeBytes { $0.baseAddress } }

    /// Calls `body` with the bytes of value `k`; nil (without calling) when it is absent.
    @inline(__always)
    func withValue<R>(_ k: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        storage.withUnsafeBytes { raw in
            let start = Int(raw.loadUnaligned(fromByteOffset: 4 + 8 * k, as: Int32.self))
            let length = Int(raw.loadUnaligned(fromByteOffset: 8 + 8 * k, as: Int32.self))
            if length < 0 { return nil }
            return body(UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
        }
    }

    func string(_ k: Int) -> String? { withValue(k) { String(decoding: $0, as: UTF8.self) } }

    /// The 64-bit hash of value `k`, nil when absent.
    @inline(__always)
    func hash(_ k: Int) -> UInt64? { withValue(k) { Hash64.hash($0) } }

    var strings: [String?] { (0..<count).map(string) }

    /// Builds values one by one, in slot order.
    struct Builder {
        private var storage: [UInt8]
        private let count: Int
        private var next = 0

        init(count: Int, capacity: Int = 64) {
            self.count = count
            storage = []
            storage.reserveCapacity(4 + 8 * count + capacity)
            withUnsafeBytes(of: UInt32(count).littleEndian) { storage.append(contentsOf: $0) }
            storage.append(contentsOf: repeatElement(0, count: 8 * count))
        }

        private mutating func header(start: Int, length: Int) {
            let offset = 4 + 8 * next
            storage.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: Int32(start).littleEndian, toByteOffset: offset, as: Int32.self)
                raw.storeBytes(of: Int32(length).littleEndian, toByteOffset: offset + 4, as: Int32.self)
            }
            next += 1
        }

        mutating func append(bytes: UnsafeRawBufferPointer) {
            header(start: storage.count, length: bytes.count)
            storage.append(contentsOf: bytes)
        }

        mutating func appendAbsent() { header(start: 0, length: -1) }

        mutating func append(_ string: String?) {
            guard var string else { return appendAbsent() }
            string.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
        }

        /// Value `k` of other values.
        mutating func append(_ values: FieldValues, _ k: Int) {
            if values.withValue(k, { append(bytes: $0) }) == nil { appendAbsent() }
        }

        var values: FieldValues {
            precondition(next == count, "every value must be appended")
            return FieldValues(built: storage)
        }
    }
}
