import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

@testable import PipewatchRules

/// A rule set compiled from YAML text, with an evaluator and a record decoder.
final class Harness {
    let ruleSet: RuleSet
    let evaluator: RuleEvaluator
    let decoder = RecordDecoder()

    init(_ yaml: String, options: RuleLoadOptions = RuleLoadOptions()) {
        ruleSet = RuleSet(yaml: yaml, file: "test.yml", options: options)
        evaluator = ruleSet.engine.makeEvaluator()
    }

    init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        evaluator = ruleSet.engine.makeEvaluator()
    }

    var problems: [String] { ruleSet.problems.map(\.description) }

    /// Titles of the rules matching a JSON record.
    func titles(_ json: String) -> [String] {
        do {
            return try decoder.withEventView(json: json) { view in evaluator.matchingRules(in: view).map(\.title) }
        } catch {
            Issue.record("record does not decode: \(error)")
            return []
        }
    }

    func matches(_ json: String) -> Bool { !titles(json).isEmpty }
}

/// A rule of one selection for `logsource`, titled "T".
func rule(_ detection: String, logsource: String = "product: aws\n    service: cloudtrail", extra: String = "") -> String {
    """
    title: T
    logsource:
        \(logsource)
    detection:
    \(detection.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
    \(extra)
    """
}

/// Whether a one-rule set of `detection` matches `record`; records a problem when the rule does not load.
func ruleMatches(_ detection: String, _ record: String, logsource: String = "product: aws\n    service: cloudtrail",
                 options: RuleLoadOptions = RuleLoadOptions(), sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    let harness = Harness(rule(detection, logsource: logsource), options: options)
    if !harness.problems.isEmpty {
        Issue.record("rule does not load: \(harness.problems)", sourceLocation: sourceLocation)
        return false
    }
    #expect(harness.ruleSet.rules.count == 1, sourceLocation: sourceLocation)
    return harness.matches(record)
}

/// Problems of a one-rule set (empty when it loads).
func ruleProblems(_ detection: String, logsource: String = "product: aws\n    service: cloudtrail",
                  options: RuleLoadOptions = RuleLoadOptions()) -> [RuleProblem] {
    RuleSet(yaml: rule(detection, logsource: logsource), file: "test.yml", options: options).problems
}

/// A CloudTrail record: `members` (JSON members, written first so they win) plus the fields a record needs.
func cloudTrail(_ members: String = "") -> String {
    let defaults = #""eventVersion":"1.08","eventTime":"2026-11-05T02:31:07Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"aws-cli/2.15.0","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob"},"eventType":"AwsApiCall","recipientAccountId":"111122223333""#
    return "{" + (members.isEmpty ? "" : members + ",") + defaults + "}"
}

/// A Kubernetes audit event.
func kubernetes(_ members: String = "") -> String {
    let defaults = #""kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"alice@acme.example","groups":["system:authenticated"]},"sourceIPs":["10.0.0.5"],"userAgent":"kubectl/v1.30.0","objectRef":{"resource":"pods","namespace":"default","name":"p","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-11-05T02:40:00.000000Z","stageTimestamp":"2026-11-05T02:40:00.100000Z""#
    return "{" + (members.isEmpty ? "" : members + ",") + defaults + "}"
}

/// A GCP audit LogEntry; `payload` members go into protoPayload.
func gcpAudit(_ members: String = "", payload: String = "") -> String {
    let payloadDefaults = #""@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{},"authenticationInfo":{"principalEmail":"alice@acme.example"},"requestMetadata":{"callerIp":"198.51.100.7","callerSuppliedUserAgent":"gcloud"},"serviceName":"aiplatform.googleapis.com","methodName":"google.cloud.aiplatform.v1.EndpointService.DeployModel","resourceName":"projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296""#
    let defaults = #""insertId":"x1","resource":{"type":"audited_resource","labels":{"project_id":"acme-ml-prod"}},"timestamp":"2026-11-05T03:01:00Z","severity":"NOTICE","logName":"projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Factivity""#
    let body = (payload.isEmpty ? "" : payload + ",") + payloadDefaults
    return "{" + (members.isEmpty ? "" : members + ",") + #""protoPayload":{"# + body + "}," + defaults + "}"
}

/// An MLflow webhook delivery.
func mlflow(_ members: String = "") -> String {
    let defaults = #""entity":"model_version","action":"created","timestamp":"2026-11-05T03:10:00Z","data":{"name":"fraud-detection-xgb","version":"9","source":"s3://acme-ml-model-artifacts/x","run_id":"r1"},"_delivery":{"id":"d1","timestamp":"1794366600","remote_addr":"10.20.0.15","registry":"https://mlflow.acme.example"}"#
    return "{" + (members.isEmpty ? "" : members + ",") + defaults + "}"
}

/// The folder of this test file.
func testDirectory(_ file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().path
}
