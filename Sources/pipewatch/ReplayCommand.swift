import ArgumentParser
import Foundation
import PipewatchEngine
import PipewatchOutput
import PipewatchRules

extension AlertFormat: ExpressibleByArgument {}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the whole pipeline on files: alerts on stdout (OCSF Detection Findings by default).",
        discussion: """
            Rules whose logsource Pipewatch does not read (e.g. Windows rules in a SigmaHQ checkout) are skipped \
            and counted; a rule with an error stops the run before any input is read, naming file, line and reason.
            """)

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("rules"), help: "Rule files or directories (repeatable).")
    var rulePaths: [String]

    @OptionGroup var ruleOptions: RuleLoadingOptions

    @Option(help: ArgumentHelp(
        "Alert format on stdout, one alert per line.",
        discussion: "ocsf: OCSF 1.1 Detection Finding JSON; cef: ArcSight CEF; leef: QRadar LEEF 2.0; ecs: Elastic Common Schema JSON; hec: Splunk HEC event envelope.",
        valueName: AlertFormat.allCases.map(\.rawValue).joined(separator: "|")))
    var format: AlertFormat = .ocsf

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
                var line = format.format(alert)
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
