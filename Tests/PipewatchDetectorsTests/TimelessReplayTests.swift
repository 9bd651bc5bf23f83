import Foundation
import PipewatchEvents
import Testing

/// Records of a known source without any time, replayed with stand-alone rules and a correlation on the same rule:
/// the rules alert on them (the alerts marked), the correlation never counts them, nothing is late or refused, and
/// the summary counts them.
@Suite struct TimelessReplayTests {
    static let rules = """
        title: Access denied
        id: denied
        name: denied
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                errorCode: AccessDenied
            condition: selection
        level: low
        ---
        title: Access denied burst
        id: burst
        correlation:
            type: event_count
            rules: [denied]
            group-by: [userIdentity.userName]
            timespan: 10m
            condition: {gte: 4}
        generate: true
        ---
        title: Secret read
        id: secret-read
        logsource: {product: kubernetes, service: audit}
        detection:
            selection:
                verb: get
                objectRef.resource: secrets
            condition: selection
        level: medium
        """

    /// Three denied calls with their time, three without (an export that dropped eventTime, one null, one empty),
    /// and a Kubernetes event without auditID, stage or any timestamp.
    static func records() -> [String] {
        let timed = (0..<3).map { trail(at: monday + Int64($0) * minute, user: "mallory", error: "AccessDenied") }
        let stamp = #""eventTime":"\#(Timestamp.format(milliseconds: monday))","#
        let timeless = [
            timed[0].replacingOccurrences(of: stamp, with: "").replacingOccurrences(of: "evt-", with: "lake-"),
            timed[1].replacingOccurrences(of: #""eventTime":"2026-01-05T00:01:00.000Z""#, with: #""eventTime":null"#)
                .replacingOccurrences(of: #""eventID":"evt-"#, with: #""eventID":"null-"#),
            timed[2].replacingOccurrences(of: #""eventTime":"2026-01-05T00:02:00.000Z""#, with: #""eventTime":"""#)
                .replacingOccurrences(of: #""eventID":"evt-"#, with: #""eventID":"empty-"#),
        ]
        let kubernetes = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","requestURI":"/api/v1/namespaces/ml/secrets/registry-token","verb":"get","user":{"username":"system:serviceaccount:ml:trainer"},"sourceIPs":["10.4.0.9"],"objectRef":{"resource":"secrets","namespace":"ml","name":"registry-token","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}"#
        return timed + timeless + [kubernetes]
    }

    @Test func timelessRecordsAlertOnTheirOwnAreLeftOutOfCorrelationsAndAreCounted() throws {
        let dir = try TemporaryDirectory()
        let records = Self.records()
        #expect(records.filter { !$0.contains("\"eventTime\":\"2026") }.count == 4)
        let input = try dir.write("records.ndjson", records.joined(separator: "\n") + "\n")
        let rules = try dir.write("rules.yml", Self.rules)
        let result = try pipewatch(["replay", input, "--rules", rules, "--dead-letter", dir.path("dead.ndjson")])
        #expect(result.status == 0, "nothing refused, nothing late: \(result.stderr)")
        #expect(dir.read("dead.ndjson").isEmpty)
        #expect(!result.stderr.contains("late:"), "\(result.stderr)")
        #expect(result.stderr.contains("records: 7, bad records: 0"), "\(result.stderr)")
        #expect(result.stderr.contains("events: 7 ("), "\(result.stderr)")
        #expect(result.stderr.contains("), without time: 4"), "\(result.stderr)")
        // The detector stage saw the three denied calls without time and left them out.
        #expect(result.stderr.contains("late records: 0, without time: 3"), "\(result.stderr)")

        let alerts = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        func rule(_ alert: [String: Any]) -> String {
            ((alert["finding_info"] as? [String: Any])?["analytic"] as? [String: Any])?["uid"] as? String ?? ""
        }
        func timeAbsent(_ alert: [String: Any]) -> Bool {
            (alert["unmapped"] as? [String: Any])?["time_absent"] as? Bool == true
        }
        let denied = alerts.filter { rule($0) == "denied" }
        #expect(denied.count == 6, "every denied call alerts on its own (generate: true)")
        #expect(denied.filter(timeAbsent).count == 3)
        #expect(denied.filter { !timeAbsent($0) }.compactMap { ($0["time"] as? NSNumber)?.int64Value }.sorted()
            == [monday, monday + minute, monday + 2 * minute])
        let secret = alerts.filter { rule($0) == "secret-read" }
        #expect(secret.count == 1 && secret.allSatisfy(timeAbsent))
        // Six denied calls of one user within minutes would reach 4; the three with a time do not.
        #expect(!alerts.contains { rule($0) == "burst" }, "\(alerts.map(rule))")
        #expect(alerts.count == 7)
        // `unmapped` and a creation time keep them valid Detection Findings.
        let verdict = try OCSFValidationTests.validate(result.stdout)
        #expect(verdict.events == 7 && verdict.failed == 0, "\(verdict.report)")
    }
}
