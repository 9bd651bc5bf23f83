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

    /// Threads that parse, normalize and match chunks; 1 does everything on the calling thread. Whatever the number,
    /// the caller sees the chunks in input order, with the same contents.
    public let threads: Int
    /// Chunks read ahead of the one the caller takes, at most (with more than one thread).
    public var chunksInFlight: Int { threads * 2 + 1 }

    public init(
        deadLetter: DeadLetterOutput, showProgress: Bool, maxRecordBytes: Int = 16 << 20, threads: Int = 1,
        bufferSize: Int = 4 << 20
    ) {
        reader = RecordReader(bufferSize: bufferSize, maxRecordBytes: maxRecordBytes)
        self.deadLetter = deadLetter
        self.threads = max(threads, 1)
        progress = showProgress ? ProgressLine() : nil
    }

    /// Runs every input to its end. `onChunk` sees the decoder after each chunk (its events and their views).
    public func run(_ paths: [String], onChunk: (EventDecoder, RecordChunk) throws -> Void) throws -> RunStatistics {
        try run(paths, matching: nil) { decoder, chunk, _ in try onChunk(decoder, chunk) }
    }

    /// Runs every input to its end. With more than one thread and a plan, the workers also match each chunk's
    /// events and `onChunk` gets their matches (to `Detection.deliver`); otherwise it gets nil (to
    /// `Detection.evaluate`).
    public func run(
        _ paths: [String], matching plan: MatchPlan?, onChunk: (EventDecoder, RecordChunk, ChunkMatches?) throws -> Void
    ) throws -> RunStatistics {
        var stats = RunStatistics()
        let start = DispatchTime.now()
        let (files, errors) = InputPaths.expand(paths)
        for error in errors {
            stats.inputErrors.append(error)
            try deadLetter.writeInputError(error)
        }
        progress?.begin(totalBytes: ProgressLine.totalBytes(files))
        if threads == 1 {
            var bytesBefore: Int64 = 0
            for file in files {
                stats.inputs += 1
                reader.onProgress = { [progress] stored in progress?.update(file: file, storedBytes: bytesBefore + stored) }
                let summary = try reader.read(file) { chunk in
                    decoder.decode(chunk)
                    try take(chunk, decoder, nil, &stats, onChunk)
                }
                try finishInput(summary, &stats)
                bytesBefore += summary.storedBytes
            }
        } else {
            try runOnWorkers(files, plan, &stats, onChunk)
        }
        try deadLetter.flush()
        progress?.finish()
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return stats
    }

    /// The reader and workers produce the chunks; this thread takes them in input order.
    private func runOnWorkers(
        _ files: [String], _ plan: MatchPlan?, _ stats: inout RunStatistics,
        _ onChunk: (EventDecoder, RecordChunk, ChunkMatches?) throws -> Void
    ) throws {
        // A reader of its own, as large as this one grew: its thread may outlive the run (blocked on stdin).
        let ownReader = RecordReader(bufferSize: reader.capacity, maxRecordBytes: reader.maxRecordBytes)
        let workers = ChunkWorkers(reader: ownReader, files: files, threads: threads, plan: plan, jobs: chunksInFlight)
        defer { workers.stop() }
        var bytesBefore: Int64 = 0
        while true {
            switch workers.next() {
            case .chunk(let job):
                let chunk = job.chunk
                progress?.update(file: chunk.input, storedBytes: bytesBefore + job.storedBytes)
                try take(chunk, job.decoder, plan == nil ? nil : job.matches, &stats, onChunk)
                workers.release(job)
            case .inputEnd(let summary):
                stats.inputs += 1
                try finishInput(summary, &stats)
                bytesBefore += summary.storedBytes
            case .end:
                return
            }
        }
    }

    /// One decoded chunk: its bad records to the dead letters, its counts, then the caller.
    private func take(
        _ chunk: RecordChunk, _ decoder: EventDecoder, _ matches: ChunkMatches?, _ stats: inout RunStatistics,
        _ onChunk: (EventDecoder, RecordChunk, ChunkMatches?) throws -> Void
    ) throws {
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
        try onChunk(decoder, chunk, matches)
    }

    /// An input read to its end: its counts, and why it ended early if it did.
    private func finishInput(_ summary: InputSummary, _ stats: inout RunStatistics) throws {
        stats.records += summary.records
        stats.bytes += summary.bytes
        stats.storedBytes += summary.storedBytes
        if let error = summary.error {
            stats.inputErrors.append(error)
            try deadLetter.writeInputError(error)
        }
    }
}
