import CZlib
import Foundation

/// Streaming gzip (RFC 1952) through zlib; concatenated members are read one after another, and zero bytes after the
/// last member are ignored, as gzip does. Damage (corrupt data, a truncated member, garbage after a member) is
/// reported after every byte decompressed before it has been returned, with its offsets in both streams.
public final class GzipSource: ByteSource {
    private let name: String
    private let inner: ByteSource
    private var stream = z_stream()
    private var input: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 256 << 10
    private var finished = false
    /// Between members: the next bytes must start another member, or be zero padding up to the end.
    private var betweenMembers = false
    private var inZeroPadding = false
    /// An error met after some output: returned with the next read, once that output has been taken.
    private var failure: InputError?
    /// Decompressed bytes returned so far.
    private var produced: Int64 = 0

    public var bytesConsumed: Int64 { inner.bytesConsumed }

    /// Offset in the stored file of the next compressed byte zlib has not consumed.
    private var storedPosition: Int64 { inner.bytesConsumed - Int64(stream.avail_in) }

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
        if let failure {
            finished = true
            self.failure = nil
            throw failure
        }
        if finished || buffer.count == 0 { return 0 }
        // zlib counts in 32 bits: a larger buffer is filled by the calls that follow.
        let capacity = min(buffer.count, Int(UInt32.max))
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(capacity)
        do {
            try fill()
        } catch {
            failure = error
        }
        let n = capacity - Int(stream.avail_out)
        produced += Int64(n)
        // Every byte before the damage is returned before it is reported: that is where reading stopped.
        if failure != nil && failure?.offset == nil { failure?.offset = produced }
        if n == 0, let failure {
            finished = true
            self.failure = nil
            throw failure
        }
        return n
    }

    private func fill() throws(InputError) {
        while stream.avail_out > 0 {
            if stream.avail_in == 0 {
                let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: inputCapacity))
                if n == 0 {
                    if !betweenMembers {
                        throw damage("gzip stream is truncated (ended inside compressed data)")
                    }
                    finished = true
                    return
                }
                stream.next_in = input
                stream.avail_in = UInt32(n)
            }
            if betweenMembers {
                guard try startNextMember() else { continue }
            }
            let status = inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                betweenMembers = true
                continue
            }
            if status == Z_BUF_ERROR { continue }  // needs more input
            guard status == Z_OK else {
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw damage("gzip data is corrupt: \(detail)")
            }
        }
    }

    /// Looks at the bytes after a member: another member's magic, zero padding, or garbage. Returns true once a new
    /// member may be inflated, false when more input is needed first.
    private func startNextMember() throws(InputError) -> Bool {
        if inZeroPadding || stream.next_in[0] == 0 {
            // Zero padding after the last member (tape blocks) is ignored; anything else after it is garbage.
            inZeroPadding = true
            var k = 0
            while k < Int(stream.avail_in) && stream.next_in[k] == 0 { k += 1 }
            stream.next_in += k
            stream.avail_in -= UInt32(k)
            if stream.avail_in > 0 { throw damage("trailing garbage after the last gzip member (not gzip data)") }
            return false
        }
        if stream.avail_in == 1 && stream.next_in[0] == 0x1F {
            // The magic's second byte is in the next read: keep the first at the front of the input.
            input[0] = 0x1F
            let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input + 1, count: inputCapacity - 1))
            stream.next_in = input
            stream.avail_in = UInt32(1 + n)
            if n == 0 { throw damage("trailing garbage after the last gzip member (not gzip data)") }
        }
        guard stream.next_in[0] == 0x1F && stream.next_in[1] == 0x8B else {
            throw damage("trailing garbage after the last gzip member (not gzip data)")
        }
        inflateReset(&stream)
        betweenMembers = false
        return true
    }

    /// An error at the current position in the stored file; its decompressed offset is set once the bytes before
    /// it have been returned.
    private func damage(_ message: String) -> InputError {
        InputError(name, message, storedOffset: storedPosition)
    }
}
