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
        discussion: "Sinks: stdout; file:PATH[?max-bytes=N&keep=N&fsync=batch|none] (appends; rotates past max-bytes into PATH.1…PATH.keep; fsync=batch, the default, acknowledges a batch only once it is on disk). Example: --output cef:file:/var/log/pipewatch.cef?max-bytes=104857600",
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
        let queues = specifications.map {
            DeliveryQueue(sink: $0.makeSink(), deadLetterPath: alertDeadLetter)
        }
        let detection = Detection(ruleSet: ruleSet)
        let replay = FileReplay(
            deadLetter: try input.makeDeadLetter(), showProgress: input.showProgress, maxRecordBytes: input.maxRecordBytes)
        var batchID: UInt64 = 0
        var batches = [[[UInt8]]](repeating: [], count: specifications.count)
        let stats = try replay.run(input.inputs) { decoder, _ in
            detection.evaluate(decoder) { alert in
                for (k, specification) in specifications.enumerated() { batches[k].append(specification.format.format(alert)) }
            }
            // One batch per chunk and sink; a full sink queue blocks here (backpressure).
            for (k, queue) in queues.enumerated() where !batches[k].isEmpty {
                batchID += 1
                queue.submit(DeliveryQueue.Batch(id: batchID, payloads: batches[k]))
                batches[k].removeAll(keepingCapacity: true)
            }
        }
        for queue in queues { queue.close() }
        let sinkLines = queues.map { queue in
            let counts = queue.statistics
            return "sink \(queue.sink.name): \(counts.delivered) batches delivered, \(counts.deadLettered) dead-lettered, \(counts.failedAttempts) failed attempts"
        }
        printToStandardError(stats.summaryLines() + detection.summaryLines() + sinkLines
            + [String(format: "events/s: %.0f", stats.seconds > 0 ? Double(stats.events) / stats.seconds : 0)])
        let alertsDeadLettered = queues.contains { $0.statistics.deadLettered > 0 }
        if stats.badRecords > 0 || !stats.inputErrors.isEmpty || alertsDeadLettered { throw ExitStatus.incomplete }
    }
}
