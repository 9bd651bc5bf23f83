import Foundation
import PipewatchReport
import PipewatchTestSupport
import Testing

/// The report opened from disk in headless Chromium: it loads with no console error and no request but its own
/// file, and shows the timeline and every alert. The negative tests show that the checks catch a page that loads
/// something.
@Suite(.serialized) struct ReportInBrowserTests {
    static func fileURL(_ path: String) -> String { URL(fileURLWithPath: path).absoluteString }

    /// The requests that are not the page's own file.
    static func foreign(_ load: HeadlessChromium.PageLoad, page: String) -> [String] {
        load.requests.filter { $0 != fileURL(page) }
    }

    @Test func theSamplesReportLoadsNothingAndShowsEveryAlert() throws {
        #expect(HeadlessChromium.isInstalled, "Debian's chromium is a test dependency (make deps installs it)")
        let run = try SampleReplay()
        #expect(run.alerts.count == 41)
        let browser = try HeadlessChromium()
        let load = try browser.load(Self.fileURL(run.report))
        #expect(load.requests == [Self.fileURL(run.report)], "requests: \(load.requests)")
        #expect(load.errors.isEmpty, "console errors: \(load.errors)")
        #expect(load.dom.contains("<svg class=\"chart\" id=\"timeline-chart\""))
        #expect(load.dom.contains("<svg class=\"chart\" id=\"swimlane-chart\""))
        for uid in run.uids { #expect(load.dom.contains("data-uid=\"\(uid)\""), "alert \(uid) not in the DOM") }
        for record in run.recordIDs { #expect(load.dom.contains(record), "planted record \(record) not in the DOM") }
        // The attack's key steps, one per source (samples/README.md).
        for id in ["f77b2b63", "a35c6c65", "26254597", "1be03a97", "w15ztq7fluyb", "8073931d", "098bb19d"] {
            #expect(load.dom.contains("record <code>\(id)"), "planted record \(id)")
        }
    }

    @Test func anInjectedTagStaysText() throws {
        let dir = try TemporaryDirectory()
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: [Findings.payload]))
        try report.add(json: try Findings.finding(
            Findings.cloudTrail(user: Findings.payload, userAgent: Findings.payload), rule: Findings.rule(1, title: Findings.payload)))
        let page = try dir.write("hostile.html", report.html(generatedAt: "now", version: "0"))
        let load = try HeadlessChromium().load(Self.fileURL(page))
        #expect(load.errors.isEmpty, "\(load.errors)")
        #expect(Self.foreign(load, page: page).isEmpty)
        #expect(!load.dom.contains("<img"), "an <img> element was made from an alert field")
        // As text where the page shows it: the alert's title and its principal.
        #expect(load.dom.contains("<b>&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</b>"))
        #expect(load.dom.contains("principal <code>arn:aws:iam::111122223333:user/&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</code>"))
    }

    /// A page that does load a remote image: the request is seen (and the server got it), so the check above
    /// would fail on such a report.
    @Test func aPageThatLoadsARemoteResourceIsCaught() throws {
        let server = try LoopbackHTTPServer()
        let dir = try TemporaryDirectory()
        let page = try dir.write("remote.html", "<!DOCTYPE html><html><body><p>x</p><img src=\"\(server.url)/probe.png\"></body></html>")
        let load = try HeadlessChromium().load(Self.fileURL(page))
        #expect(Self.foreign(load, page: page) == ["\(server.url)/probe.png"])
        #expect(server.log.contains("GET /probe.png"), "the loopback server saw the request: \(server.log)")
    }

    /// The same image in a page with the report's policy: DevTools still reports the attempt, the policy refuses it
    /// before anything leaves the browser, and the refusal is a console error: either check above would fail.
    @Test func theReportsPolicyRefusesARemoteResourceAndSaysSo() throws {
        let server = try LoopbackHTTPServer()
        let dir = try TemporaryDirectory()
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: []))
        let html = String(decoding: report.html(generatedAt: "now", version: "0"), as: UTF8.self)
            .replacingOccurrences(of: "</main>", with: "<img src=\"\(server.url)/blocked.png\"></main>")
        let page = try dir.write("policy.html", html)
        let load = try HeadlessChromium().load(Self.fileURL(page))
        #expect(Self.foreign(load, page: page) == ["\(server.url)/blocked.png"], "\(load.requests)")
        #expect(load.errors.contains { $0.contains("Content Security Policy") && $0.contains("blocked.png") }, "\(load.errors)")
        #expect(!server.log.contains("blocked.png"))
    }
}

/// Python's http.server on a loopback port, logging each request.
final class LoopbackHTTPServer {
    let process: ChildProcess
    let dir: TemporaryDirectory
    let url: String

    init() throws {
        dir = try TemporaryDirectory()
        let port = try Loopback.freePort()
        process = try ChildProcess(
            "python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir.path(".")],
            stdout: dir.path("server.log"), stderr: dir.path("server.log"))
        url = "http://127.0.0.1:\(port)"
        guard Loopback.waitUntilAccepting(port, while: { process.isRunning }) else {
            throw HeadlessChromium.Failure(description: "http.server did not start: \(dir.read("server.log"))")
        }
    }

    var log: String { dir.read("server.log") }

    deinit { process.terminate() }
}
