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

    @Option(name: .customLong("output"), help: ArgumentHelp(
        "Where alerts go, as FORMAT:SINK (repeatable); without it, --format on stdout.",
        discussion: "Sinks: stdout; file:PATH[?max-bytes=N&keep=N&fsync=batch|none]; splunk+https://HOST:PORT?token-env=NAME; https://HOST/PATH (JSON lines); syslog+udp|tcp|tls://HOST:PORT; kafka://BROKER:PORT/TOPIC. README.md lists every option. Example: --output cef:syslog+tls://127.0.0.1:6514?ca=ca.pem",
        valueName: "format:sink"))
    var outputs: [String] = []

    @Option(name: .customLong("alert-dead-letter"), help: "NDJSON file for alerts a sink refused or could not take after its retries (default: stderr).")
    var alertDeadLetter: String?

    func validate() throws {
        for output in outputs { _ = try OutputSpecification(parsing: output) }
    }

    func run() throws {
        let ruleSet = RuleSet(paths: rulePaths, options: try ruleOptions.loadOptions(skipUnsupported: true))
        for warning in ruleSet.warnings { printToStandardError(["warning: \(warning)"]) }
        guard ruleSet.problems.isEmpty else {
            printToStandardError(ruleSet.problems.map(\.description))
            throw ValidationError("\(ruleSet.problems.count) rule problem(s); no input was read")
        }
        printToStandardError(["rules: \(ruleSet.rules.count) loaded, \(ruleSet.skipped.count) skipped (logsource not read by Pipewatch)"])

        let specifications = outputs.isEmpty
            ? [OutputSpecification(format: format, destination: .stdout)]
            : try outputs.map { try OutputSpecification(parsing: $0) }
        let outputs = try AlertOutputs(specifications, deadLetterPath: alertDeadLetter)
        let detection = Detection(ruleSet: ruleSet)
        let replay = FileReplay(
            deadLetter: try input.makeDeadLetter(), showProgress: input.showProgress, maxRecordBytes: input.maxRecordBytes)
        var batchID: UInt64 = 0
        let stats = try replay.run(input.inputs) { decoder, _ in
            detection.evaluate(decoder) { outputs.append($0) }
            // One batch per chunk; a full sink queue blocks here (backpressure).
            batchID += 1
            outputs.submit(batch: batchID)
        }
        outputs.close()
        printToStandardError(stats.summaryLines() + detection.summaryLines() + outputs.summaryLines()
            + [String(format: "events/s: %.0f", stats.seconds > 0 ? Double(stats.events) / stats.seconds : 0)])
        if stats.badRecords > 0 || !stats.inputErrors.isEmpty || outputs.anyDeadLettered { throw ExitStatus.incomplete }
    }
}
