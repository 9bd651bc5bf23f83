import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import PipewatchRules
import Testing

/// An MLflow alias set on a version, and a tag set on one.
func aliasMoved(_ alias: String, to version: String, of model: String = "fraud", at time: Int64) -> String {
    mlflowDelivery("model_version_alias", "created", at: time, data: #""name":"\#(model)","alias":"\#(alias)","version":"\#(version)""#, id: "alias-\(alias)-\(version)-\(time)")
}

func tagSet(_ key: String, _ value: String, version: String, of model: String = "fraud", at time: Int64) -> String {
    mlflowDelivery("model_version_tag", "set", at: time, data: #""name":"\#(model)","version":"\#(version)","key":"\#(key)","value":"\#(value)""#, id: "tag-\(key)-\(value)-\(time)")
}

/// A value_change detector over MLflow alias moves or tags (one document each, its own detection).
func valueChangeRule(id: String, entity: String = "model_version_alias", key: String? = nil, groupBy: String = "[ml.name, ml.alias]",
                     field: String = "ml.version", parameters: String, tuning: String = "") -> String {
    """
    title: \(id)
    id: \(id)
    logsource: {product: mlflow, service: webhook}
    detection:
        selection:
            entity: \(entity)
            \(key.map { "data.key: \($0)" } ?? "")
        condition: selection
    detector:
        type: value_change
        group-by: \(groupBy)
        field: \(field)
        \(parameters)
    \(tuning)
    level: high
    """
}

@Suite struct ValueChangeDetectorTests {
    static let rules = [
        valueChangeRule(id: "alias-revert", parameters: "change: revert"),
        valueChangeRule(id: "alias-decrease", parameters: "change: decrease"),
        valueChangeRule(id: "score-drop", entity: "model_version_tag", key: "eval_auc", groupBy: "[ml.name]", field: "ml.tag_value",
                        parameters: "change: decrease\n    compare: number"),
    ].joined(separator: "\n---\n")

    /// Production moves 7 → 8 → 9 and back to 7; champion only forward; evaluation scores up, equal, then down.
    static var registry: [String] {
        [
            aliasMoved("production", to: "7", at: monday),
            tagSet("eval_auc", "0.91", version: "7", at: monday + 5 * minute),
            aliasMoved("champion", to: "1", at: monday + 10 * minute),
            aliasMoved("production", to: "8", at: monday + hour),
            tagSet("eval_auc", "0.93", version: "8", at: monday + hour + 5 * minute),
            aliasMoved("champion", to: "2", at: monday + hour + 10 * minute),
            aliasMoved("production", to: "9", at: monday + 2 * hour),
            tagSet("eval_auc", "0.95", version: "9", at: monday + 2 * hour + 5 * minute),
            tagSet("eval_auc", "0.95", version: "9", at: monday + 2 * hour + 6 * minute),
            aliasMoved("champion", to: "10", at: monday + 2 * hour + 10 * minute),
            aliasMoved("production", to: "9", at: monday + 2 * hour + 20 * minute),
            aliasMoved("production", to: "7", at: monday + 3 * hour),
            tagSet("eval_auc", "0.89", version: "10", at: monday + 4 * hour),
            aliasMoved("champion", to: "11", at: monday + 5 * hour),
        ]
    }

    @Test func anAliasMovedBackAndALowerScoreFireAndForwardMovesDoNot() {
        let harness = StageHarness(Self.rules)
        harness.feed(Self.registry, batchSize: 3)
        harness.finish()
        let reverts = harness.alerts(of: "alias-revert")
        #expect(reverts.count == 1)
        #expect(reverts.first?.time == monday + 3 * hour)
        let revert = reverts.first.map(StageHarness.detector) ?? [:]
        #expect(revert["previous_value"] as? String == "9" && revert["new_value"] as? String == "7")
        #expect(revert["seen_before"] as? Bool == true)
        #expect((revert["group"] as? [String: Any])?["ml.alias"] as? String == "production")
        #expect(reverts.first.flatMap(StageHarness.event) != nil, "the alias move is the evidence")

        // 9 → 7 is also a decrease; champion 1 → 2 → 10 → 11 (10 after 2: numbers, not text) is not.
        let decreases = harness.alerts(of: "alias-decrease")
        #expect(decreases.map(\.time) == [monday + 3 * hour])

        let drops = harness.alerts(of: "score-drop")
        #expect(drops.count == 1)
        let drop = drops.first.map(StageHarness.detector) ?? [:]
        #expect(drop["previous_value"] as? String == "0.95" && drop["new_value"] as? String == "0.89")
        #expect(drops.first?.time == monday + 4 * hour)
    }

    @Test func versionStringsCompareAsVersions() {
        let rules = [
            valueChangeRule(id: "as-version", entity: "model_version_tag", key: "release", groupBy: "[ml.name]", field: "ml.tag_value",
                            parameters: "change: decrease\n    compare: version"),
            valueChangeRule(id: "as-number", entity: "model_version_tag", key: "release", groupBy: "[ml.name]", field: "ml.tag_value",
                            parameters: "change: decrease\n    compare: number"),
            valueChangeRule(id: "package", entity: "model_version_tag", key: "package", groupBy: "[ml.name]", field: "ml.tag_value",
                            parameters: "change: decrease"),
        ].joined(separator: "\n---\n")
        let harness = StageHarness(rules)
        let releases = ["1.9", "1.10", "1.10.1", "v1.11", "1.9.3", "2.0.0-rc1", "2.0.0"]
        var records: [(Int64, String)] = []
        for (k, release) in releases.enumerated() {
            let time = monday + Int64(k) * hour
            records.append((time, tagSet("release", release, version: "\(k)", at: time)))
        }
        let arn = "arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/"
        for (k, version) in ["3", "9", "10", "7"].enumerated() {
            let time = monday + Int64(k) * hour + minute
            records.append((time, tagSet("package", arn + version, version: version, at: time)))
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        // As versions only v1.11 → 1.9.3 goes down (1.10 is after 1.9, 2.0.0 after its release candidate).
        let down = harness.alerts(of: "as-version").map { StageHarness.detector($0)["new_value"] as? String }
        #expect(down == ["1.9.3"])
        // As numbers 1.9 → 1.10 is a decrease (1.1 < 1.9), and the rest are not numbers.
        #expect(harness.alerts(of: "as-number").map { StageHarness.detector($0)["new_value"] as? String } == ["1.10"])
        // SageMaker model package versions: 3 → 9 → 10 forward, 10 → 7 back.
        #expect(harness.alerts(of: "package").map { StageHarness.detector($0)["new_value"] as? String } == [arn + "7"])
    }

    @Test func revertLooksBackOnlyAsFarAsTheHistory() {
        let harness = StageHarness(valueChangeRule(id: "revert", parameters: "change: revert\n    history: 2"))
        // 1, 2, 3, 4: the two previous distinct values are 2 and 3; back to 1 is beyond them, back to 3 is not.
        let versions = ["1", "2", "3", "4", "1", "3"]
        harness.feed(versions.enumerated().map { aliasMoved("production", to: $0.element, at: monday + Int64($0.offset) * hour) })
        harness.finish()
        #expect(harness.alerts(of: "revert").map { StageHarness.detector($0)["new_value"] as? String } == ["3"])
    }

    @Test func tuningAppliesAsToEveryDetector() {
        let observed = StageHarness(valueChangeRule(id: "revert", parameters: "change: revert", tuning: "tuning: {observe: true}"))
        observed.feed(Self.registry)
        observed.finish()
        #expect(observed.alerts(of: "revert").isEmpty)
        #expect(observed.stage.statistics.signals[.observe] == 1)

        // Learning counts from the detector's first record: the revert three hours in is still learned.
        let learning = StageHarness(valueChangeRule(id: "revert", parameters: "change: revert", tuning: "tuning: {learning: 4h}"))
        learning.feed(Self.registry)
        learning.finish()
        #expect(learning.alerts(of: "revert").isEmpty)
        #expect(learning.stage.statistics.signals[.learning] == 1)
    }

    @Test func stateRoundTripsThroughASnapshotAndCarriesOverOnReload() throws {
        let records = Self.registry
        let reference = StageHarness(Self.rules)
        reference.feed(records, batchSize: 4)
        reference.finish()
        let expected = reference.alerts.map(AlertDigest.init).sorted { $0.uid < $1.uid }
        #expect(expected.count == 3)

        for cut in [4, 9, 11] {
            let first = StageHarness(Self.rules)
            first.feed(Array(records[..<cut]), batchSize: 4)
            let bytes = first.stage.snapshot(position: [])
            let second = StageHarness(Self.rules)
            try second.stage.restore(bytes)
            second.feed(Array(records[cut...]), batchSize: 4)
            second.finish()
            let resumed = (first.alerts + second.alerts).map(AlertDigest.init).sorted { $0.uid < $1.uid }
            #expect(resumed == expected, "cut at \(cut)")
        }

        // A reload with another detector added keeps the value_change state (same signature).
        let first = StageHarness(Self.rules)
        first.feed(Array(records[..<11]))
        let reloaded = StageHarness(Self.rules + "\n---\n" + valueChangeRule(id: "any-change", parameters: "change: change"))
        let report = try reloaded.stage.restoreCarryingOver(first.stage.snapshot(position: [])).report
        #expect(report.carriedOver.sorted() == ["alias-decrease", "alias-revert", "score-drop"])
        #expect(report.startedFresh == ["any-change"])
        reloaded.feed(Array(records[11...]))
        reloaded.finish()
        #expect(reloaded.alerts(of: "alias-revert").count == 1, "the history before the reload was kept")
    }
}
