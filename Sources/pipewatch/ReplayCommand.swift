import ArgumentParser
import Foundation
import PipewatchEngine
import PipewatchOutput
import PipewatchRules

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the whole pipeline on files: alerts as NDJSON OCSF Detection Findings on stdout.",
        discussion: """
            Rules whose logsource Pipewatch does not read (e.g. Windows rules in a SigmaHQ checkout) are skipped \
            and counted; a rule with an error stops the run before any input is read, naming file, line and reason.
            """)

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("rules"), help: "Rule files or directories (repeatable).")
    var rulePaths: [String]

    @OptionGroup var ruleOptions: RuleLoadingOptions

    func run() throws {
        let ruleSet = RuleSet(paths: rulePaths, options: try ruleOptions.loadOptions(skipUnsupported: true))
        for warning in ruleSet.warnings { printToStandardError(["warning: \(warning)"]) }
        guard ruleSet.problems.isEmpty else {
            printToStandardError(ruleSet.problems.map(\.description))
            throw ValidationError("\(ruleSet.problems.count) rule problem(s); no input was read")
        }
        printToStandardError(["rules: \(ruleSet.rules.count) loaded, \(ruleSet.skipped.count) skipped (logsource not read by Pipewatch)"])

        let detection = Detection(ruleSet: ruleSet)
        let output = OutputFile.standardOutput()
        let replay = FileReplay(
            deadLetter: try input.makeDeadLetter(), showProgress: input.showProgress, maxRecordBytes: input.maxRecordBytes)
        let stats = try replay.run(input.inputs) { decoder, _ in
            try detection.evaluate(decoder) { alert in
                var line = OCSFDetectionFinding.format(alert)
                line.append(0x0A)
                try output.write(line)
            }
        }
        try output.flush()
        printToStandardError(stats.summaryLines() + detection.summaryLines()
            + [String(format: "events/s: %.0f", stats.seconds > 0 ? Double(stats.events) / stats.seconds : 0)])
        if stats.badRecords > 0 || !stats.inputErrors.isEmpty { throw ExitStatus.incomplete }
    }
}
