import Foundation
import PipewatchOutput
import PipewatchReport
import PipewatchTestSupport
import Testing

/// OCSF findings as Pipewatch writes them, made from CloudTrail records through the real normalizer and formatter.
enum Findings {
    static let payload = #"</script><img src=x onerror=alert(1)>"#

    static func cloudTrail(
        user: String = "bob", ip: String = "203.0.113.77", time: String = "2026-11-05T02:31:07Z", eventID: String = "evt-1",
        eventName: String = "CreateAccessKey", userAgent: String = "aws-cli/2.15", padding: Int = 0
    ) -> String {
        /// The JSON string literal of `text`, quotes included.
        func json(_ text: String) -> String {
            let array = String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self)
            return String(array.dropFirst().dropLast())
        }
        let arn = "arn:aws:iam::111122223333:user/" + user
        let note = String(repeating: "x", count: padding)
        return #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":\#(json(arn)),"accountId":"111122223333","userName":\#(json(user))},"eventTime":"\#(time)","eventSource":"iam.amazonaws.com","eventName":"\#(eventName)","awsRegion":"us-east-1","sourceIPAddress":"\#(ip)","userAgent":\#(json(userAgent)),"requestParameters":{"userName":\#(json(user)),"note":\#(json(note))},"eventID":\#(json(eventID)),"recipientAccountId":"111122223333"}"#
    }

    static func rule(_ n: Int, level: Severity = .high, title: String? = nil) -> AlertRule {
        AlertRule(
            id: "00000000-0000-4000-8000-\(String(format: "%012d", n))", title: title ?? "Rule \(n)", level: level,
            tags: ["attack.t1098.001", "attack.persistence"])
    }

    static func finding(_ record: String, rule: AlertRule) throws -> [UInt8] {
        OCSFDetectionFinding.format(try makeAlert(record, rule: rule))
    }

    /// A finding whose evidence is a detector's: `{"detector": {…}, "event": <the rule alert's event>}`.
    static func detectorFinding(_ record: String, rule: AlertRule, detector: [String: Any]) throws -> [UInt8] {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(try finding(record, rule: rule))) as? [String: Any])
        var evidences = try #require(object["evidences"] as? [[String: Any]])
        evidences[0]["data"] = ["detector": detector, "event": evidences[0]["data"] as Any]
        object["evidences"] = evidences
        return [UInt8](try JSONSerialization.data(withJSONObject: object))
    }
}

/// The page's own words, read back.
enum Page {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The size the page states for itself.
    static func statedSize(_ html: String) -> Int? {
        guard let range = html.range(of: #"This file:\s*([0-9,]+) bytes"#, options: .regularExpression) else { return nil }
        return Int(html[range].filter(\.isNumber))
    }

    /// Every tag name in the page.
    static func tags(_ html: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "!" || $0 == "/" }
            names.insert(name.lowercased().replacingOccurrences(of: "/", with: ""))
        }
        return names
    }

    static func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }
}

@Suite struct InvestigationReportTests {
    /// What the page may contain: a tag an alert field smuggled in would show up here.
    static let allowedTags: Set<String> = [
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "nav", "a", "main",
        "section", "table", "tr", "th", "td", "code", "ul", "li", "div", "b", "span", "br", "svg", "text", "line", "rect",
        "g", "circle", "polyline", "path", "details", "summary", "ol", "time", "article", "pre",
    ]

    @Test func attackerControlledFieldsRenderAsText() throws {
        let payload = Findings.payload
        let report = InvestigationReport(scope: ReportScope(command: "pipewatch report \(payload)", inputs: [payload]))
        let rule = Findings.rule(1, title: "Title \(payload)")
        try report.add(json: try Findings.finding(
            Findings.cloudTrail(user: payload, eventID: "evt-\(payload)", userAgent: payload), rule: rule))
        let html = Page.text(report.html(generatedAt: payload, version: "0"))

        #expect(!html.contains("<img"))
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"))
        let unexpected = Page.tags(html).subtracting(Self.allowedTags)
        #expect(unexpected.isEmpty, "tags the writer never writes: \(unexpected)")
        // Nothing that could load: no URL in an attribute, and the policy forbids loads anyway.
        #expect(html.range(of: #"<[^>]*\ssrc="#, options: .regularExpression) == nil)
        #expect(!html.contains("href=\"http"))
        #expect(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"))
        #expect(report.alertCount == 1)
    }

