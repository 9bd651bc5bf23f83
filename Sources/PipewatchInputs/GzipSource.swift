import CZlib
import Foundation

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
