import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Version rollback and evaluation regressions in the registry (value_change).
@Suite struct RulePackRegistryTests {
    static let rollback = PackRecords.repository + "pipewatch_production_model_alias_moved_to_earlier_version.yml"
    static let rollbackID = "a27ba313-c23c-4358-a783-bffa732fb79d"
    static let evaluation = PackRecords.repository + "pipewatch_model_evaluation_score_decreased.yml"
    static let evaluationID = "2b58a7a5-8060-4784-99b2-60c8732e2004"

    static func alias(_ name: String, _ alias: String, _ version: String, at t: Int64, id: String) -> (Int64, String) {
        (t, mlflowDelivery("model_version_alias", "created", at: t, data: #""name":"\#(name)","alias":"\#(alias)","version":"\#(version)""#, id: id))
    }

    static func merge(_ version: Int, aliases: String, at t: Int64, id: String, status: Int? = nil) -> (Int64, String) {
        let name = "projects/acme-ml-prod/locations/us-central1/models/5310287364019238912@\(version)"
        return (t, PackRecords.gcp(at: t, principal: "vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com", service: "aiplatform.googleapis.com",
            method: "google.cloud.aiplatform.v1.ModelService.MergeVersionAliases", resource: name, id: id, status: status,
            extra: #""request":{"@type":"type.googleapis.com/google.cloud.aiplatform.v1.MergeVersionAliasesRequest","name":"\#(name)","versionAliases":[\#(aliases)]}"#))
    }

    @Test func aProductionAliasMovedToAnEarlierVersionAlerts() {
        let harness = StageHarness(pack: [Self.rollback])
        var records: [(Int64, String)] = []
        // champion moves forward through versions 1 to 10 (10 after 9: versions, not text), the same version is set again.
        for v in 1...10 { records.append(Self.alias("fraud", "champion", "\(v)", at: monday + Int64(v) * day, id: "champion-\(v)")) }
        records.append(Self.alias("fraud", "champion", "10", at: monday + 11 * day, id: "champion-10-again"))
        // staging goes back and forth (routine), a new model's first production alias has nothing before it.
        records.append(Self.alias("fraud", "staging", "9", at: monday + 11 * day + hour, id: "staging-9"))
        records.append(Self.alias("fraud", "staging", "3", at: monday + 11 * day + 2 * hour, id: "staging-3"))
        records.append(Self.alias("churn", "production", "2", at: monday + 11 * day + 3 * hour, id: "churn-2"))
        // The attack: champion back to version 7.
        records.append(Self.alias("fraud", "champion", "7", at: monday + 12 * day, id: "rollback"))
        // Another registry's model of the same name is its own group.
        records.append((monday + 12 * day + hour, #"{"entity":"model_version_alias","action":"created","timestamp":"\#(Timestamp.format(milliseconds: monday + 12 * day + hour))","data":{"name":"fraud","alias":"champion","version":"2"},"_delivery":{"id":"other-registry","timestamp":"1","remote_addr":"10.30.0.9","registry":"https://mlflow-research.acme.example"}}"#))
        // Vertex AI: default moves to @3, @4, a refused merge to @1, then the attack back to @2.
        records.append(Self.merge(3, aliases: #""default""#, at: monday + 2 * day, id: "vertex-3"))
        records.append(Self.merge(4, aliases: #""-staging","default""#, at: monday + 3 * day, id: "vertex-4"))
        records.append(Self.merge(1, aliases: #""default""#, at: monday + 4 * day, id: "vertex-denied", status: 7))
        records.append(Self.merge(5, aliases: #""staging""#, at: monday + 4 * day + hour, id: "vertex-staging"))
        records.append(Self.merge(2, aliases: #""default""#, at: monday + 13 * day, id: "vertex-rollback"))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.uids(of: Self.rollbackID) == ["rollback", "vertex-rollback"], "\(harness.uids(of: Self.rollbackID))")
        let first = harness.alerts(of: Self.rollbackID).min { $0.time < $1.time }
        let detector = first.map(StageHarness.detector) ?? [:]
        #expect(detector["previous_value"] as? String == "10" && detector["new_value"] as? String == "7", "\(detector)")
    }

    @Test func aLowerEvaluationScoreOnTheSameModelAlerts() {
        let harness = StageHarness(pack: [Self.evaluation])
        var records: [(Int64, String)] = []
        func tag(_ name: String, _ version: Int, _ key: String, _ value: String, day d: Int, id: String) {
            let t = monday + Int64(d) * day + 10 * hour
            records.append((t, mlflowDelivery("model_version_tag", "set", at: t,
                data: #""name":"\#(name)","version":"\#(version)","key":"\#(key)","value":"\#(value)""#, id: id)))
        }
        // Each new version of fraud scores a little better, until version 4.
        for (v, auc) in ["0.901", "0.915", "0.930"].enumerated() { tag("fraud", v + 1, "eval_auc", auc, day: v, id: "auc-\(v + 1)") }
        tag("fraud", 4, "eval_auc", "0.912", day: 3, id: "auc-drop")
        tag("fraud", 5, "eval_auc", "0.951", day: 4, id: "auc-5")
        // Losses go down as models improve: lower is better, never judged.
        for (v, loss) in ["0.30", "0.25", "0.22", "0.20"].enumerated() { tag("fraud", v + 1, "eval_log_loss", loss, day: v, id: "loss-\(v + 1)") }
        // Another model's scores are its own; a value that is not a number is skipped.
        tag("churn", 1, "eval_auc", "0.80", day: 0, id: "churn-1")
        tag("churn", 2, "eval_auc", "0.82", day: 1, id: "churn-2")
        tag("fraud", 1, "accuracy", "n/a", day: 0, id: "acc-na")
        tag("fraud", 2, "accuracy", "0.94", day: 1, id: "acc-2")
        // The incumbent's recorded accuracy edited downwards, so that a candidate beats it.
        tag("fraud", 2, "accuracy", "0.88", day: 5, id: "acc-edited")
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.uids(of: Self.evaluationID) == ["auc-drop", "acc-edited"], "\(harness.uids(of: Self.evaluationID))")
        #expect(harness.alerts(of: Self.evaluationID).allSatisfy { $0.rule.level == .medium })
    }
}
