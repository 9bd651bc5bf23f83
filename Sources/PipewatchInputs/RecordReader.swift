import Foundation
import PipewatchJSON

/// Records framed from one buffer of one input. The ranges in `records` point into `bytes`, which stays valid
/// only during the callback that receives the chunk.
public struct RecordChunk {
    public let input: String
    public let bytes: UnsafePointer<UInt8>
    public let records: [FramedRecord]
    public let framing: Framing?

    public init(input: String, bytes: UnsafePointer<UInt8>, records: [FramedRecord], framing: Framing?) {
        self.input = input
        self.bytes = bytes
        self.records = records
        self.framing = framing
    }
}

/// What reading one input came to.
public struct InputSummary: Sendable {
    public var input: String
    public var compression: Compression = .none
    public var framing: Framing?
    public var records = 0
    /// Bytes after decompression.
    public var bytes: Int64 = 0
    /// Bytes read from the file (compressed size).
    public var storedBytes: Int64 = 0
    /// Set when the input could not be read to its end; what came before was still processed.
    public var error: InputError?
}

/// Reads inputs chunk by chunk into one reusable buffer and frames them into records. Memory stays bounded by the
/// buffer (which grows only to hold the largest record, up to the framer's limit) whatever the input size. When an
/// input is damaged, every record read before the damage is framed, and a record the damage cut is truncated.
public final class RecordReader {
    public let maxRecordBytes: Int
    private var buffer: ChunkBuffer
    /// Current buffer size: the initial size unless a record needed more. Every buffer the reader reads into is
    /// at least this large, so chunks end where they would in one buffer, whoever receives them.
    public private(set) var capacity: Int
    /// Called with the bytes processed so far, about every buffer, for progress reporting.
    public var onProgress: ((Int64) -> Void)?

    public init(bufferSize: Int = 4 << 20, maxRecordBytes: Int = 16 << 20) {
        self.maxRecordBytes = maxRecordBytes
        capacity = bufferSize
        buffer = ChunkBuffer(capacity: bufferSize)
    }

    /// Reads `path` ("-" for stdin) to its end, calling `body` with each chunk of records.
    public func read(_ path: String, _ body: (RecordChunk) throws -> Void) rethrows -> InputSummary {
        try read(path, handsOff: false, nextBuffer: { buffer }) { chunk, _, _ in try body(chunk) }
    }

    /// Reads `path` like `read(_:_:)`, but hands each chunk off with the buffer holding it: `handOff` gets the chunk,
    /// its buffer (now the receiver's, until it gives it back to whoever serves `nextBuffer`) and the bytes read from
    /// the file so far; the reader goes on in the buffer `nextBuffer` gave it just before (the part of a record the
    /// chunk did not end copied over). The chunks are the ones `read(_:_:)` makes.
    public func read(
        _ path: String, nextBuffer: () throws -> ChunkBuffer, handOff: (RecordChunk, ChunkBuffer, Int64) throws -> Void
    ) rethrows -> InputSummary {
        try read(path, handsOff: true, nextBuffer: nextBuffer, handOff)
    }

    private func read(
        _ path: String, handsOff: Bool, nextBuffer: () throws -> ChunkBuffer, _ body: (RecordChunk, ChunkBuffer, Int64) throws -> Void
    ) rethrows -> InputSummary {
        var summary = InputSummary(input: path)
        let source: ByteSource
        do {
            (source, summary.compression) = try Compression.open(path)
        } catch {
            summary.error = error
            return summary
        }
        var framer = RecordFramer(maxRecordBytes: maxRecordBytes)
        var filled = 0
        var records: [FramedRecord] = []
        var finished = false
        while !finished {
            // Grow only when one record fills the whole buffer.
            if filled == capacity { grow() }
            var isFinal = false
            do {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer.bytes + filled, count: capacity - filled))
                if n == 0 { isFinal = true }
                filled += n
                summary.bytes += Int64(n)
            } catch {
                summary.error = error
                isFinal = true
            }
            // Frame only full-ish buffers (or the end), so chunks are large; stdin may be a live stream, so it
            // is framed as it comes.
            if !isFinal && filled < capacity / 2 && path != "-" { continue }
            records.removeAll(keepingCapacity: true)
            let consumed = framer.frame(
                buffer.bytes, count: filled, isFinal: isFinal, endedByError: summary.error != nil, into: &records)
            summary.framing = framer.framing
            summary.records += records.count
            summary.storedBytes = source.bytesConsumed
            if handsOff && !records.isEmpty {
                let full = buffer
                let next = try nextBuffer()
                if next.capacity < capacity { next.resize(to: capacity, keeping: 0) }
                (next.bytes).update(from: full.bytes + consumed, count: filled - consumed)
                buffer = next
                try body(RecordChunk(input: path, bytes: full.bytes, records: records, framing: framer.framing), full, summary.storedBytes)
            } else {
                if !records.isEmpty {
                    try body(RecordChunk(input: path, bytes: buffer.bytes, records: records, framing: framer.framing), buffer, summary.storedBytes)
                }
                if consumed < filled {
                    (buffer.bytes).update(from: buffer.bytes + consumed, count: filled - consumed)
                }
            }
            filled -= consumed
            onProgress?(summary.storedBytes)
            finished = isFinal
        }
        return summary
    }

    /// The framer consumes a record once it passes the limit (two bytes more: a CR and the byte that shows the
    /// excess), so the buffer never needs to grow past that.
    private func grow() {
        let bound = maxRecordBytes + 2
        let newCapacity = capacity < bound ? min(capacity * 2, bound) : capacity * 2
        buffer.resize(to: newCapacity, keeping: capacity)
        capacity = newCapacity
    }
}

/// Expands the command line's inputs: files as given, directories recursively in sorted order, "-" for stdin.
public enum InputPaths {
    /// File name endings read when walking a directory; a file named on the command line is always read.
    /// Compression is still detected from the content, not from the name.
    public static let dataExtensions = ["json", "ndjson", "jsonl", "log", "gz", "zst", "zstd"]

    public static func expand(_ paths: [String]) -> (files: [String], errors: [InputError]) {
        var files: [String] = []
        var errors: [InputError] = []
        let manager = FileManager.default
        for path in paths {
            if path == "-" {
                files.append(path)
                continue
            }
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                errors.append(InputError(path, "no such file or directory"))
                continue
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let walker = manager.enumerator(atPath: path) else {
                errors.append(InputError(path, "cannot read directory"))
                continue
            }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") {
                    if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { walker.skipDescendants() }
                    continue
                }
                guard (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular else { continue }
                let ext = (name as NSString).pathExtension.lowercased()
                guard dataExtensions.contains(ext) else { continue }
                found.append(path.hasSuffix("/") ? path + relative : path + "/" + relative)
            }
            files.append(contentsOf: found.sorted())
        }
        return (files, errors)
    }
}
