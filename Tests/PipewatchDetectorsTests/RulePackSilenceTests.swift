import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules
import Testing

/// Audit-trail silence: a source, an account and an MLflow registry that stop sending.
@Suite struct RulePackSilenceTests {
    static let files = [
        "pipewatch_audit_source_silent.yml", "pipewatch_cloud_account_audit_silent.yml", "pipewatch_mlflow_registry_webhook_silent.yml",
    ].map { PackRecords.repository + $0 }

    static func summary(_ alerts: [Alert]) -> [String] {
        alerts.sorted { ($0.time, $0.rule.id) < ($1.time, $1.rule.id) }.map { alert in
            let detector = StageHarness.detector(alert)
            let group = (detector["group"] as? [String: Any]) ?? [:]
            let name = group["cloud.account"] as? String ?? group["source"] as? String ?? "?"
            return "\(name) \(detector["silence"] as? String ?? "?") \(Timestamp.format(milliseconds: alert.time))"
        }
    }

    /// 14 days: Kubernetes and two AWS accounts every 5 minutes, one MLflow delivery a day. A 3-hour CloudTrail gap on
    /// day 2 (learning), account 444455556666 gone from day 9 12:00, all of CloudTrail gone on day 10 from 19:55 to
    /// 22:00, MLflow gone after day 9.
    @Test func silentSourcesAccountsAndRegistriesAlertAfterTheirDelays() {
        let root = PipewatchExecutable.repositoryRoot.path
        let harness = StageHarness(
            ruleSet: RuleSet(paths: Self.files.map { root + "/" + $0 }), lateness: 5 * minute, collectSignals: true, idleTimeout: 10 * minute,
            sourceLocation: #_sourceLocation)
        var records: [(Int64, String)] = []
        var t = monday
        var k = 0
        while t < monday + 14 * day {
            records.append((t, PackRecords.k8s(at: t, user: "system:node:ip-10-0-12-7.ec2.internal", verb: "get", resource: "nodes", namespace: "",
                name: "ip-10-0-12-7.ec2.internal", sourceIPs: ["10.0.12.7"], id: "k-\(k)")))
            let gapDay2 = t >= monday + 2 * day + 6 * hour && t < monday + 2 * day + 9 * hour
            let gapDay10 = t > monday + 10 * day + 19 * hour + 55 * minute && t < monday + 10 * day + 22 * hour
            if !gapDay2 && !gapDay10 {
                records.append((t, PackRecords.role(at: t, role: "fraud-pipeline-role", session: "run", event: "DescribeTrainingJob",
                    service: "sagemaker.amazonaws.com", id: "a-\(k)")))
                if t < monday + 9 * day + 12 * hour {
                    records.append((t, PackRecords.role(at: t, role: "ml-batch-role", session: "run", event: "GetObject",
                        service: "s3.amazonaws.com", id: "b-\(k)", account: "444455556666")))
                }
            }
            if t % day == 10 * hour && t < monday + 10 * day {
                records.append((t, mlflowDelivery("model_version", "created", at: t, data: #""name":"fraud","version":"\#(k)""#, id: "m-\(k)")))
            }
            t += 5 * minute
            k += 1
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        let expected = [
            "444455556666 started 2026-01-14T17:55:00.000Z",
            "aws.cloudtrail started 2026-01-15T20:55:00.000Z",
            "aws.cloudtrail ended 2026-01-15T22:00:00.000Z",
            "https://mlflow.acme.example started 2026-01-17T10:00:00.000Z",
        ]
        #expect(Self.summary(harness.alerts) == expected, "\(Self.summary(harness.alerts))")
        #expect(harness.signals.contains { $0.reason == .learning }, "the day-2 gap is a signal of the learning week")
        harness.finish()
        #expect(harness.alerts.count == 4, "\(Self.summary(harness.alerts))")
    }
}
