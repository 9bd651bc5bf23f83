import PipewatchDetectors
import PipewatchEvents
import Testing

/// The AWS pack's correlation of a SageMaker pipeline run and its review gate, on a generated week of runs.
@Suite struct RulePackPipelineGateTests {
    static let rule = "75d97034-116d-47fe-ab8d-3217330a35c6"

    static func sso(_ set: String, _ person: String, at t: Int64, _ event: String, id: String, error: String? = nil) -> String {
        let failure = error.map { #""errorCode":"\#($0)","errorMessage":"not authorized","# } ?? ""
        return RulePackTests.roleCall(
            at: t, role: "AWSReservedSSO_\(set)_5b7c9e1d2f3a4b6c", session: person, event: event,
            service: "sagemaker.amazonaws.com", id: id, extra: failure + #""requestParameters":{"pipelineName":"fraud-detection-train"}"#)
    }

    @Test func theSamePersonStartingARunAndReleasingItsGateAlertsOthersDoNot() {
        let harness = StageHarness(pack: ["rules/aws/cloudtrail/aws_sagemaker_pipeline_gate_released_by_run_starter.yml"])
        var records: [(Int64, String)] = []
        func add(_ offset: Int64, _ record: String) { records.append((monday + offset, record)) }
        let start = "StartPipelineExecution", release = "SendPipelineExecutionStepSuccess"
        // Routine: engineers start runs, an approver releases the gates; nightly runs start from the scheduler role.
        for d in 0..<7 {
            let base = Int64(d) * day
            add(base + 9 * hour, Self.sso("MLEngineer", "alice@acme.example", at: monday + base + 9 * hour, start, id: "a-\(d)"))
            add(base + 11 * hour, Self.sso("MLApprover", "carol@acme.example", at: monday + base + 11 * hour, release, id: "c-\(d)"))
            add(base + 2 * hour, RulePackTests.roleCall(
                at: monday + base + 2 * hour, role: "SageMakerPipelineExecutionRole", session: "SageMaker", event: start,
                service: "sagemaker.amazonaws.com", id: "n-\(d)"))
        }
        // bob, an IAM user, starts a run and releases its gate four hours later: the attack.
        add(2 * day + 10 * hour, trail(at: monday + 2 * day + 10 * hour, user: "bob", event: start, service: "sagemaker.amazonaws.com", id: "bob-start"))
        add(2 * day + 14 * hour, trail(at: monday + 2 * day + 14 * hour, user: "bob", event: release, service: "sagemaker.amazonaws.com", id: "bob-release"))
        // Evasion: alice releases her own run's gate under another permission set (the person is the same).
        add(4 * day + 16 * hour, Self.sso("MLApprover", "alice@acme.example", at: monday + 4 * day + 16 * hour, release, id: "alice-release"))
        // dave releases 25 hours after his start: outside the day; erin's release is refused.
        add(5 * day + 8 * hour, Self.sso("MLEngineer", "dave@acme.example", at: monday + 5 * day + 8 * hour, start, id: "dave-start"))
        add(6 * day + 9 * hour, Self.sso("MLApprover", "dave@acme.example", at: monday + 6 * day + 9 * hour, release, id: "dave-release"))
        add(5 * day + 12 * hour, Self.sso("MLEngineer", "erin@acme.example", at: monday + 5 * day + 12 * hour, start, id: "erin-start"))
        add(5 * day + 13 * hour, Self.sso("MLEngineer", "erin@acme.example", at: monday + 5 * day + 13 * hour, release, id: "erin-release", error: "AccessDeniedException"))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: Self.rule)
        #expect(alerts.map { $0[.uid] ?? "?" } == ["bob-release", "alice-release"])
        #expect(alerts.map(\.time) == [monday + 2 * day + 14 * hour, monday + 4 * day + 16 * hour])
        #expect(alerts.last?[.actorPerson] == "alice@acme.example")
        #expect(harness.alerts.count == alerts.count, "the input rules do not alert on their own")
    }
}
