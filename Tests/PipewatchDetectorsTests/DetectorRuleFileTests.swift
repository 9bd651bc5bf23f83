import Foundation
import PipewatchDetectors
import PipewatchRules
import Testing

/// The new detector types as rule files: loaded, checked and tested by `pipewatch rules`, refused with
/// `file:line: reason` for bad parameters.
@Suite struct DetectorRuleFileTests {
    static let aliasRollback = """
        title: MLflow Production Alias Moved Back
        id: 3f0b8a51-6c2d-4e1a-9b7f-0c5d2e8a4b61
        status: test
        logsource: {product: mlflow, service: webhook}
        detection:
            selection:
                entity: model_version_alias
            condition: selection
        detector:
            type: value_change
            group-by: [ml.name, ml.alias]
            field: ml.version
            change: revert
            history: 5
        tuning:
            suppress: 1h
        level: high
        tests:
            match:
                - entity: model_version_alias
                  action: created
                  timestamp: '2026-11-05T03:32:20Z'
                  data: {name: fraud, alias: production, version: '7'}
            no_match:
                - entity: model_version
                  action: created
                  timestamp: '2026-11-05T03:32:20Z'
                  data: {name: fraud, version: '7'}
        """

    static let webhookSilence = """
        title: MLflow Webhook Deliveries Stopped
        id: 9a7c2e40-1b3d-4f5e-8a6b-7c8d9e0f1a2b
        status: test
        logsource: {product: pipewatch, service: mlflow.webhook}
        detection:
            selection:
                source: mlflow.webhook
            condition: selection
        detector:
            type: silence
            group-by: [cloud.account]
            after: 6h
            expire: 7d
        level: high
        tests:
            match:
                - entity: registered_model
                  action: created
                  timestamp: '2026-11-05T03:32:20Z'
                  data: {name: fraud}
        """

    @Test func rulesCheckAndRulesTestAcceptTheNewTypes() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rules/rollback.yml", Self.aliasRollback)
        try dir.write("rules/silence.yml", Self.webhookSilence)
        let check = try pipewatch(["rules", "check", dir.path("rules")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let test = try pipewatch(["rules", "test", dir.path("rules")])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }

    @Test func badParametersAreRefusedWithTheirLine() throws {
        // (replaced text, replacement, line of the refusal, reason)
        let cases: [(String, String, String, Int, String)] = [
            ("rollback", "change: revert", "change: sideways", 13, "change must be decrease, increase, change or revert"),
            ("rollback", "history: 5", "history: 0", 14, "history (previous distinct values) must be a whole number of at least 1"),
            ("rollback", "history: 5", "history: 2000", 14, "history is at most 1000 previous values"),
            ("rollback", "change: revert", "change: decrease\n    compare: semver", 14, "compare must be auto, number or version"),
            ("rollback", "field: ml.version", "field: [ml.version, ml.name]", 12, "a value_change detector compares one field"),
            ("rollback", "    field: ml.version\n", "", 10, "a value_change detector needs a field"),
            ("rollback", "history: 5", "after: 5m", 14, "unknown key 'after' for a value_change detector"),
            ("silence", "    after: 6h\n", "", 10, "a silence detector needs after"),
            ("silence", "after: 6h", "after: soon", 12, "after 'soon' is not a duration"),
            ("silence", "expire: 7d", "expire: 1h", 13, "expire must be longer than after"),
            ("silence", "group-by: [cloud.account]", "field: ml.name", 11, "unknown key 'field' for a silence detector"),
        ]
        for (file, old, new, line, reason) in cases {
            let text = (file == "rollback" ? Self.aliasRollback : Self.webhookSilence).replacingOccurrences(of: old, with: new)
            #expect(text != (file == "rollback" ? Self.aliasRollback : Self.webhookSilence))
            let found = RuleSet(yaml: text, file: "d.yml").problems.map(\.description)
            #expect(found.count == 1 && found.first?.hasPrefix("d.yml:\(line): ") == true && found.first?.contains(reason) == true,
                    "\(new): \(found)")
        }
        // And through the command line, with the file's path.
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.yml", Self.aliasRollback.replacingOccurrences(of: "change: revert", with: "change: sideways"))
        let check = try pipewatch(["rules", "check", path])
        #expect(check.status != 0)
        #expect((check.stdout + check.stderr).contains("\(path):13: change must be"), "\(check.stdout)\(check.stderr)")
    }
}
