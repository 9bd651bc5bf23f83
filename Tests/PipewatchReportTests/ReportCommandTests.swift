import Foundation
import PipewatchTestSupport
import Testing

/// The replay of the bundled samples with the rule pack, as `make run` does, with `--report`.
struct SampleReplay {
    let dir: TemporaryDirectory
    let result: PipewatchProcess.Result
    let report: String
    /// Each alert on stdout, parsed.
    let alerts: [[String: Any]]

    init() throws {
        dir = try TemporaryDirectory()
        report = dir.path("samples.html")
        result = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/", "--report", report])
        alerts = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    var uids: [String] { alerts.compactMap { ($0["finding_info"] as? [String: Any])?["uid"] as? String } }
    var recordIDs: Set<String> { Set(alerts.compactMap { ($0["metadata"] as? [String: Any])?["correlation_uid"] as? String }) }
}

@Suite struct ReportCommandTests {
    @Test func replayWritesTheReportAndReportRebuildsItFromTheSavedAlerts() throws {
        let run = try SampleReplay()
        #expect(run.result.status == 2, "the broken sample records are dead-lettered: \(run.result.stderr)")
        #expect(run.alerts.count == 41)
        let html = run.dir.read("samples.html")
        #expect(run.result.stderr.contains("report: 41 alerts, written to \(run.report) (\(html.utf8.count) bytes)"))
        for uid in run.uids { #expect(html.contains("data-uid=\"\(uid)\""), "alert \(uid) not in the report") }
        #expect(html.contains("<code>pipewatch replay samples/ --rules rules/ --report \(run.report)</code>"))
        #expect(html.contains("aws.cloudtrail: 54 events; k8s.audit: 26 events; gcp.audit: 18 events; mlflow.webhook: 19 events"))
        #expect(html.contains("Activity per source: every event read"))
        #expect(html.contains("<svg class=\"chart\" id=\"timeline-chart\""))
        #expect(Page.statedSize(html) == html.utf8.count)

        // The saved alerts, reported on their own: the same alerts, activity from the alerts only.
        let saved = try run.dir.write("alerts.ndjson", run.result.stdout)
        let report = try PipewatchProcess.run(["report", saved])
        #expect(report.status == 0, "\(report.stderr)")
        let page = run.dir.read("alerts.html")
        #expect(report.stderr.contains("report: 41 alerts, written to \(run.dir.path("alerts.html"))"))
        for uid in run.uids { #expect(page.contains("data-uid=\"\(uid)\"")) }
        #expect(page.contains("Activity per source is drawn from the alerts only"))
        #expect(!page.contains("events per source"))
    }

    @Test func linesThatAreNoFindingsAreNamedAndCounted() throws {
        let run = try SampleReplay()
        let lines = run.result.stdout.split(separator: "\n").map(String.init)
        let input = try run.dir.write("mixed.ndjson", [lines[0], "{oops", #"{"class_uid": 3002, "time": 1}"#, lines[1]].joined(separator: "\n") + "\n")
        let output = run.dir.path("mixed-report.html")
        let result = try PipewatchProcess.run(["report", input, "--output", output])
        #expect(result.status == 2)
        #expect(result.stderr.contains("report: \(input): line 2: invalid JSON"), "\(result.stderr)")
        #expect(result.stderr.contains("report: \(input): line 3: not an OCSF Detection Finding"))
        #expect(result.stderr.contains("report: 2 alerts, written to \(output)"))
        #expect(run.dir.read("mixed-report.html").contains("2 lines of the input were not OCSF Detection Findings"))
    }

    @Test func anUnwritableReportIsRefusedBeforeAnyWork() throws {
        let result = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/", "--report", "/nonexistent/dir/r.html"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("cannot write the report /nonexistent/dir/r.html"))
        #expect(!result.stderr.contains("rules:"), "refused before the rules are loaded")
    }
}
