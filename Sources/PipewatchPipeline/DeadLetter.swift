import Foundation
import PipewatchInputs
import PipewatchJSON
import PipewatchOutput

/// Where records that could not be processed go, with the reason and their position in the input, so nothing
/// is lost silently. A dead letter carries at most `maxRawBytes` of its record, so a huge bad record costs no more
/// than that (the line says when the record was cut, and how long it was).
public final class DeadLetterOutput {
    /// The most of a record's bytes a dead letter carries (64 KiB).
    public static let maxRawBytes = 64 << 10
    private let file: OutputFile?
    private let report: OutputFile
    /// A Kafka dead-letter topic instead of a file: each dead letter becomes one message.
    private let topic: KafkaSink?
    private var pendingMessages: [[UInt8]] = []
    private var writer = JSONWriter(capacity: 4096)
    public private(set) var count = 0

    /// With a file, each bad record is written there as NDJSON with its raw bytes; without one, a line per bad
    /// record (position and reason) goes to the report stream.
    public init(file: OutputFile?, report: OutputFile = .standardError()) {
        self.file = file
        self.report = report
        topic = nil
    }

    /// Dead letters as messages of a Kafka topic (the same JSON objects as the file's lines), produced by an
    /// idempotent producer with acks=all; `flush` returns once the broker acknowledged every one.
    public init(topic: KafkaSink, report: OutputFile = .standardError()) {
        self.file = nil
        self.report = report
        self.topic = topic
    }

    /// Dead-letters a record. `offset` is the record's byte offset in the (decompressed) input; `line` is 1-based
    /// for line-framed inputs and 0 otherwise. `alreadyCut` says `raw` is only the beginning of the record (one
    /// over the record limit); `storedOffset` is the position in the file as stored, for damage in compressed data.
    public func write(
        reason: String, stage: String, input: String, line: Int, offset: Int64, raw: UnsafeBufferPointer<UInt8>,
        alreadyCut: Bool = false, storedOffset: Int64? = nil
    ) throws {
        count += 1
        guard file != nil || topic != nil else {
            let position = line > 0 ? "line \(line)" : "byte \(offset)"
            try report.write("dead-letter: \(input): \(position): \(stage): \(reason)\n")
            return
        }
        let excerpt = DeadLetterOutput.excerpt(raw)
        writer.reset()
        writer.beginObject()
        writer.key("reason")
        writer.string(reason)
        writer.key("stage")
        writer.string(stage)
        writer.key("input")
        writer.string(input)
        if line > 0 {
            writer.key("line")
            writer.number(line)
        }
        writer.key("offset")
        writer.number(offset)
        if let storedOffset {
            writer.key("stored_offset")
            writer.number(storedOffset)
        }
        writer.key("raw")
        writer.string(utf8: excerpt)
        // The escaped text replaces invalid UTF-8; the base64 copy keeps such bytes exactly.
        if !JSONWriter.isValidUTF8(excerpt) {
            writer.key("raw_base64")
            writer.string(Data(buffer: excerpt).base64EncodedString())
        }
        writer.key("raw_length")
        writer.number(raw.count)
        writer.key("raw_truncated")
        writer.bool(alreadyCut || excerpt.count < raw.count)
        writer.endObject()
        if let topic {
            pendingMessages.append(writer.bytes)
            if pendingMessages.count >= 1000 { try deliver(to: topic) }
            return
        }
        writer.newline()
        try file?.write(writer.bytes)
    }

    /// Produces the dead letters waiting, retrying what the broker could not take yet (a dead letter is never
    /// dropped: the caller's records stay uncommitted until this returns).
    private func deliver(to topic: KafkaSink) throws {
        guard !pendingMessages.isEmpty else { return }
        var delay = 0.1
        while true {
            do {
                try topic.deliver(pendingMessages)
                pendingMessages.removeAll(keepingCapacity: true)
                return
            } catch {
                if case .permanent(let reason) = error {
                    throw OutputError(path: topic.name, message: "dead-letter topic refused the records: \(reason)")
                }
                try report.write("dead-letter \(topic.name): \(error); retrying\n")
                try report.flush()
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 10)
            }
        }
    }

    /// Dead-letters an input that could not be read (to its end): no record to attach the reason to, but where
    /// reading stopped, in the decompressed stream and in the file as stored.
    public func writeInputError(_ error: InputError) throws {
        try write(
            reason: error.message, stage: "input", input: error.input, line: 0, offset: error.offset ?? 0,
            raw: UnsafeBufferPointer(start: nil, count: 0), storedOffset: error.storedOffset)
    }

    /// The first `maxRawBytes` of a record, cut at a character boundary when the record is valid UTF-8 there (so
    /// the excerpt stays valid text), else exactly (its bytes then go out in base64 too).
    static func excerpt(_ raw: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard raw.count > maxRawBytes else { return raw }
        var end = maxRawBytes
        // Back over the continuation bytes (10xxxxxx) of a character the cut would split, to its first byte.
        while end > maxRawBytes - 3 && raw[end] & 0xC0 == 0x80 { end -= 1 }
        let aligned = UnsafeBufferPointer(rebasing: raw[0..<end])
        return JSONWriter.isValidUTF8(aligned) ? aligned : UnsafeBufferPointer(rebasing: raw[0..<maxRawBytes])
    }

    /// Makes every dead letter durable: fsync'd to the file, or acknowledged by the Kafka brokers.
    public func flush() throws {
        try file?.sync()
        if let topic { try deliver(to: topic) }
    }
}
