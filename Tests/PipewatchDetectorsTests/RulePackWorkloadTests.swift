import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Workload identities doing another role's work, or used from outside.
@Suite struct RulePackWorkloadTests {
    static let newOperation = PackRecords.repository + "pipewatch_workload_identity_new_api_operation.yml"
    static let newOperationID = "80543fb5-6815-4ba6-9d4e-fcc34c2e84a6"
    static let newAddress = PackRecords.repository + "pipewatch_workload_identity_from_new_public_address.yml"
    static let newAddressID = "90e01e87-e155-4f61-96fd-3fe5e6b79c5a"
    static let newBucket = PackRecords.repository + "pipewatch_workload_identity_new_bucket.yml"
    static let newBucketID = "13d5d120-398b-4e47-957e-70257423543f"
    static let trainingRole = "AmazonSageMaker-ExecutionRole-20260914T093211"

    /// 20 days of a training role's runs (each under a new session, from the VPC and the NAT gateway) and a pipeline
    /// service account's pods; the role starts enumerating IAM and assuming roles on day 18, the service account execs.
    static func routine(days: Int, into records: inout [(Int64, String)]) {
        for d in 0..<days {
            let run = "SageMaker-\(d)"
            for (k, (event, service)) in [
                ("CreateTrainingJob", "sagemaker.amazonaws.com"), ("DescribeTrainingJob", "sagemaker.amazonaws.com"),
                ("GetObject", "s3.amazonaws.com"), ("PutObject", "s3.amazonaws.com"), ("Decrypt", "kms.amazonaws.com"),
            ].enumerated() {
                let t = monday + Int64(d) * day + 2 * hour + Int64(k) * 5 * minute
                let ip = k % 2 == 0 ? "10.0.3.4" : "198.51.100.10"
                records.append((t, PackRecords.role(at: t, role: trainingRole, session: run, event: event, service: service, ip: ip, id: "r-\(d)-\(k)")))
            }
            for (k, verb) in ["create", "get", "list"].enumerated() {
                let t = monday + Int64(d) * day + 3 * hour + Int64(k) * minute
                records.append((t, PackRecords.k8s(at: t, user: "system:serviceaccount:kubeflow:pipeline-runner", verb: verb, resource: "pods",
                    namespace: "kubeflow", name: "step-\(d)", id: "k-\(d)-\(k)")))
            }
        }
    }

