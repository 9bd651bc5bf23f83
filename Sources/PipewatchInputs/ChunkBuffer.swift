/// Memory that records are read into. A `RecordReader` reads through one; when it hands its chunks off to other
/// threads (`RecordReader.read(_:nextBuffer:handOff:)`) each chunk keeps its buffer until its receiver is done with
/// it, and the reader goes on in another.
public final class ChunkBuffer {
    public private(set) var bytes: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
    }

    deinit { bytes.deallocate() }

    /// Makes room for `newCapacity` bytes, keeping the first `keeping`.
    func resize(to newCapacity: Int, keeping: Int) {
        let newBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBytes.update(from: bytes, count: keeping)
        bytes.deallocate()
        bytes = newBytes
        capacity = newCapacity
    }
}
