import ArgumentParser
import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchOutput
import PipewatchReport

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an investigation report (one self-contained HTML file) from a saved alerts file.",
        discussion: """
            The alerts are OCSF Detection Findings, one per line: what `pipewatch replay` writes by default (gzip \
            and zstd are detected). The page shows the alerts by severity, rule, entity and hour, a timeline, the \
            detectors' charts and each alert's evidence; it loads nothing from anywhere. Activity per source is \
            drawn from the alerts alone (`replay --report` draws every event read). Lines that are not findings \
            are reported on stderr and make the exit status 2.
            """)

    @Argument(help: "The alerts file (NDJSON of OCSF Detection Findings); '-' reads stdin.")
    var alerts: String

    @Option(name: .customLong("output"), help: ArgumentHelp(
        "The HTML file to write (default: the alerts file's path with .html for its extension; stdout for stdin).",
        valueName: "file.html"))
    var output: String?

    func validate() throws {
        if let output, output != "-" { try ReportFile.checkWritable(output) }
    }

    func run() throws {
        let destination = output ?? (alerts == "-" ? "-" : ReportFile.defaultPath(for: alerts))
        let report = InvestigationReport(scope: ReportScope(command: ReportFile.commandLine(), inputs: [alerts]))
        let reader = RecordReader()
        var unreadable = 0
        let summary = reader.read(alerts) { chunk in
            for record in chunk.records {
                do {
                    if let problem = record.problem { throw InvestigationReport.UnreadableAlert(description: "\(problem)") }
                    try report.add(UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count))
                } catch {
                    unreadable += 1
                    let position = record.line > 0 ? "line \(record.line)" : "offset \(record.streamOffset)"
                    if unreadable <= 10 { printToStandardError(["report: \(alerts): \(position): \(error)"]) }
                }
            }
        }
        if let error = summary.error, summary.records == 0 {
            throw ValidationError("cannot read \(error)")
        }
        report.scope.unreadableLines = unreadable
        let bytes = report.html(generatedAt: ReportFile.now(), version: PipewatchRelease.version)
        try ReportFile.write(bytes, to: destination)
        var lines: [String] = []
        if unreadable > 10 { lines.append("report: \(unreadable - 10) more unreadable lines not shown") }
        if let error = summary.error { lines.append("input error: \(error)") }
        lines.append(ReportFile.summaryLine(report, path: destination, bytes: bytes.count))
        printToStandardError(lines)
        if unreadable > 0 || summary.error != nil { throw ExitStatus.incomplete }
    }
}

/// Where a report goes, and what is said about it.
enum ReportFile {
    static func defaultPath(for input: String) -> String {
        let url = URL(fileURLWithPath: input)
        var base = url.deletingPathExtension()
        // alerts.ndjson.gz → alerts.html
        if ["gz", "zst", "zstd"].contains(url.pathExtension.lowercased()) { base = base.deletingPathExtension() }
        return base.path + ".html"
    }

    /// Refuses a report path whose directory does not exist or cannot be written, before any work is done.
    static func checkWritable(_ path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(directory, W_OK) == 0 else {
            throw ValidationError("cannot write the report \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Written whole to a temporary file and renamed, so that a report being replaced is never seen half-written.
    static func write(_ bytes: [UInt8], to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationError("cannot write the report \(path): \(error.localizedDescription)")
        }
    }

    static func summaryLine(_ report: InvestigationReport, path: String, bytes: Int) -> String {
        "report: \(report.alertCount) alerts, written to \(path == "-" ? "stdout" : path) (\(bytes) bytes)"
    }

    static func now() -> String {
        Timestamp.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).replacingOccurrences(of: "T", with: " ")
    }

    /// The command line as typed, arguments with spaces or quotes quoted for a shell.
    static func commandLine() -> String {
        (["pipewatch"] + CommandLine.arguments.dropFirst()).map { argument in
            argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }) && !argument.isEmpty
                ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
