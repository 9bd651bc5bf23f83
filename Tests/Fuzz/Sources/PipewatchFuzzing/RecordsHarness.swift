import CZlib
import CZstd
import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON
import PipewatchPipeline

/// Harness 1: bytes as a file input gives them, through compression detection, decompression, framing, parsing
/// and normalization, as `pipewatch normalize --raw` runs them.
///
/// The first byte chooses the path: bits 0–1 how the rest becomes the file (as is; gzip-compressed; zstd-compressed;
/// as is again, so committed .gz/.zst samples are mutated as stored), bits 2–3 the read buffer size and bits 4–5 the
/// record limit (small sizes move every record across buffer edges), bit 6 cuts the compressed stream short at the
/// fraction the second byte gives, bit 7 compresses the rest as two members (frames) split there.
///
/// Checked: every framed record is an event or a failure; record positions only move forward; each event's JSON
/// (with the raw record) is strictly valid JSON and valid UTF-8; the parser stays within a tape that starts small.
public enum RecordsHarness {
    static let bufferSizes = [4 << 20, 64, 1 << 10, 64 << 10]
    static let recordLimits = [16 << 20, 256, 4 << 10, 1 << 20]

    static let scratch: String = {
        let directory = NSTemporaryDirectory() + "pipewatch-fuzz-records-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "pipewatch-fuzz-records-\(getpid())") }
        return directory + "/input"
    }()

    nonisolated(unsafe) static let decoder = EventDecoder()
    static let smallTape = JSONTape(capacity: 16)

    public static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let mode = input.byte()
        let cutByte = input.byte()
        let payload = input.rest()
        let file: [UInt8]
        switch mode & 3 {
        case 1: file = cut(Compressor.gzip(payload, splitAt: mode & 0x80 != 0 ? Int(cutByte) : nil), mode, cutByte)
        case 2: file = cut(Compressor.zstd(payload, splitAt: mode & 0x80 != 0 ? Int(cutByte) : nil), mode, cutByte)
        default: file = payload
        }
        guard FileManager.default.createFile(atPath: scratch, contents: Data(file)) else {
            fatalError("cannot write \(scratch)")
        }
        let reader = RecordReader(
            bufferSize: bufferSizes[Int(mode >> 2 & 3)], maxRecordBytes: recordLimits[Int(mode >> 4 & 3)])
        var framed = 0
        var lastOffset: Int64 = -1
        var lastLine = 0
        var writer = JSONWriter(capacity: 4096)
        let summary = reader.read(scratch) { chunk in
            framed += chunk.records.count
            for record in chunk.records {
                invariant(record.start >= 0 && record.start <= record.end, "record range \(record.start)..<\(record.end)")
                invariant(record.streamOffset > lastOffset, "record offset \(record.streamOffset) after \(lastOffset)")
                invariant(record.line == 0 || record.line >= lastLine, "record line \(record.line) after \(lastLine)")
                lastOffset = record.streamOffset
                lastLine = max(lastLine, record.line)
            }
            // Each record again into a fresh, small tape: the decoder's tape is large and reused, so a parser that
            // wrote past its tape would rarely reach the end of it there.
            for record in chunk.records where record.problem == nil {
                smallTape.removeAll()
                _ = try? JSONParser.parse(chunk.bytes, from: record.start, to: record.end, into: smallTape)
            }
            decoder.decode(chunk)
            invariant(
                decoder.events.count + decoder.failures.count == chunk.records.count,
                "\(chunk.records.count) records became \(decoder.events.count) events and \(decoder.failures.count) failures")
            decoder.forEachView { _, view in
                writer.reset()
                EventJSON.write(view, to: &writer, includeRaw: true)
                if let problem = StrictJSON.problem(writer.bytes) {
                    invariant(false, "event JSON: \(problem): \(String(decoding: writer.bytes.prefix(400), as: UTF8.self))")
                }
            }
        }
        invariant(summary.records == framed, "summary counts \(summary.records) records, chunks held \(framed)")
    }

    /// The compressed stream cut at `fraction`/256 of its length when bit 6 of `mode` asks for it.
    static func cut(_ bytes: [UInt8], _ mode: UInt8, _ fraction: UInt8) -> [UInt8] {
        guard mode & 0x40 != 0 else { return bytes }
        return Array(bytes.prefix(bytes.count * Int(fraction) / 256))
    }
}

/// In-memory gzip and zstd compression for the harness (the inputs decompress them; nothing in Pipewatch
/// compresses).
enum Compressor {
    /// gzip members: one, or two split `splitAt`/256 of the way through.
    static func gzip(_ bytes: [UInt8], splitAt: Int?) -> [UInt8] {
        members(bytes, splitAt: splitAt, gzipMember)
    }

    static func zstd(_ bytes: [UInt8], splitAt: Int?) -> [UInt8] {
        members(bytes, splitAt: splitAt, zstdFrame)
    }

    static func members(_ bytes: [UInt8], splitAt: Int?, _ compress: ([UInt8]) -> [UInt8]) -> [UInt8] {
        guard let splitAt else { return compress(bytes) }
        let index = bytes.count * splitAt / 256
        return compress(Array(bytes[..<index])) + compress(Array(bytes[index...]))
    }

    static func gzipMember(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { fatalError("deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let produced = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { fatalError("deflate did not finish") }
                return target.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<produced])
    }

    static func zstdFrame(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let produced = bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                ZSTD_compress(target.baseAddress, target.count, source.baseAddress, source.count, 3)
            }
        }
        guard ZSTD_isError(produced) == 0 else { fatalError("ZSTD_compress failed") }
        return Array(output[..<produced])
    }
}