    @Test func aWorkloadCallingOperationsNewToItAlerts() {
        let harness = StageHarness(pack: [Self.newOperation])
        var records: [(Int64, String)] = []
        Self.routine(days: 21, into: &records)
        // Day 3 (learning): the role reads a secret for the first time; learned, no alert, and no alert on day 19 for it.
        let t3 = monday + 3 * day + 4 * hour
        records.append((t3, PackRecords.role(at: t3, role: Self.trainingRole, session: "SageMaker-3", event: "GetSecretValue",
            service: "secretsmanager.amazonaws.com", id: "learned")))
        let t19 = monday + 19 * day + 4 * hour
        records.append((t19, PackRecords.role(at: t19, role: Self.trainingRole, session: "SageMaker-19", event: "GetSecretValue",
            service: "secretsmanager.amazonaws.com", id: "known")))
        // Day 18: the training role enumerates IAM (refused calls count), then assumes another role (within the hour: suppressed).
        let t18 = monday + 18 * day + 2 * hour + 30 * minute
        records.append((t18, PackRecords.role(at: t18, role: Self.trainingRole, session: "SageMaker-18", event: "ListRoles",
            service: "iam.amazonaws.com", id: "list-roles", error: "AccessDenied")))
        records.append((t18 + 10 * minute, PackRecords.role(at: t18 + 10 * minute, role: Self.trainingRole, session: "SageMaker-18",
            event: "AssumeRole", service: "sts.amazonaws.com", id: "assume-role")))
        // The pipeline runner execs into a serving pod.
        let exec = monday + 18 * day + 5 * hour
        records.append((exec, PackRecords.k8s(at: exec, user: "system:serviceaccount:kubeflow:pipeline-runner", verb: "create", resource: "pods",
            subresource: "exec", namespace: "kserve-inference", name: "fraud-detection-predictor-7c9d6b8f5-hk2vz", id: "runner-exec")))
        // A person doing the same is not a workload.
        records.append((exec, PackRecords.sso(at: exec, person: "alice@acme.example", permissionSet: "MLEngineer", event: "ListRoles",
            service: "iam.amazonaws.com", id: "alice")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 100)
        harness.finish()
        #expect(harness.uids(of: Self.newOperationID) == ["list-roles", "runner-exec"], "\(harness.uids(of: Self.newOperationID))")
        #expect(harness.signals.contains { $0.reason == .suppressed }, "AssumeRole ten minutes later is counted, not alerted")
        let first = harness.alerts(of: Self.newOperationID).min { $0.time < $1.time }
        #expect(first?[.actorPrincipal] == "arn:aws:iam::111122223333:role/\(Self.trainingRole)")
    }

    @Test func aWorkloadUsedFromANewPublicAddressAlerts() {
        let harness = StageHarness(pack: [Self.newAddress])
        var records: [(Int64, String)] = []
        Self.routine(days: 21, into: &records)
        // Day 16: the role's keys used from the attacker's address, twice.
        let t16 = monday + 16 * day + 3 * hour
        for k in 0..<2 {
            let t = t16 + Int64(k) * 10 * minute
            records.append((t, PackRecords.role(at: t, role: Self.trainingRole, session: "SageMaker-16", event: "ListBuckets",
                service: "s3.amazonaws.com", ip: "203.0.113.77", id: k == 0 ? "role-outside" : "role-outside-again")))
        }
        // Day 17: a new private address (a new subnet) is not outside.
        let t17 = monday + 17 * day + 3 * hour
        records.append((t17, PackRecords.role(at: t17, role: Self.trainingRole, session: "SageMaker-17", event: "GetObject",
            service: "s3.amazonaws.com", ip: "10.9.9.9", id: "new-subnet")))
        // Day 18: the pipeline runner's token from outside, behind a forged X-Forwarded-For (the peer is last).
        let t18 = monday + 18 * day + 4 * hour
        records.append((t18, PackRecords.k8s(at: t18, user: "system:serviceaccount:kubeflow:pipeline-runner", verb: "list", resource: "secrets",
            namespace: "kubeflow", name: "", sourceIPs: ["10.0.8.21", "203.0.113.77"], id: "sa-outside")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 100)
        harness.finish()
        #expect(harness.uids(of: Self.newAddressID) == ["role-outside", "sa-outside"], "\(harness.uids(of: Self.newAddressID))")
        #expect(harness.alerts(of: Self.newAddressID).first?[.srcIP] == "203.0.113.77")
    }

    /// 20 days of a training role reading its training bucket and writing checkpoints, each run under a new session;
    /// on day 16 it reads the model artifact bucket and lists another team's dataset (within 6 hours: suppressed),
    /// on day 18 a person reads a new bucket (not a workload) and the role reads its known buckets.
    @Test func aWorkloadTouchingABucketNewToItAlerts() {
        let harness = StageHarness(pack: [Self.newBucket])
        var records: [(Int64, String)] = []
        func s3(_ t: Int64, _ event: String, _ bucket: String, id: String, session: String) {
            records.append((t, PackRecords.role(at: t, role: Self.trainingRole, session: session, event: event, service: "s3.amazonaws.com",
                id: id, extra: PackRecords.object(bucket, "part-\(id)"))))
        }
        for d in 0..<20 {
            let t = monday + Int64(d) * day + 2 * hour
            s3(t, "GetObject", "acme-ml-training-data", id: "r-\(d)", session: "SageMaker-\(d)")
            s3(t + 30 * minute, "PutObject", "acme-ml-checkpoints", id: "w-\(d)", session: "SageMaker-\(d)")
        }
        let t16 = monday + 16 * day + 3 * hour
        s3(t16, "GetObject", "acme-ml-model-artifacts", id: "artifacts", session: "SageMaker-16")
        s3(t16 + hour, "ListObjects", "acme-ml-datasets-2", id: "other-dataset", session: "SageMaker-16")
        let t18 = monday + 18 * day + 3 * hour
        records.append((t18, PackRecords.sso(at: t18, person: "alice@acme.example", permissionSet: "MLEngineer", event: "GetObject",
            service: "s3.amazonaws.com", id: "alice", extra: PackRecords.object("acme-finance-exports", "x.csv"))))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 100)
        harness.finish()
        #expect(harness.uids(of: Self.newBucketID) == ["artifacts"], "\(harness.uids(of: Self.newBucketID))")
        #expect(harness.signals.contains { $0.reason == .suppressed }, "the second new bucket within 6 hours is counted")
    }
}
