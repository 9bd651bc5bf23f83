import CZstd
import Foundation

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
