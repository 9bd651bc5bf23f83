/// The growable byte buffer `JSONWriter` writes into: an append is a capacity check and a copy, where an Array's
/// `append(contentsOf:)` costs several times that for the short pieces JSON is made of. Copy-on-write, like an
/// Array: a copied writer never writes into the bytes of the one it was copied from.
struct OutputBytes: @unchecked Sendable {
    final class Storage {
        let pointer: UnsafeMutablePointer<UInt8>
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            pointer = .allocate(capacity: capacity)
        }

        deinit { pointer.deallocate() }
    }

    private var storage: Storage
    private(set) var count = 0

    init(capacity: Int) { storage = Storage(capacity: max(capacity, 16)) }

    /// Room for `additional` more bytes at the end; returns where they go.
    @inline(__always)
    private mutating func reserve(_ additional: Int) -> UnsafeMutablePointer<UInt8> {
        if count &+ additional > storage.capacity || !isKnownUniquelyReferenced(&storage) { grow(additional) }
        return storage.pointer + count
    }

    @inline(never)
    private mutating func grow(_ additional: Int) {
        var capacity = storage.capacity
        while capacity < count + additional { capacity *= 2 }
        let grown = Storage(capacity: capacity)
        grown.pointer.update(from: storage.pointer, count: count)
        storage = grown
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count).update(from: source, count: bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Forgets the bytes; keeps the capacity.
    mutating func removeAll() { count = 0 }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }
}
