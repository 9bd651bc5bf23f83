import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// The refusal and error detectors after their fixes: the success must be on what was refused, the principal is
/// the role rather than each session, and errors that say nothing about permission are left out.
@Suite struct RulePackFailureTests {
    static let burst = PackRecords.repository + "pipewatch_access_denied_burst_followed_by_success.yml"
    static let burstID = "9f6d61bb-c1db-4d23-a463-268f6ddcc495"
    static let spike = PackRecords.repository + "pipewatch_error_spike_per_principal.yml"
    static let spikeID = "d2e013a6-5a2e-492f-b990-d5fb6517291b"

    static func get(_ t: Int64, role: String, session: String, bucket: String, error: String? = nil, id: String) -> (Int64, String) {
        (t, PackRecords.role(at: t, role: role, session: session, event: "GetObject", service: "s3.amazonaws.com", id: id, error: error,
            extra: PackRecords.object(bucket, "models/fraud/8/model.tar.gz")))
    }

    @Test func theSuccessMustBeOnTheResourceThatWasRefused() {
        let harness = StageHarness(pack: [Self.burst])
        var records: [(Int64, String)] = []
        // A training role, refused five times on the artifact bucket across three sessions, then succeeds on it.
        for k in 0..<5 {
            records.append(Self.get(monday + Int64(k) * minute, role: "ml-training-job-role", session: "SageMaker-\(k % 3)",
                bucket: "acme-ml-model-artifacts", error: "AccessDenied", id: "train-denied-\(k)"))
        }
        records.append(Self.get(monday + 12 * minute, role: "ml-training-job-role", session: "SageMaker-9", bucket: "acme-ml-model-artifacts", id: "train-granted"))
        // A notebook role, refused five times on the artifact bucket, succeeds only on its own scratch bucket (routine).
        for k in 0..<5 {
            records.append(Self.get(monday + hour + Int64(k) * minute, role: "ml-notebook-role", session: "SageMaker",
                bucket: "acme-ml-model-artifacts", error: "AccessDenied", id: "nb-denied-\(k)"))
        }
        for k in 0..<10 {
            records.append(Self.get(monday + hour + 6 * minute + Int64(k) * minute, role: "ml-notebook-role", session: "SageMaker",
                bucket: "acme-ml-scratch", id: "nb-scratch-\(k)"))
        }
        let clock = monday + 3 * hour
        records.append(Self.get(clock, role: "clock-role", session: "x", bucket: "b", id: "clock"))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: Self.burstID)
        #expect(alerts.map { $0[.uid] ?? "?" } == ["train-denied-4"], "\(alerts.map { $0[.uid] ?? "?" })")
        #expect(alerts.first?[.actorPrincipal] == "arn:aws:iam::111122223333:role/ml-training-job-role")
        #expect(alerts.first?.time == monday + 12 * minute)
    }

    /// Ten days of a pipeline role whose every run has a new session; its idempotent deployer makes 40 not-found,
    /// conflict and throttling errors an hour on day 9, then its stolen credentials are refused 25 times.
    @Test func errorSpikeIgnoresNotFoundConflictAndThrottlingAndKeysOnTheRole() {
        let harness = StageHarness(pack: [Self.spike])
        var records: [(Int64, String)] = []
        var spike: Int64 = 0
        for h in 0..<(10 * 24) {
            let start = monday + Int64(h) * hour
            let session = "SageMaker-pipeline-run-\(h)"
            for k in 0..<(h % 3) {  // 0, 1, 2 refusals an hour, each run under its own session
                let t = start + Int64(k) * 2 * minute
                records.append((t, PackRecords.role(at: t, role: "fraud-pipeline-role", session: session, event: "DescribeModelPackage",
                    service: "sagemaker.amazonaws.com", id: "d-\(h)-\(k)", error: "AccessDeniedException")))
            }
            if h == 9 * 24 + 2 {
                for (k, code) in (0..<40).map({ ($0, ["NoSuchKey", "ResourceNotFoundException", "ConflictException", "ThrottlingException", "SlowDown"][$0 % 5]) }) {
                    let t = start + Int64(k) * minute
                    records.append((t, PackRecords.role(at: t, role: "fraud-pipeline-role", session: session, event: "GetObject",
                        service: "s3.amazonaws.com", id: "noise-\(k)", error: code)))
                }
            }
            if h == 9 * 24 + 5 {
                spike = start + hour
                for k in 0..<25 {
                    let t = start + Int64(k) * 2 * minute + second
                    records.append((t, PackRecords.role(at: t, role: "fraud-pipeline-role", session: session, event: "ListRoles",
                        service: "iam.amazonaws.com", id: "probe-\(k)", error: "AccessDenied")))
                }
            }
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        let alerts = harness.alerts(of: Self.spikeID)
        #expect(alerts.map(\.time) == [spike], "\(alerts.map { Timestamp.format(milliseconds: $0.time) })")
        #expect(alerts.first?[.actorPrincipal] == "arn:aws:iam::111122223333:role/fraud-pipeline-role")
    }
}
