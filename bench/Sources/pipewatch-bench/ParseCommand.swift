import ArgumentParser
import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchPipeline

/// Framing + parse + normalize throughput on one core, through the same reader and decoder `pipewatch` uses.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Measure framing + parse + normalize: records/s, MB/s and peak memory.")

    @Argument(help: "Corpus files (e.g. from `pipewatch-bench generate`).")
    var inputs: [String]

    @Option(help: "Runs over the inputs; the best and the median are reported.")
    var runs = 3

    func run() throws {
        var results: [Measurement] = []
        for run in 1...runs {
            let measurement = try measure()
            results.append(measurement)
            printLine("run \(run): " + measurement.line)
        }
        let sorted = results.sorted { $0.recordsPerSecond > $1.recordsPerSecond }
        printLine("best:   " + sorted[0].line)
        printLine("median: " + sorted[sorted.count / 2].line)
        printLine("peak memory: \(String(format: "%.1f", PeakMemory.megabytes())) MB (max RSS of the process)")
    }

    func measure() throws -> Measurement {
        let reader = RecordReader()
        let decoder = EventDecoder()
        var measurement = Measurement()
        let start = DispatchTime.now().uptimeNanoseconds
        for input in inputs {
            let summary = reader.read(input) { chunk in
                decoder.decode(chunk)
                measurement.events += decoder.events.count
                measurement.failures += decoder.failures.count
            }
            if let error = summary.error { throw ValidationError(error.description) }
            measurement.records += summary.records
            measurement.bytes += summary.bytes
        }
        measurement.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return measurement
    }
}

struct Measurement {
    var records = 0
    var events = 0
    var failures = 0
    var bytes: Int64 = 0
    var seconds = 0.0

    var recordsPerSecond: Double { Double(records) / seconds }
    var line: String {
        String(
            format: "%d records (%d events, %d failed), %.1f MB in %.3f s: %.0f records/s, %.0f MB/s",
            records, events, failures, Double(bytes) / 1e6, seconds, recordsPerSecond, Double(bytes) / 1e6 / seconds)
    }
}

enum PeakMemory {
    /// The process's maximum resident set size so far.
    static func megabytes() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }
}

func printLine(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
