/// Reads a fuzz input as a sequence of small decisions and pieces, so one byte string drives a structured case.
/// Reading past the end yields zeros and empty pieces: every input is a valid case.
public struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return Int64(bitPattern: value)
    }

    /// A piece: a length byte, then that many bytes (fewer at the end of the input).
    public mutating func piece() -> [UInt8] {
        let length = Int(byte())
        let end = min(bytes.count, position + length)
        defer { position = end }
        return position < end ? Array(bytes[position..<end]) : []
    }

    /// A piece as text (invalid UTF-8 replaced, as every Swift string is valid Unicode).
    public mutating func text() -> String { String(decoding: piece(), as: UTF8.self) }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return position < bytes.count ? Array(bytes[position...]) : []
    }
}

/// Writes inputs in `FuzzInput`'s layout (for seed corpora and regression tests).
public struct FuzzInputBuilder {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    public mutating func int64(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// A piece of at most 255 bytes (longer text is cut).
    public mutating func piece(_ value: some Collection<UInt8>) {
        let cut = Array(value.prefix(255))
        bytes.append(UInt8(cut.count))
        bytes.append(contentsOf: cut)
    }

    public mutating func text(_ value: String) { piece(Array(value.utf8)) }

    public mutating func rest(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }
}
