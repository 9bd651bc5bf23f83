import Foundation
import PipewatchEvents
import PipewatchOutput
import PipewatchPipeline
import PipewatchReport

/// What `replay --report FILE` adds to a replay: every event's time per source (the timeline's activity), every
/// alert as the OCSF finding it is on the wire (so the page is the one `pipewatch report` makes of the saved
/// alerts, plus the events), and the run's scope at the end.
final class ReplayReport {
    let path: String
    let report: InvestigationReport
    private var activity = TimeHistogram(seriesCount: EventSource.allCases.count)

    init(path: String, inputs: [String]) {
        self.path = path
        report = InvestigationReport(scope: ReportScope(command: ReportFile.commandLine(), inputs: inputs))
    }

    /// One chunk's events (a histogram update each, only when a report is asked for).
    func observe(_ decoder: EventDecoder) {
        for event in decoder.events where event.time != Event.unknownTime {
            activity.add(event.time, series: Int(event.source.rawValue))
        }
    }

    func add(_ alert: Alert) {
        // A finding Pipewatch wrote always reads back.
        try? report.add(json: OCSFDetectionFinding.format(alert))
    }

    /// Writes the page; the summary line saying where.
    func write(stats: RunStatistics?, recordsDone: Int, ruleCount: Int, lateRecords: Int) throws -> String {
        var scope = report.scope
        scope.ruleCount = ruleCount
        scope.records = stats?.records ?? recordsDone
        scope.badRecords = stats?.badRecords
        scope.lateRecords = lateRecords
        if let stats {
            scope.eventsBySource = EventSource.allCases.map { ($0.name, stats.eventsBySource[Int($0.rawValue)]) }
        }
        scope.activity = activity
        scope.activitySources = EventSource.allCases.map(\.name)
        report.scope = scope
        let bytes = report.html(generatedAt: ReportFile.now(), version: PipewatchRelease.version)
        try ReportFile.write(bytes, to: path)
        return ReportFile.summaryLine(report, path: path, bytes: bytes.count)
    }
}
