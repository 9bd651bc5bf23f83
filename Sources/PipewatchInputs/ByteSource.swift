import CZlib
import CZstd
import Foundation

/// Why an input could not be read (to the end). The records read before the failure are still processed.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var input: String
    public var message: String
    /// Where reading stopped, in bytes of the decompressed stream: every byte before it was read.
    public var offset: Int64?
    /// Where the damage is in the file as stored (compressed), when it differs from `offset`.
    public var storedOffset: Int64?

    public init(_ input: String, _ message: String, offset: Int64? = nil, storedOffset: Int64? = nil) {
        self.input = input
        self.message = message
        self.offset = offset
        self.storedOffset = storedOffset
    }

    public var description: String { "\(input): \(message)" }
}

/// A stream of bytes: a file, stdin, or a decompressor over one of those.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; returns 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
    /// Compressed bytes consumed so far (for progress and the summary).
    var bytesConsumed: Int64 { get }
}

/// Compression of an input, detected from its first bytes rather than its name.
public enum Compression: String, Sendable {
    case none, gzip, zstd

    static func detect(_ head: UnsafeRawBufferPointer) -> Compression {
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B { return .gzip }
        if head.count >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD { return .zstd }
        return .none
    }
}

/// Reads a file descriptor, with the first bytes kept aside so the compression can be detected without seeking
/// (stdin cannot seek).
public final class FileSource: ByteSource {
    let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var head: [UInt8] = []
    private var headOffset = 0
    public private(set) var bytesConsumed: Int64 = 0

    /// Opens a path, or stdin for "-".
    public init(path: String) throws(InputError) {
        name = path
        if path == "-" {
            fd = 0
            ownsDescriptor = false
        } else {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw InputError(path, "cannot open: \(String(cString: strerror(errno)))") }
            fd = descriptor
            ownsDescriptor = true
        }
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// Reads up to `count` bytes and keeps them to be read again.
    func peek(_ count: Int) throws(InputError) -> [UInt8] {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { bytes.deallocate() }
        var filled = 0
        while filled < count {
            let n = try rawRead(UnsafeMutableRawBufferPointer(rebasing: bytes[filled...]))
            if n == 0 { break }
            filled += n
        }
        head = Array(bytes[0..<filled])
        headOffset = 0
        return head
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if headOffset < head.count {
            let n = min(buffer.count, head.count - headOffset)
            head[headOffset..<(headOffset + n)].withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            headOffset += n
            return n
        }
        return try rawRead(buffer)
    }

    private func rawRead(_ buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 {
                bytesConsumed += Int64(n)
                return n
            }
            if errno == EINTR { continue }
            throw InputError(name, "read failed: \(String(cString: strerror(errno)))")
        }
    }
}

extension Compression {
    /// Opens a path (or "-") and wraps it in the decompressor its first bytes call for.
    public static func open(_ path: String) throws(InputError) -> (ByteSource, Compression) {
        let file = try FileSource(path: path)
        let head = try file.peek(4)
        let compression = head.withUnsafeBytes { detect($0) }
        if compression == .none && !head.isEmpty && head.count < 4 {
            // The whole file is the start of a magic number: a compressed stream cut inside its header.
            for (kind, magic) in [("gzip", [0x1F, 0x8B] as [UInt8]), ("zstd", [0x28, 0xB5, 0x2F, 0xFD])]
            where head.count < magic.count && Array(magic[0..<head.count]) == head {
                throw InputError(path, "\(kind) stream is truncated (ended inside its header)", offset: 0, storedOffset: Int64(head.count))
            }
        }
        switch compression {
        case .none: return (file, .none)
        case .gzip: return (try GzipSource(name: path, inner: file), .gzip)
        case .zstd: return (try ZstdSource(name: path, inner: file), .zstd)
        }
    }
}
