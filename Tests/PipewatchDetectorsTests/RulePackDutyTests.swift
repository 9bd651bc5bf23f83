import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Separation of duty: one person writing training data and approving or deploying a model within 30 days.
@Suite struct RulePackDutyTests {
    static let rule = PackRecords.repository + "pipewatch_training_data_writer_also_approves_or_deploys_model.yml"
    static let id = "d321137e-8148-4d2d-b9c2-fd697685f962"

    static func approval(_ version: Int) -> String {
        #""requestParameters":{"modelPackageArn":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/\#(version)","modelApprovalStatus":"Approved"}"#
    }

    /// 45 days of a team that keeps the duties apart (a pipeline role that writes and deploys, a data engineer who
    /// writes, a release manager who approves), with four people who cross them.
    @Test func aPersonWhoWritesTrainingDataAndApprovesOrDeploysWithin30DaysAlerts() {
        let harness = StageHarness(pack: [Self.rule])
        var records: [(Int64, String)] = []
        func add(_ t: Int64, _ record: String) { records.append((t, record)) }
        for d in 0..<45 {
            let night = monday + Int64(d) * day + 2 * hour
            let run = "SageMaker-pipeline-run-\(d)"
            add(night, PackRecords.role(at: night, role: "fraud-pipeline-role", session: run, event: "PutObject", service: "s3.amazonaws.com",
                id: "pipeline-write-\(d)", extra: PackRecords.object("acme-ml-training-data", "fraud/processed/\(d).parquet")))
            add(night + hour, PackRecords.role(at: night + hour, role: "fraud-pipeline-role", session: run, event: "UpdateEndpoint",
                service: "sagemaker.amazonaws.com", id: "pipeline-deploy-\(d)", extra: #""requestParameters":{"endpointName":"fraud-detection-prod"}"#))
            if d % 7 < 5 {
                let office = monday + Int64(d) * day + 10 * hour
                add(office, PackRecords.sso(at: office, person: "erin@acme.example", permissionSet: "DataEngineer", event: "PutObject",
                    service: "s3.amazonaws.com", id: "erin-\(d)", extra: PackRecords.object("acme-ml-datasets", "labels/\(d).csv")))
                add(office + hour, PackRecords.sso(at: office + hour, person: "dave@acme.example", permissionSet: "MLApprover",
                    event: "UpdateModelPackage", service: "sagemaker.amazonaws.com", id: "dave-\(d)", extra: Self.approval(d)))
                // henry writes evaluation reports to the artifact bucket and deploys: not training data.
                add(office + 2 * hour, PackRecords.sso(at: office + 2 * hour, person: "henry@acme.example", permissionSet: "MLOps", event: "PutObject",
                    service: "s3.amazonaws.com", id: "henry-w-\(d)", extra: PackRecords.object("acme-ml-model-artifacts", "reports/\(d).json")))
                add(office + 3 * hour, PackRecords.sso(at: office + 3 * hour, person: "henry@acme.example", permissionSet: "MLOps", event: "CreateEndpoint",
                    service: "sagemaker.amazonaws.com", id: "henry-d-\(d)", extra: #""requestParameters":{"endpointName":"shadow-\#(d)"}"#))
            }
        }
        // alice uploads a training file on day 1 and approves a package on day 20: the pair, 19 days apart.
        let t1 = monday + 1 * day + 11 * hour
        add(t1, PackRecords.sso(at: t1, person: "alice@acme.example", permissionSet: "MLEngineer", event: "CompleteMultipartUpload",
            service: "s3.amazonaws.com", id: "alice-write", extra: PackRecords.object("acme-ml-training-data", "fraud/raw/extra.parquet")))
        let t20 = monday + 20 * day + 15 * hour
        add(t20, PackRecords.sso(at: t20, person: "alice@acme.example", permissionSet: "MLEngineer", event: "UpdateModelPackage",
            service: "sagemaker.amazonaws.com", id: "alice-approve", extra: Self.approval(20)))
        // carol: the same pair 34 days apart, outside the window.
        add(t1, PackRecords.sso(at: t1, person: "carol@acme.example", permissionSet: "MLEngineer", event: "PutObject",
            service: "s3.amazonaws.com", id: "carol-write", extra: PackRecords.object("acme-ml-training-data", "fraud/raw/c.parquet")))
        let t35 = monday + 35 * day + 15 * hour
        add(t35, PackRecords.sso(at: t35, person: "carol@acme.example", permissionSet: "MLEngineer", event: "UpdateModelPackage",
            service: "sagemaker.amazonaws.com", id: "carol-approve", extra: Self.approval(35)))
        // frank, across sources: Cloud Storage training data on day 5, a KServe InferenceService patched on day 12.
        let t5 = monday + 5 * day + 10 * hour
        add(t5, PackRecords.gcp(at: t5, principal: "frank@acme.example", service: "storage.googleapis.com", method: "storage.objects.create",
            resource: "projects/_/buckets/acme-ml-prod-training-data/objects/fraud/2026-01/part-9.csv", id: "frank-write",
            labels: #""bucket_name":"acme-ml-prod-training-data","project_id":"acme-ml-prod""#, log: "data_access"))
        let t12 = monday + 12 * day + 10 * hour
        add(t12, PackRecords.k8s(at: t12, user: "frank@acme.example", verb: "patch", resource: "inferenceservices", apiGroup: "serving.kserve.io",
            namespace: "kserve-inference", name: "fraud-detection", id: "frank-kserve"))
        // gina promotes in MLflow (the delivery names her) on day 8 and writes a feature record on day 9.
        let t8 = monday + 8 * day + 16 * hour
        add(t8, mlflowDelivery("model_version_alias", "created", at: t8,
            data: #""name":"fraud-detection-xgb","alias":"production","version":"12","user_id":"gina@acme.example""#, id: "gina-promote"))
        let t9 = monday + 9 * day + 9 * hour
        add(t9, PackRecords.sso(at: t9, person: "gina@acme.example", permissionSet: "DataScientist", event: "PutRecord",
            service: "sagemaker.amazonaws.com", id: "gina-write", extra: #""requestParameters":{"featureGroupName":"fraud-transaction-features"}"#))
        // ivan is refused the write, then deploys: nothing was written.
        let t10 = monday + 10 * day + 12 * hour
        add(t10, PackRecords.role(at: t10, role: "AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c", session: "ivan@acme.example", event: "PutObject",
            service: "s3.amazonaws.com", id: "ivan-denied", error: "AccessDenied", extra: PackRecords.object("acme-ml-training-data", "x.parquet")))
        add(t10 + hour, PackRecords.sso(at: t10 + hour, person: "ivan@acme.example", permissionSet: "MLEngineer", event: "UpdateEndpoint",
            service: "sagemaker.amazonaws.com", id: "ivan-deploy", extra: #""requestParameters":{"endpointName":"fraud-detection-prod"}"#))

        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 100)
        harness.finish()
        #expect(harness.uids(of: Self.id) == ["gina-write", "frank-kserve", "alice-approve"], "\(harness.uids(of: Self.id))")
        let alice = harness.alerts(of: Self.id).first { $0[.uid] == "alice-approve" }
        #expect(alice?[.actorPerson] == "alice@acme.example")
        #expect(alice?.time == t20 && alice?.rule.level == .high)
        #expect(harness.alerts.count == 3, "the input rules and the inner correlation do not alert on their own")
    }
}
