import CZstd
import Foundation

/// Streaming zstd through libzstd's ZSTD_decompressStream; frames one after another are read as one stream, as
/// `zstd -d` does. Damage (corrupt data, a truncated frame, garbage after a frame, a window over the limit) is
/// reported after every byte decompressed before it has been returned, with its offsets in both streams.
public final class ZstdSource: ByteSource {
    /// The largest window a frame may ask for, as a power of two: 2^27 = 128 MiB, what `zstd --long` writes by
    /// default and libzstd's own default limit. The decoder holds up to one window of history, so this bounds the
    /// memory a zstd input adds; a frame asking for more is an input error rather than an allocation.
    public static let maxWindowLog: Int32 = 27
    private let name: String
    private let inner: ByteSource
    private let context: OpaquePointer
    private var input: UnsafeMutableRawPointer
    private let inputCapacity = ZSTD_DStreamInSize()
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    /// True between frames: where the stream may end.
    private var frameComplete = true
    /// Offset in the stored file where the last complete frame ended, and what came out since.
    private var lastFrameEnd: Int64 = 0
    private var outputSinceFrameEnd = 0
    private var finished = false
    /// An error met after some output: returned with the next read, once that output has been taken.
    private var failure: InputError?
    /// Decompressed bytes returned so far.
    private var produced: Int64 = 0
    /// The input the decoder asks for next (a frame header's first bytes, then a block and the next block's header).
    private var wanted = ZstdSource.frameHeaderPrefix
    private static let frameHeaderPrefix = 5
    /// The last call filled the output: the decoder may hold more of the block.
    private var holdsOutput = false

    public var bytesConsumed: Int64 { inner.bytesConsumed }

    /// Offset in the stored file of the next compressed byte the decoder has not consumed.
    private var storedPosition: Int64 { inner.bytesConsumed - Int64(inBuffer.size - inBuffer.pos) }

    init(name: String, inner: ByteSource) throws(InputError) {
        self.name = name
        self.inner = inner
        guard let context = ZSTD_createDStream() else { throw InputError(name, "cannot start zstd decompression") }
        self.context = context
        input = .allocate(byteCount: inputCapacity, alignment: 16)
        ZSTD_initDStream(context)
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, ZstdSource.maxWindowLog)
    }

    deinit {
        ZSTD_freeDStream(context)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let failure {
            finished = true
            self.failure = nil
            throw failure
        }
        if finished { return 0 }
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        do {
            try fill(&out)
        } catch {
            failure = error
        }
        produced += Int64(out.pos)
        // Every byte before the damage is returned before it is reported: that is where reading stopped.
        if failure != nil && failure?.offset == nil { failure?.offset = produced }
        if out.pos == 0, let failure {
            finished = true
            self.failure = nil
            throw failure
        }
        return out.pos
    }

    /// Decodes into `out`. libzstd leaves `out.pos` where it was when a call fails, so a call that flushed a block
    /// and then met damage in the next would lose that block: each call is given only the input of the next block
    /// (the size the decoder asks for), and output the decoder still holds is flushed by a call without input first.
    private func fill(_ out: inout ZSTD_outBuffer) throws(InputError) {
        while out.pos < out.size {
            if holdsOutput {
                var none = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                let before = out.pos
                let result = ZSTD_decompressStream(context, &out, &none)
                if ZSTD_isError(result) != 0 { throw corrupt(result) }
                outputSinceFrameEnd += out.pos - before
                holdsOutput = out.pos == out.size
                if result == 0 { endFrame() }
                continue
            }
            if inBuffer.pos == inBuffer.size {
                let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: inputCapacity))
                if n == 0 {
                    if !frameComplete {
                        throw InputError(name, "zstd stream is truncated (ended inside a frame)", storedOffset: storedPosition)
                    }
                    finished = true
                    return
                }
                inBuffer = ZSTD_inBuffer(src: input, size: n, pos: 0)
            }
            let startedAt = storedPosition
            var step = ZSTD_inBuffer(src: input + inBuffer.pos, size: min(inBuffer.size - inBuffer.pos, wanted), pos: 0)
            let before = out.pos
            let result = ZSTD_decompressStream(context, &out, &step)
            inBuffer.pos += step.pos
            if ZSTD_isError(result) != 0 {
                if ZSTD_getErrorCode(result) == ZSTD_error_frameParameter_windowTooLarge {
                    throw InputError(
                        name, "zstd frame needs a window larger than \(1 << (ZstdSource.maxWindowLog - 20)) MiB (the limit)",
                        storedOffset: frameComplete ? lastFrameEnd : startedAt)
                }
                if lastFrameEnd > 0 && outputSinceFrameEnd == 0 {
                    // Nothing came of what follows the last complete frame: it is not zstd at all.
                    throw InputError(
                        name, "trailing garbage after the last complete zstd frame (not zstd data)", storedOffset: lastFrameEnd)
                }
                throw corrupt(result)
            }
            outputSinceFrameEnd += out.pos - before
            holdsOutput = out.pos == out.size
            frameComplete = false
            if result == 0 {
                endFrame()
            } else {
                wanted = result
            }
        }
    }

    private func endFrame() {
        frameComplete = true
        lastFrameEnd = storedPosition
        outputSinceFrameEnd = 0
        wanted = ZstdSource.frameHeaderPrefix
    }

    private func corrupt(_ result: Int) -> InputError {
        InputError(name, "zstd data is corrupt: \(String(cString: ZSTD_getErrorName(result)))", storedOffset: storedPosition)
    }
}
