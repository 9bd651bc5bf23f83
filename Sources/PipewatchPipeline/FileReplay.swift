import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON

/// Reads files (or stdin) through framing, parsing and normalization, dead-letters what fails, and hands each
/// chunk's events to the caller. The shared front half of `normalize` and `replay`.
public final class FileReplay {
    public let reader: RecordReader
    public let decoder = EventDecoder()
    public let deadLetter: DeadLetterOutput
    /// The terminal's progress line (nil when not shown); the caller counts its alerts on it.
    public let progress: ProgressLine?
    /// Sees each chunk's decoded events before `onChunk` does (an investigation report's activity per source).
    public var observeEvents: ((EventDecoder) -> Void)?

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
        progress?.begin(totalBytes: ProgressLine.totalBytes(files))
        for file in files {
            stats.inputs += 1
            reader.onProgress = { [progress] stored in progress?.update(file: file, storedBytes: bytesBefore + stored) }
            let summary = try reader.read(file) { chunk in
                decoder.decode(chunk)
                for failure in decoder.failures {
                    let record = chunk.records[failure.record]
                    var cut = false
                    if case .tooLarge = record.problem { cut = true }
                    try deadLetter.write(
                        reason: failure.reason, stage: failure.stage.rawValue, input: chunk.input, line: record.line,
                        offset: record.streamOffset,
                        raw: UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count), alreadyCut: cut)
                }
                stats.badRecords += decoder.failures.count
                for event in decoder.events {
                    stats.eventsBySource[Int(event.source.rawValue)] += 1
                    if !event.hasTime { stats.eventsWithoutTime += 1 }
                }
                progress?.countRecords(chunk.records.count)
                observeEvents?(decoder)
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
