import ArgumentParser
import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

extension AlertFormat: ExpressibleByArgument {}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the whole pipeline on files: alerts on stdout (OCSF Detection Findings by default).",
        discussion: """
            Rules whose logsource Pipewatch does not read (e.g. Windows rules in a SigmaHQ checkout) are skipped \
            and counted; a rule with an error stops the run before any input is read, naming file, line and reason.

            Correlations, detectors and tuned rules run in event time: their matches are buffered and put in order \
            until the watermark (the latest event time minus --allowed-lateness) passes them, so the order in which \
            files and records arrive within that lateness does not change the alerts. Older records are late: they \
            go to --late (stderr without it) and make the exit status 2. With --state the detector state is loaded \
            at the start (with the position reached, so the same inputs resume where they stopped) and saved at the \
            end; the input is then not the end of the stream unless --final is given.

            Files are read one after another, so each source the inputs carry holds the release back until its first \
            event: its records are not late for coming after another source's files. The sources are those of the \
            first record of each input file (stdin and pipes are not looked at); --sources names them instead. A \
            source none of whose records arrives while the leading source's event time moves on by --idle-timeout is \
            idle: it no longer holds the others back, and its records that then arrive behind the release are late.
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

    @Option(name: .customLong("allowed-lateness"), help: ArgumentHelp(
        "How far behind the latest event time a record may arrive and still count (e.g. 30s, 5m, 1h).", valueName: "duration"))
    var allowedLateness = "1h"

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "How far the leading source's event time may move on while no record of another source arrives before that source is idle and no longer holds the others back (default: the allowed lateness; 'off': never).",
        valueName: "duration"))
    var idleTimeout: String?

    @Option(name: .customLong("sources"), help: ArgumentHelp(
        "The sources the inputs carry, comma-separated, instead of those found in the first record of each file; 'none' for no source held back before its first event.",
        discussion: "Sources: " + EventSource.allCases.map(\.name).joined(separator: ", ") + ".",
        valueName: "names"))
    var sources: String?

    @Option(name: .customLong("late"), help: "NDJSON file for late records (default: the first ten on stderr, and their count).")
    var latePath: String?

    @Option(name: .customLong("signals"), help: "NDJSON file for signals: findings that did not alert (observe mode, learning, below the alert threshold, persist, suppressed).")
    var signalsPath: String?

    @Option(name: .customLong("state"), help: "Detector state file: restored at the start if it exists, saved (atomically) at the end and at checkpoints.")
    var statePath: String?

    @Flag(name: .customLong("final"), help: "With --state: the inputs end the stream (windows still open are judged before the state is saved).")
    var final = false

    @Option(name: .customLong("checkpoint-records"), help: "With --state: also save the state every N records.")
    var checkpointRecords: Int?

    @Option(name: .customLong("max-records"), help: "Stop after N records (counted from the start of the state), saving the state with the position reached.")
    var maxRecords: Int?

    @Option(name: .customLong("report"), help: ArgumentHelp(
        "Also write an investigation report: one self-contained HTML file (scope, alerts by severity, rule and entity, timeline, detector charts, evidence).",
        valueName: "file.html"))
    var reportPath: String?

    func validate() throws {
        for output in outputs { _ = try OutputSpecification(parsing: output) }
        guard DurationText.milliseconds(allowedLateness) != nil else {
            throw ValidationError("--allowed-lateness '\(allowedLateness)' is not a duration (a number and s, m, h or d)")
        }
        _ = try idleTimeoutMilliseconds()
        if let checkpointRecords, checkpointRecords <= 0 { throw ValidationError("--checkpoint-records must be positive") }
        if let maxRecords, maxRecords <= 0 { throw ValidationError("--max-records must be positive") }
        if checkpointRecords != nil && statePath == nil { throw ValidationError("--checkpoint-records needs --state") }
        _ = try declaredSources()
        if let reportPath { try ReportFile.checkWritable(reportPath) }
    }

    /// --idle-timeout in milliseconds: the allowed lateness without it, nil for `off`.
    func idleTimeoutMilliseconds() throws -> Int64? {
        guard let idleTimeout else { return DurationText.milliseconds(allowedLateness) }
        if idleTimeout == "off" { return nil }
        guard let milliseconds = DurationText.milliseconds(idleTimeout), milliseconds > 0 else {
            throw ValidationError("--idle-timeout '\(idleTimeout)' is not a duration (a number and s, m, h or d) or off")
        }
        return milliseconds
    }

    /// The sources named by --sources (nil without it).
    func declaredSources() throws -> Set<EventSource>? {
        guard let sources else { return nil }
        if sources == "none" { return [] }
        var declared = Set<EventSource>()
        for name in sources.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let source = EventSource(name: name) else {
                throw ValidationError("--sources: unknown source '\(name)'; expected \(EventSource.allCases.map(\.name).joined(separator: ", ")) or none")
            }
            declared.insert(source)
        }
        return declared
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
        let declared = try declaredSources()
        let expectedSources = declared ?? InputSources.sniff(input.inputs)
        let detection = Detection(ruleSet: ruleSet, detectorOptions: DetectorOptions(
            allowedLateness: DurationText.milliseconds(allowedLateness)!, collectSignals: signalsPath != nil,
            expectedSources: expectedSources, idleTimeout: try idleTimeoutMilliseconds()))
        if detection.detectors != nil {
            let names = EventSource.allCases.filter(expectedSources.contains).map(\.name)
            printToStandardError(["sources: \(names.isEmpty ? "none" : names.joined(separator: ", ")) held back until their first event ("
                + (declared == nil ? "found in the inputs; --sources to name them)" : "--sources)")])
        }
        let replay = FileReplay(
            deadLetter: try input.makeDeadLetter(), showProgress: input.showProgress, maxRecordBytes: input.maxRecordBytes,
            threads: input.threads)
        replay.progress?.showsAlerts = true
        let report = reportPath.map { ReplayReport(path: $0, inputs: input.inputs) }
        replay.observeEvents = report.map { report in { report.observe($0) } }
        func deliver(_ alert: Alert) {
            outputs.append(alert)
            replay.progress?.countAlerts()
            report?.add(alert)
        }
        let run: DetectorReplay
        do {
            run = try DetectorReplay(
                detection: detection, replay: replay, statePath: statePath, checkpointRecords: checkpointRecords, maxRecords: maxRecords)
        } catch {
            throw ValidationError("\(error)")
        }
        if let position = run.resumedFrom {
            printToStandardError(["state: resumed from \(statePath!) at \(position.file.isEmpty ? "the start" : position.file) (\(position.records) records done)"])
        }
        let late = try latePath.map { try OutputFile(path: $0) } ?? OutputFile.standardError()
        let signals = try signalsPath.map { try OutputFile(path: $0) }
        var lateRecords = 0
        func drainSideOutputs() throws {
            guard let stage = detection.detectors else { return }
            for record in stage.takeLateRecords() {
                lateRecords += 1
                if latePath != nil {
                    try late.write(record.json + [0x0A])
                } else if lateRecords <= 10 {
                    try late.write(Array("late: ".utf8) + record.json + [0x0A])
                }
            }
            for signal in stage.takeSignals() { try signals?.write(signal.json + [0x0A]) }
        }
        var batchID: UInt64 = 0
        func submit() throws {
            try drainSideOutputs()
            // One batch per chunk; a full sink queue blocks here (backpressure).
            batchID += 1
            outputs.submit(batch: batchID)
        }
        let stats = try run.run(input.inputs, handle: deliver, afterChunk: submit)
        if stats != nil {
            try run.finish(final: final || statePath == nil, handle: deliver)
            try submit()
        }
        try late.flush()
        try signals?.flush()
        outputs.close()
        var lines = stats?.summaryLines() ?? ["stopped after \(run.position?.records ?? 0) records (--max-records) at \(run.position?.file ?? "")"]
        lines += detection.summaryLines() + outputs.summaryLines()
        if lateRecords > 10 && latePath == nil {
            lines.append("late: \(lateRecords - 10) more late records not shown (--late FILE writes them all)")
        }
        if let statePath {
            lines.append("state: saved to \(statePath)" + (run.checkpoints > 0 ? " (\(run.checkpoints) checkpoints)" : ""))
        }
        if let stats {
            lines.append(String(format: "events/s: %.0f", stats.seconds > 0 ? Double(stats.events) / stats.seconds : 0))
        }
        if let report {
            lines.append(try report.write(
                stats: stats, recordsDone: run.position?.records ?? 0, ruleCount: ruleSet.rules.count, lateRecords: lateRecords))
        }
        printToStandardError(lines)
        let incomplete = (stats.map { $0.badRecords > 0 || !$0.inputErrors.isEmpty } ?? false) || lateRecords > 0
        if incomplete || outputs.anyDeadLettered { throw ExitStatus.incomplete }
    }
}
