import Foundation
import PipewatchEvents
import PipewatchJSON

/// Counts for the summary a run prints at its end.
public struct RunStatistics: Sendable {
    public var inputs = 0
    public var records = 0
    public var eventsBySource = [Int](repeating: 0, count: EventSource.allCases.count)
    public var badRecords = 0
    public var inputErrors: [InputError] = []
    /// Bytes after decompression, and as stored.
    public var bytes: Int64 = 0
    public var storedBytes: Int64 = 0
    public var seconds: Double = 0

    public var events: Int { eventsBySource.reduce(0, +) }

    /// Lines for stderr: records, events per source, bad records, bytes, time and rate.
    public func summaryLines() -> [String] {
        var lines: [String] = []
        let rate = seconds > 0 ? Double(records) / seconds : 0
        let megabytes = Double(bytes) / 1_000_000
        lines.append(
            "inputs: \(inputs), records: \(records), bad records: \(badRecords), bytes: \(bytes) (\(String(format: "%.1f", megabytes)) MB"
                + (storedBytes != bytes ? ", \(storedBytes) stored" : "") + ")")
        let perSource = EventSource.allCases.map { "\($0.name) \(eventsBySource[Int($0.rawValue)])" }.joined(separator: ", ")
        lines.append("events: \(events) (\(perSource))")
        lines.append(String(format: "seconds: %.3f, records/s: %.0f, MB/s: %.1f", seconds, rate, seconds > 0 ? megabytes / seconds : 0))
        for error in inputErrors { lines.append("input error: \(error)") }
        return lines
    }
}

/// Reads files (or stdin) through framing, parsing and normalization, dead-letters what fails, and hands each
/// chunk's events to the caller. The shared front half of `normalize` and `replay`.
public final class FileReplay {
    public let reader: RecordReader
    public let decoder = EventDecoder()
    public let deadLetter: DeadLetterOutput
    private let progress: ProgressLine?

    public init(deadLetter: DeadLetterOutput, showProgress: Bool, maxRecordBytes: Int = 16 << 20) {
        reader = RecordReader(maxRecordBytes: maxRecordBytes)
        self.deadLetter = deadLetter
        progress = showProgress ? ProgressLine() : nil
    }

    /// Runs every input to its end. `onChunk` sees the decoder after each chunk (its events and their views).
    public func run(_ paths: [String], onChunk: (EventDecoder, RecordChunk) throws -> Void) throws -> RunStatistics {
        var stats = RunStatistics()
        let start = DispatchTime.now()
        let (files, errors) = InputPaths.expand(paths)
        for error in errors {
            stats.inputErrors.append(error)
            try deadLetter.writeInputError(error)
        }
        var bytesBefore: Int64 = 0
        for file in files {
            stats.inputs += 1
            reader.onProgress = { [progress] stored in progress?.update(bytes: bytesBefore + stored) }
            let summary = try reader.read(file) { chunk in
                decoder.decode(chunk)
                for failure in decoder.failures {
                    let record = chunk.records[failure.record]
                    try deadLetter.write(
                        reason: failure.reason, stage: failure.stage.rawValue, input: chunk.input, line: record.line,
                        offset: record.streamOffset,
                        raw: UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count))
                }
                stats.badRecords += decoder.failures.count
                for event in decoder.events { stats.eventsBySource[Int(event.source.rawValue)] += 1 }
                try onChunk(decoder, chunk)
            }
            stats.records += summary.records
            stats.bytes += summary.bytes
            stats.storedBytes += summary.storedBytes
            bytesBefore += summary.storedBytes
            if let error = summary.error {
                stats.inputErrors.append(error)
                try deadLetter.writeInputError(error)
            }
        }
        try deadLetter.flush()
        progress?.finish()
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return stats
    }
}

/// A one-line progress report on a terminal: bytes done and rate, redrawn at most a few times a second.
final class ProgressLine {
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drawn = false

    func update(bytes: Int64) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 250_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        let megabytes = Double(bytes) / 1_000_000
        let line = String(format: "\r%.1f MB read, %.1f MB/s ", megabytes, seconds > 0 ? megabytes / seconds : 0)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