    @Test func beyondTheLimitAlertsAreCountedNotListed() throws {
        var limits = ReportLimits()
        limits.detailedAlerts = 40
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["alerts.ndjson"]), limits: limits)
        let levels: [Severity] = [.low, .medium, .high]
        for i in 0..<150 {
            let record = Findings.cloudTrail(
                user: "user\(i % 7)", time: "2026-11-05T0\(i % 10):1\(i % 6):00Z", eventID: "evt-\(i)")
            try report.add(json: try Findings.finding(record, rule: Findings.rule(i % 3, level: levels[i % 3])))
        }
        let html = Page.text(report.html(generatedAt: "now", version: "0"))
        #expect(report.alertCount == 150)
        #expect(Page.count("<article class=\"alert\"", in: html) == 40)
        #expect(html.contains("The first 40 of 150 alerts are shown one by one"))
        // Every alert counted: per rule (50 each) and per principal (user0 has alerts 0, 7, 14, … : 22 of them).
        #expect(Page.count("<td class=\"n\">50</td>", in: html) == 3)
        #expect(html.contains("<code>arn:aws:iam::111122223333:user/user0</code></td><td class=\"n\">22</td>"))
        // Per hour: ten hours of 15 alerts.
        #expect(Page.count("</td><td class=\"n\">15</td>", in: html) == 10)
    }

    @Test func theSizeIsBoundedAndStated() throws {
        var limits = ReportLimits()
        limits.detailedAlerts = 60
        limits.evidenceBytesPerAlert = 8 << 10
        limits.evidenceBytesInAll = 200 << 10
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["big"]), limits: limits)
        // Records of 100 KB each: their evidence is cut per alert, then left out once the budget is spent.
        for i in 0..<80 {
            let record = Findings.cloudTrail(user: "u\(i)", eventID: "evt-\(i)", padding: 100_000)
            try report.add(json: try Findings.finding(record, rule: Findings.rule(1)))
        }
        let bytes = report.html(generatedAt: "now", version: "0")
        let html = Page.text(bytes)
        #expect(Page.statedSize(html) == bytes.count)
        #expect(bytes.count < limits.evidenceBytesInAll + 600_000, "\(bytes.count) bytes")
        #expect(bytes.count <= limits.maxPageBytes)
        #expect(html.contains("Cut at 8,192 bytes"))
        #expect(html.contains("alerts is cut or left out"))
        #expect(Page.count("<details><summary>Evidence", in: html) == 25, "200 KiB of evidence holds 25 alerts of 8 KiB")
    }

    @Test func thePageNeverPassesItsSizeLimit() throws {
        var limits = ReportLimits()
        limits.maxPageBytes = 300_000
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["big"]), limits: limits)
        for i in 0..<200 {
            let record = Findings.cloudTrail(user: "u\(i)", eventID: "evt-\(i)", padding: 30_000)
            try report.add(json: try Findings.finding(record, rule: Findings.rule(i % 4)))
        }
        let bytes = report.html(generatedAt: "now", version: "0")
        let html = Page.text(bytes)
        #expect(bytes.count <= 300_000)
        #expect(Page.statedSize(html) == bytes.count)
        let listed = Page.count("<article class=\"alert\"", in: html)
        #expect(listed > 0 && listed < 200)
        #expect(html.contains("\(200 - listed) more alerts are not listed: the page keeps to its size limit of 300,000 bytes."))
        #expect(html.contains("</html>"))
    }

    @Test func theDefaultLimitShowsTwoThousandAlertsInDetail() throws {
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["x"]))
        let finding = try Findings.finding(Findings.cloudTrail(), rule: Findings.rule(1))
        let text = Page.text(finding)
        for i in 0..<2_100 {
            let copy = text.replacingOccurrences(of: #""uid":"[0-9a-f-]{36}""#, with: "\"uid\":\"alert-\(i)\"", options: .regularExpression)
            try report.add(json: Array(copy.utf8))
        }
        let html = Page.text(report.html(generatedAt: "now", version: "0"))
        #expect(Page.count("<article class=\"alert\"", in: html) == 2_000)
        #expect(html.contains("The first 2,000 of 2,100 alerts"))
    }

    @Test func detectorEvidenceBecomesCharts() throws {
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["x"]))
        let volume = Findings.rule(7, level: .medium, title: "Volume above baseline")
        for (hour, value) in [(1, 12.0), (2, 57.0)] {
            try report.add(json: try Findings.detectorFinding(
                Findings.cloudTrail(time: "2026-11-05T0\(hour):00:00Z", eventID: "v\(hour)"), rule: volume, detector: [
                    "type": "volume", "rule": volume.id, "group": ["actor.user": "bob"], "value": value, "mean": 3.25,
                    "sigma": 1.5, "threshold": 3, "window": ["start": "2026-11-05T0\(hour):00:00.000Z", "end": "2026-11-05T0\(hour + 1):00:00.000Z"],
                ]))
        }
        let newValue = Findings.rule(8, level: .high, title: "New principal on the registry")
        try report.add(json: try Findings.detectorFinding(
            Findings.cloudTrail(user: "mallory", eventID: "n1"), rule: newValue, detector: [
                "type": "new_value", "rule": newValue.id, "group": ["api.service": "iam"], "field": ["actor.user"],
                "new_value": "mallory",
            ]))
        let html = Page.text(report.html(generatedAt: "now", version: "0"))
        #expect(Page.count("<svg class=\"chart volume-chart\"", in: html) == 1, "one chart for the rule and group")
        #expect(Page.count("<rect class=\"band\"", in: html) == 2)
        // The band's text: mean ± threshold × σ, and the value judged.
        #expect(html.contains("baseline band: mean 3.25 ± 3 × σ 1.5"))
        #expect(html.contains("Latest: 57 against a mean of 3.25 (σ 1.5)"))
        #expect(html.contains("actor.user=bob"))
        #expect(Page.count("<svg class=\"chart newvalue-chart\"", in: html) == 1)
        #expect(html.contains("first sighting of mallory"))
        #expect(html.contains("api.service=iam"))
    }

    @Test func entitiesListTheirAlertsInTimeOrder() throws {
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["x"]))
        // Read out of order: the section lists them by time.
        for (minute, rule) in [(40, 3), (10, 1), (25, 2)] {
            try report.add(json: try Findings.finding(
                Findings.cloudTrail(user: "mallory", time: "2026-11-05T03:\(minute):00Z", eventID: "e\(minute)"),
                rule: Findings.rule(rule, title: "Step \(rule)")))
        }
        let html = Page.text(report.html(generatedAt: "now", version: "0"))
        let section = try #require(html.components(separatedBy: "<details class=\"entity\" id=\"entity-principal-0\"").dropFirst().first)
        let list = section.components(separatedBy: "</details>")[0]
        let positions = ["Step 1", "Step 2", "Step 3"].map { list.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(html.contains("<h3 id=\"entities-address\">Source addresses (1)</h3>"))
    }

    /// OCSF lists a technique once per tactic; the report names it once, with its tactics.
    @Test func aTechniqueUnderTwoTacticsIsOneLine() throws {
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["x"]))
        let rule = AlertRule(id: "00000000-0000-4000-8000-000000000009", title: "Two tactics", level: .high,
                             tags: ["attack.initial-access", "attack.persistence", "attack.t1078.004"])
        try report.add(json: try Findings.finding(Findings.cloudTrail(), rule: rule))
        let html = Page.text(report.html(generatedAt: "now", version: "0"))
        #expect(html.components(separatedBy: "T1078.004 Cloud Accounts (Initial Access, Persistence)").count == 3,
                "once in the rule table, once in the alert")
        #expect(!html.contains("Cloud Accounts<br>T1078.004"))
    }

    @Test func aLineThatIsNoFindingIsRefusedWithTheReason() throws {
        let report = InvestigationReport(scope: ReportScope(command: "test", inputs: ["x"]))
        #expect(throws: InvestigationReport.UnreadableAlert.self) { try report.add(json: Array(#"{"class_uid": 3002}"#.utf8)) }
        #expect(throws: InvestigationReport.UnreadableAlert.self) { try report.add(json: Array("{not json".utf8)) }
        #expect(report.alertCount == 0)
    }
}
