import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// An MLflow webhook delivery.
func mlflowDelivery(_ entity: String, _ action: String, at time: Int64, data: String, id: String) -> String {
    #"{"entity":"\#(entity)","action":"\#(action)","timestamp":"\#(Timestamp.format(milliseconds: time))","data":{\#(data)},"_delivery":{"id":"\#(id)","timestamp":"\#(time / 1000)","remote_addr":"10.20.0.15","registry":"https://mlflow.acme.example"}}"#
}

/// The correlations and detectors of the bundled pack, on generated streams with known answers.
@Suite struct RulePackTests {
    static let pack = "rules/pipewatch/"

    @Test func ingestionVolumeAboveItsSeasonalBaseline() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_ingestion_volume_above_seasonal_baseline.yml"], lateness: 10 * minute)
        var surge: Int64 = 0
        for d in 0..<23 {
            var batch: [String] = []
            for h in 0..<24 {
                let start = monday + Int64(d) * day + Int64(h) * hour
                let week = d / 7
                var count = d % 7 < 5 && (8..<18).contains(h) ? [54, 66, 60, 62][week] : [5, 7, 6, 6][week]
                if d == 22, h == 14 {  // Tuesday of week 4, 14:00: four times the usual volume.
                    count = 240
                    surge = start + hour
                }
                batch += hourOfRecords(start, count: count, service: "s3.amazonaws.com", user: "pipeline")
            }
            harness.feed(batch, batchSize: 500)
        }
        harness.finish()
        let alerts = harness.alerts(of: "39107925-ee6d-4e79-b44d-fa3e1db8e533")
        #expect(alerts.map(\.time) == [surge])
        #expect(alerts.first?.source == .cloudTrail && alerts.first?.rule.level == .medium)
    }

    @Test func errorSpikePerPrincipal() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_error_spike_per_principal.yml"])
        var records: [(Int64, String)] = []
        var spike: Int64 = 0
        for h in 0..<(10 * 24) {
            let start = monday + Int64(h) * hour
            let failures = h == 9 * 24 + 3 ? 25 : h % 3  // 0, 1, 2 failures an hour; then 25
            if failures == 25 { spike = start + hour }
            for k in 0..<failures {
                let t = start + Int64(k) * 2 * minute
                records.append((t, trail(at: t, user: "bob", event: "GetObject", error: "AccessDenied", id: "e-\(h)-\(k)")))
            }
            for k in 0..<(h % 3) {
                let t = start + Int64(k) * 3 * minute
                records.append((t, trail(at: t, user: "alice", event: "PutObject", error: "NoSuchBucket", id: "a-\(h)-\(k)")))
            }
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        let alerts = harness.alerts(of: "d2e013a6-5a2e-492f-b990-d5fb6517291b")
        #expect(alerts.map(\.time) == [spike])
        #expect(alerts.first?[.actorUser] == "arn:aws:iam::111122223333:user/bob")
    }

    @Test func newPrincipalTouchingTheModelRegistry() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_new_principal_on_model_registry.yml"])
        var records: [(Int64, String)] = []
        for d in 0..<20 {
            for (k, user) in ["pipeline", "alice", "approver"].enumerated() {
                let t = monday + Int64(d) * day + Int64(9 + k) * hour
                records.append((t, trail(at: t, user: user, event: "DescribeModelPackage", service: "sagemaker.amazonaws.com", id: "r-\(d)-\(k)")))
            }
        }
        let planted = monday + 17 * day + 2 * hour
        for k in 0..<4 {
            let t = planted + Int64(k) * minute
            records.append((t, trail(at: t, user: "mallory", event: k == 0 ? "ListModelPackages" : "UpdateModelPackage", service: "sagemaker.amazonaws.com", id: "m-\(k)")))
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "99d40f05-7c8b-4a5e-8822-e441bfc1d317")
        #expect(alerts.map(\.time) == [planted])
        #expect(alerts.first?[.actorUser] == "arn:aws:iam::111122223333:user/mallory")
        #expect(alerts.first?.rule.level == .high)
    }

    @Test func trainingJobOutsideNormalHours() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_training_job_outside_normal_hours.yml"])
        var random = SeededRandom(seed: 17)
        var records: [(Int64, String)] = []
        for d in 0..<26 where d % 7 < 5 {
            for k in 0..<3 {
                let t = monday + Int64(d) * day + Int64(random.int(9 * 60..<18 * 60)) * minute
                records.append((t, trail(at: t, user: "alice", event: "CreateTrainingJob", service: "sagemaker.amazonaws.com", id: "t-\(d)-\(k)")))
            }
        }
        let night = monday + 24 * day + 3 * hour + 12 * minute
        records.append((night, trail(at: night, user: "alice", event: "CreateTrainingJob", service: "sagemaker.amazonaws.com", id: "t-night")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.alerts(of: "1af3b7b1-157a-498e-b580-dd653254f79e").map(\.time) == [night])
    }

    @Test func accessDeniedBurstFollowedBySuccess() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_access_denied_burst_followed_by_success.yml"])
        var records: [(Int64, String)] = []
        func calls(_ user: String, service: String, denied: Int, success: Int64?, start: Int64) {
            for k in 0..<denied {
                let t = start + Int64(k) * 30 * second
                records.append((t, trail(at: t, user: user, event: "GetObject", service: service, error: "AccessDenied", id: "\(user)-d\(k)")))
            }
            if let success {
                let t = start + success
                records.append((t, trail(at: t, user: user, event: "GetObject", service: service, id: "\(user)-ok")))
            }
        }
        calls("bob", service: "s3.amazonaws.com", denied: 6, success: 8 * minute, start: monday)
        calls("eve", service: "s3.amazonaws.com", denied: 6, success: nil, start: monday)
        calls("carol", service: "s3.amazonaws.com", denied: 3, success: 5 * minute, start: monday)
        calls("dave", service: "iam.amazonaws.com", denied: 6, success: nil, start: monday)
        records.append((monday + 6 * minute, trail(at: monday + 6 * minute, user: "dave", service: "s3.amazonaws.com", id: "dave-ok")))
        calls("frank", service: "s3.amazonaws.com", denied: 5, success: 50 * minute, start: monday)
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "9f6d61bb-c1db-4d23-a463-268f6ddcc495")
        #expect(alerts.count == 1)
        #expect(alerts.first?[.uid] == "bob-d4", "the fifth refused call is the evidence (evidence: first)")
        #expect(alerts.first?.time == monday + 8 * minute, "at the success")
        #expect(alerts.first.map { StageHarness.detector($0)["completed_at"] as? String } == Timestamp.format(milliseconds: monday + 8 * minute))
        #expect(harness.alerts.count == 1, "the inner rules do not alert on their own")
    }

    @Test func mlflowModelVersionDeployedSoonAfterRegistrationWithoutApproval() {
        let harness = StageHarness(pack: ["rules/mlflow/webhook/mlflow_model_version_deployed_soon_after_registration_without_approval.yml"])
        var records: [(Int64, String)] = []
        func add(_ entity: String, _ action: String, _ offset: Int64, _ data: String, _ id: String) {
            records.append((monday + offset, mlflowDelivery(entity, action, at: monday + offset, data: data, id: id)))
        }
        // v9: registered, validated, champion two minutes later, never approved: the attack.
        add("model_version", "created", 0, #""name":"fraud","version":"9","source":"https://files.example.net/model.pkl""#, "v9-created")
        add("model_version_tag", "set", 1 * minute, #""name":"fraud","version":"9","key":"validation_status","value":"passed""#, "v9-tag")
        add("model_version_alias", "created", 2 * minute, #""name":"fraud","alias":"champion","version":"9""#, "v9-champion")
        add("model_version_alias", "created", 3 * minute, #""name":"fraud","alias":"production","version":"9""#, "v9-production")
        // v10: registered, approved, promoted: reviewed, if quickly.
        add("model_version", "created", hour, #""name":"fraud","version":"10""#, "v10-created")
        add("model_version_tag", "set", hour + 4 * minute, #""name":"fraud","version":"10","key":"approval","value":"approved""#, "v10-approval")
        add("model_version_alias", "created", hour + 6 * minute, #""name":"fraud","alias":"champion","version":"10""#, "v10-champion")
        // v11: promoted fast, approved ten minutes after.
        add("model_version", "created", 3 * hour, #""name":"fraud","version":"11""#, "v11-created")
        add("model_version_alias", "created", 3 * hour + 2 * minute, #""name":"fraud","alias":"prod","version":"11""#, "v11-prod")
        add("model_version_tag", "set", 3 * hour + 12 * minute, #""name":"fraud","version":"11","key":"approved","value":"true""#, "v11-approval")
        // v12: approved but only promoted after a day; v13: promoted after 40 minutes, unapproved (not "within minutes").
        add("model_version", "created", 5 * hour, #""name":"fraud","version":"12""#, "v12-created")
        add("model_version_tag", "set", 5 * hour + 30 * minute, #""name":"fraud","version":"12","key":"approval","value":"approved""#, "v12-approval")
        add("model_version_alias", "created", 29 * hour, #""name":"fraud","alias":"champion","version":"12""#, "v12-champion")
        add("model_version", "created", 7 * hour, #""name":"fraud","version":"13""#, "v13-created")
        add("model_version_alias", "created", 7 * hour + 40 * minute, #""name":"fraud","alias":"champion","version":"13""#, "v13-champion")
        add("registered_model", "created", 40 * hour, #""name":"other""#, "clock")
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.alerts.count == 1, "\(harness.alerts.map { $0[.uid] ?? "?" })")
        let alert = harness.alerts.first
        #expect(alert?.rule.id == "76672952-4432-49f8-9e41-30dcf58d1ed8")
        #expect(alert?[.uid] == "v9-champion")
        #expect(alert?.time == monday + 32 * minute, "when the 30 minutes without approval are over")
    }

    /// A CloudTrail call by a role session (a pipeline run, an SSO user), as AWS logs it.
    static func roleCall(at time: Int64, role: String, session: String, event: String, service: String, id: String, extra: String = "") -> String {
        #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"\#(service)","eventName":"\#(event)","awsRegion":"us-east-1","sourceIPAddress":"\#(service == "s3.amazonaws.com" ? "10.0.3.4" : "sagemaker.amazonaws.com")","userAgent":"Boto3/1.34.0","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:\#(session)","arn":"arn:aws:sts::111122223333:assumed-role/\#(role)/\#(session)","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/\#(role)","accountId":"111122223333","userName":"\#(role)"},"attributes":{"creationDate":"\#(Timestamp.format(milliseconds: time - minute))","mfaAuthenticated":"false"}}},"eventID":"\#(id)","eventType":"AwsApiCall","recipientAccountId":"111122223333"\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    /// 30 days of nightly pipeline runs, each under a new role session: the registry and the training schedule are
    /// the role's, whatever the session is called; a human new to the registry stands out.
    @Test func scheduledPipelineRunsWithNewSessionsRaiseNothingANewHumanDoes() {
        let harness = StageHarness(pack: [
            Self.pack + "pipewatch_new_principal_on_model_registry.yml", Self.pack + "pipewatch_training_job_outside_normal_hours.yml",
        ])
        var records: [(Int64, String)] = []
        for d in 0..<30 {
            let run = "SageMaker-Pipeline-\(String(Hash64.hash("run-\(d)"), radix: 36))"  // a new session name per run
            for (k, call) in ["CreateTrainingJob", "CreateTrainingJob", "DescribeModelPackageGroup", "CreateModelPackage"].enumerated() {
                let t = monday + Int64(d) * day + 2 * hour + Int64(k) * 7 * minute
                records.append((t, Self.roleCall(at: t, role: "ml-pipeline-execution", session: run, event: call, service: "sagemaker.amazonaws.com", id: "p-\(d)-\(k)")))
            }
            if d % 7 < 5 {  // the approver, through SSO, in office hours
                let t = monday + Int64(d) * day + 15 * hour
                records.append((t, Self.roleCall(at: t, role: "AWSReservedSSO_MLApprover_0f1e2d3c4b5a6978", session: "carol@acme.example", event: "UpdateModelPackage", service: "sagemaker.amazonaws.com", id: "c-\(d)")))
            }
        }
        let planted = monday + 27 * day + 11 * hour
        records.append((planted, Self.roleCall(at: planted, role: "AWSReservedSSO_DataScientist_9a8b7c6d5e4f3a21", session: "mallory@acme.example", event: "ListModelPackages", service: "sagemaker.amazonaws.com", id: "mallory")))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.alerts(of: "1af3b7b1-157a-498e-b580-dd653254f79e").isEmpty, "a nightly schedule is the role's normal hours")
        let alerts = harness.alerts(of: "99d40f05-7c8b-4a5e-8822-e441bfc1d317")
        #expect(alerts.map(\.time) == [planted], "\(alerts.map { $0[.actorUser] ?? "?" })")
        #expect(alerts.first?[.actorPrincipal] == "arn:aws:iam::111122223333:role/AWSReservedSSO_DataScientist_9a8b7c6d5e4f3a21")
        #expect(alerts.first?[.actorPerson] == "mallory@acme.example")
    }

    /// A write under the prefix an MLflow version was registered from joins the registration, by another principal.
    @Test func registeredModelArtifactOverwrittenUnderItsPrefix() {
        let harness = StageHarness(pack: [Self.pack + "pipewatch_registered_model_artifact_modified.yml"])
        var records: [(Int64, String)] = []
        func put(_ key: String, at offset: Int64, _ event: String = "PutObject", id: String, error: String? = nil) {
            let t = monday + offset
            let failure = error.map { #""errorCode":"\#($0)","errorMessage":"Access Denied","# } ?? ""
            records.append((t, Self.roleCall(at: t, role: "ml-notebook-role", session: "SageMaker", event: event, service: "s3.amazonaws.com", id: id,
                extra: failure + #""requestParameters":{"bucketName":"b","key":"\#(key)"}"#)))
        }
        put("models/fraud/9/model.pkl", at: 0, id: "upload")  // the pipeline's upload, before the registration
        records.append((monday + hour, mlflowDelivery("model_version", "created", at: monday + hour,
            data: #""name":"fraud","version":"9","source":"s3://b/models/fraud/9/","run_id":"r1""#, id: "registered")))
        put("models/fraud/10/model.pkl", at: 2 * hour, id: "next-version")  // another version's prefix
        put("models/fraud/9x/model.pkl", at: 3 * hour, id: "sibling")  // a name that only starts the same
        put("models/fraud/9/model.pkl", at: 4 * hour, id: "denied", error: "AccessDenied")
        put("models/fraud/9/model.pkl", at: 5 * day, id: "overwrite")  // the attack
        put("models/fraud/9/code/inference.py", at: 5 * day + minute, "CopyObject", id: "script")
        put("models/fraud/9/model.pkl", at: 40 * day, id: "too-late")  // after the 30 days
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "5e0f7a63-2b1c-4d8e-9f3a-6c7b8d9e0a14")
        #expect(alerts.map { $0[.uid] ?? "?" } == ["overwrite"], "a completed chain starts over: the next write needs a new registration")
        #expect(alerts.first?[.actorPrincipal] == "arn:aws:iam::111122223333:role/ml-notebook-role")
        #expect(alerts.first.map { StageHarness.detector($0)["group"] as? [String: Any] }??["ml.artifact.uri"] as? String == "s3://b/models/fraud/9",
                "\(alerts.first.map { StageHarness.detector($0) } ?? [:])")
    }
}
