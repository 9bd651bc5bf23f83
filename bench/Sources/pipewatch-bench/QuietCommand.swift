import ArgumentParser
import Foundation
import PipewatchInputs
import PipewatchPipeline
import PipewatchRules

/// `pipewatch-bench quiet`: keeps the records that no rule of a set fires on, byte for byte, for the workload where
/// an engine's cost is its matching alone (no alert is built or written). Reads a file or `-` (a generator piped in).
struct QuietCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiet",
        abstract: "Write the records of the input that no rule fires on (NDJSON), up to --records of them.")

    @Argument(help: "Corpus file, or - for standard input.")
    var input: String

    @Option(name: .customLong("rules"), help: "Rule files or directories (repeatable).")
    var rulePaths: [String]

    @Option(help: "Keep at most this many quiet records.")
    var records: Int = .max

    @Option(name: [.short, .long], help: "Output file.")
    var output: String

    func run() throws {
        let ruleSet = RuleSet(paths: rulePaths, options: RuleLoadOptions(skipUnsupported: true))
        guard ruleSet.problems.isEmpty else {
            throw ValidationError(ruleSet.problems.map(\.description).joined(separator: "\n"))
        }
        guard let handle = FileHandle(forWritingAtPath: output) ?? {
            FileManager.default.createFile(atPath: output, contents: nil)
            return FileHandle(forWritingAtPath: output)
        }() else { throw ValidationError("cannot open \(output)") }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)

        let reader = RecordReader()
        let decoder = EventDecoder()
        let evaluator = ruleSet.engine.makeEvaluator()
        var kept = 0
        var fired = 0
        var failed = 0
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 << 20)
        let summary = try reader.read(input) { chunk in
            decoder.decode(chunk)
            failed += decoder.failures.count
            decoder.forEachView { index, view in
                var matched = false
                evaluator.forEachMatch(in: view) { _ in matched = true }
                if matched {
                    fired += 1
                } else if kept < records {
                    let record = chunk.records[Int(decoder.eventRecords[index])]
                    buffer.append(contentsOf: UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.end - record.start))
                    buffer.append(0x0A)
                    kept += 1
                }
            }
            if buffer.count >= 4 << 20 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
        if let error = summary.error { throw ValidationError(error.description) }
        printLine("quiet: \(summary.records) records read, \(fired) fired a rule, \(failed) failed, \(kept) quiet records written to \(output)")
        if kept < records && records != .max {
            throw ValidationError("only \(kept) quiet records in the input, \(records) asked")
        }
    }
}
