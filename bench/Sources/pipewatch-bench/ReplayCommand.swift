import ArgumentParser
import Foundation
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

/// The whole replay pipeline on one core: framing, parse, normalize, rule evaluation and OCSF formatting of every
/// alert (written nowhere, so the disk does not set the pace).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Measure replay with a rule set: records/s, MB/s, alerts and peak memory.")

    @Argument(help: "Corpus files.")
    var inputs: [String]

    @Option(name: .customLong("rules"), help: "Rule files or directories (repeatable).")
    var rulePaths: [String]

    @Option(help: "Runs; the best and the median are reported.")
    var runs = 3

    func run() throws {
        let ruleSet = RuleSet(paths: rulePaths, options: RuleLoadOptions(skipUnsupported: true))
        guard ruleSet.problems.isEmpty else {
            throw ValidationError(ruleSet.problems.map(\.description).joined(separator: "\n"))
        }
        for summary in ruleSet.engine.indexSummary where summary.indexedRules + summary.unindexedRules > 0 {
            printLine("\(summary.source.name): \(summary.indexedRules) rules indexed by \(summary.indexedFields.joined(separator: ", ")); \(summary.unindexedRules) evaluated for every event")
        }
        var results: [Measurement] = []
        var alerts = 0
        var cpuSeconds: [Double] = []
        for run in 1...runs {
            let reader = RecordReader()
            let decoder = EventDecoder()
            let detection = Detection(ruleSet: ruleSet)
            var measurement = Measurement()
            var formattedBytes = 0
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = StagesCommand.cpuSeconds()
            for input in inputs {
                let summary = reader.read(input) { chunk in
                    decoder.decode(chunk)
                    measurement.events += decoder.events.count
                    measurement.failures += decoder.failures.count
                    detection.evaluate(decoder) { alert in formattedBytes += OCSFDetectionFinding.format(alert).count }
                }
                measurement.records += summary.records
                measurement.bytes += summary.bytes
            }
            measurement.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            cpuSeconds.append(StagesCommand.cpuSeconds() - cpuStart)
            alerts = detection.totalAlerts
            results.append(measurement)
            printLine("run \(run): " + measurement.line + ", \(alerts) alerts (\(formattedBytes) bytes of OCSF)")
        }
        let sorted = results.sorted { $0.recordsPerSecond > $1.recordsPerSecond }
        printLine("rules: \(ruleSet.rules.count)")
        printLine("best:   " + sorted[0].line)
        printLine("median: " + sorted[sorted.count / 2].line)
        // CPU time: what a run cost on a machine shared with other work (the wall clock also counts the waits).
        let cpu = cpuSeconds.sorted()
        let records = Double(results[0].records)
        printLine(String(format: "CPU time: best %.3f s (%.0f records/s), median %.3f s (%.0f records/s)",
                         cpu[0], records / cpu[0], cpu[cpu.count / 2], records / cpu[cpu.count / 2]))
        printLine("peak memory: \(String(format: "%.1f", PeakMemory.megabytes())) MB (max RSS of the process)")
    }
}
