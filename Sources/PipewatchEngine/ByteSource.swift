import CZlib
import CZstd
import Foundation

/// Why an input could not be read (to the end). The records read before the failure are still processed.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var input: String
    public var message: String

    public init(_ input: String, _ message: String) {
        self.input = input
        self.message = message
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

/// Streaming gzip (RFC 1952) through zlib; concatenated members are read one after another, as gzip does.
public final class GzipSource: ByteSource {
    private let name: String
    private let inner: ByteSource
    private var stream = z_stream()
    private var input: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 256 << 10
    private var finished = false
    private var memberEnded = false

    public var bytesConsumed: Int64 { inner.bytesConsumed }

    init(name: String, inner: ByteSource) throws(InputError) {
        self.name = name
        self.inner = inner
        input = .allocate(capacity: inputCapacity)
        // 16 + MAX_WBITS: gzip header and trailer expected.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            input.deallocate()
            throw InputError(name, "cannot start gzip decompression")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if finished { return 0 }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(buffer.count)
        while stream.avail_out > 0 {
            if stream.avail_in == 0 {
                let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: inputCapacity))
                if n == 0 {
                    if !memberEnded { throw InputError(name, "gzip stream is truncated (ended inside compressed data)") }
                    finished = true
                    break
                }
                stream.next_in = input
                stream.avail_in = UInt32(n)
                if memberEnded {
                    // Another gzip member follows the one that ended.
                    inflateReset(&stream)
                    memberEnded = false
                }
            }
            let status = inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                memberEnded = true
                if stream.avail_in > 0 {
                    inflateReset(&stream)
                    memberEnded = false
                }
                continue
            }
            if status == Z_BUF_ERROR { continue }  // needs more input
            guard status == Z_OK else {
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw InputError(name, "gzip data is corrupt: \(detail)")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }
}

/// Streaming zstd through libzstd's ZSTD_decompressStream.
public final class ZstdSource: ByteSource {
    private let name: String
    private let inner: ByteSource
    private let context: OpaquePointer
    private var input: UnsafeMutableRawPointer
    private let inputCapacity = ZSTD_DStreamInSize()
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var frameComplete = true
    private var finished = false

    public var bytesConsumed: Int64 { inner.bytesConsumed }

    init(name: String, inner: ByteSource) throws(InputError) {
        self.name = name
        self.inner = inner
        guard let context = ZSTD_createDStream() else { throw InputError(name, "cannot start zstd decompression") }
        self.context = context
        input = .allocate(byteCount: inputCapacity, alignment: 16)
        ZSTD_initDStream(context)
    }

    deinit {
        ZSTD_freeDStream(context)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if finished { return 0 }
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos < out.size {
            if inBuffer.pos == inBuffer.size {
                let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: inputCapacity))
                if n == 0 {
                    if !frameComplete { throw InputError(name, "zstd stream is truncated (ended inside a frame)") }
                    finished = true
                    break
                }
                inBuffer = ZSTD_inBuffer(src: input, size: n, pos: 0)
            }
            let result = ZSTD_decompressStream(context, &out, &inBuffer)
            if ZSTD_isError(result) != 0 {
                throw InputError(name, "zstd data is corrupt: \(String(cString: ZSTD_getErrorName(result)))")
            }
            frameComplete = result == 0
            // A frame can end with output still pending nowhere; keep reading the next frame if any.
            if result != 0 && inBuffer.pos == inBuffer.size && out.pos < out.size { continue }
        }
        return out.pos
    }
}

extension Compression {
    /// Opens a path (or "-") and wraps it in the decompressor its first bytes call for.
    public static func open(_ path: String) throws(InputError) -> (ByteSource, Compression) {
        let file = try FileSource(path: path)
        let head = try file.peek(4)
        let compression = head.withUnsafeBytes { detect($0) }
        switch compression {
        case .none: return (file, .none)
        case .gzip: return (try GzipSource(name: path, inner: file), .gzip)
        case .zstd: return (try ZstdSource(name: path, inner: file), .zstd)
        }
    }
}
