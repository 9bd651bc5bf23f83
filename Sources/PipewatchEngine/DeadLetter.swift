import Foundation
import PipewatchJSON

/// Where records that could not be processed go, with the reason and their position in the input, so nothing
/// is lost silently.
public final class DeadLetterOutput {
    private let file: OutputFile?
    private let report: OutputFile
    private var writer = JSONWriter(capacity: 4096)
    public private(set) var count = 0

    /// With a file, each bad record is written there as NDJSON with its raw bytes; without one, a line per bad
    /// record (position and reason) goes to the report stream.
    public init(file: OutputFile?, report: OutputFile = .standardError()) {
        self.file = file
        self.report = report
    }

    /// Dead-letters a record. `offset` is the record's byte offset in the (decompressed) input; `line` is 1-based
    /// for line-framed inputs and 0 otherwise.
    public func write(
        reason: String, stage: String, input: String, line: Int, offset: Int64, raw: UnsafeBufferPointer<UInt8>
    ) throws {
        count += 1
        guard let file else {
            let position = line > 0 ? "line \(line)" : "byte \(offset)"
            try report.write("dead-letter: \(input): \(position): \(stage): \(reason)\n")
            return
        }
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
        writer.key("raw")
        writer.string(utf8: raw)
        // The escaped text replaces invalid UTF-8; the base64 copy keeps such bytes exactly.
        if !JSONWriter.isValidUTF8(raw) {
            writer.key("raw_base64")
            writer.string(Data(buffer: raw).base64EncodedString())
        }
        writer.endObject()
        writer.newline()
        try file.write(writer.bytes)
    }

    /// Dead-letters a whole input that could not be read (no record to attach the reason to).
    public func writeInputError(_ error: InputError) throws {
        try write(reason: error.message, stage: "input", input: error.input, line: 0, offset: 0, raw: UnsafeBufferPointer(start: nil, count: 0))
    }

    public func flush() throws { try file?.sync() }
}
