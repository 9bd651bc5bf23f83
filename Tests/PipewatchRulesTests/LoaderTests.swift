import Foundation
import PipewatchEvents
import Testing

@testable import PipewatchRules

@Suite struct LoaderTests {
    static let fullRule = """
        title: Access key created for another user
        id: 5f1b1a3e-0000-4000-8000-000000000001
        name: access_key_for_other_user
        related:
            - id: 0a5177f4-6ca9-44c2-aacf-d3f3d8b6e4d2
              type: derived
        status: experimental
        description: An IAM user creates an access key for someone else.
        license: DRL-1.1
        author: Pipewatch
        references:
            - https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
        date: 2026-11-05
        modified: 2026/11/06
        tags:
            - attack.persistence
            - attack.t1098.001
        logsource:
            product: aws
            service: cloudtrail
            definition: management events
            x-retention: 90d
        detection:
            selection:
                eventName: CreateAccessKey
            condition: selection
        fields:
            - userIdentity.arn
        falsepositives:
            - Key rotation by administrators
        level: high
        scope:
            - server
        custom-owner: detection-team
        x_review:
            by: alice
            cadence: [weekly, monthly]
        """

    @Test func everyKeyIsKept() throws {
        let ruleSet = RuleSet(yaml: Self.fullRule, file: "rules/full.yml")
        #expect(ruleSet.problems.isEmpty)
        let rule = try #require(ruleSet.rules.first)
        #expect(rule.id == "5f1b1a3e-0000-4000-8000-000000000001")
        #expect(rule.name == "access_key_for_other_user")
        #expect(rule.title == "Access key created for another user")
        #expect(rule.status == .experimental)
        #expect(rule.description == "An IAM user creates an access key for someone else.")
        #expect(rule.license == "DRL-1.1")
        #expect(rule.author == "Pipewatch")
        #expect(rule.references == ["https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html"])
        #expect(rule.date == "2026-11-05")
        #expect(rule.modified == "2026/11/06")
        #expect(rule.tags == ["attack.persistence", "attack.t1098.001"])
        #expect(rule.level == .high)
        #expect(rule.fields == ["userIdentity.arn"])
        #expect(rule.falsepositives == ["Key rotation by administrators"])
        #expect(rule.scope == ["server"])
        #expect(rule.related == [RelatedRule(id: "0a5177f4-6ca9-44c2-aacf-d3f3d8b6e4d2", type: "derived")])
        #expect(rule.logsource.product == "aws")
        #expect(rule.logsource.service == "cloudtrail")
        #expect(rule.logsource.definition == "management events")
        #expect(rule.logsource.otherKeys == [RuleValue.Member(key: "x-retention", value: .string("90d"))])
        #expect(rule.sources == [.cloudTrail])
        #expect(rule.customKeys.map(\.key) == ["custom-owner", "x_review"])
        #expect(rule.customKey("custom-owner") == .string("detection-team"))
        #expect(rule.customKey("x_review")?["cadence"] == .list([.string("weekly"), .string("monthly")]))
        #expect(rule.detection["condition"] == .string("selection"))
        #expect(rule.document["title"] == .string(rule.title))
        #expect(rule.file == "rules/full.yml")
        #expect(rule.line == 1)
        #expect(rule.index == 0)
    }

    @Test func multiDocumentFiles() throws {
        let yaml = """
            title: first
            logsource: {product: aws, service: cloudtrail}
            detection: {s: {eventName: A}, condition: s}
            ---
            title: second
            logsource: {product: kubernetes, service: audit}
            detection: {s: {verb: delete}, condition: s}
            """
        let ruleSet = RuleSet(yaml: yaml, file: "multi.yml")
        #expect(ruleSet.problems.isEmpty)
        #expect(ruleSet.rules.map(\.title) == ["first", "second"])
        #expect(ruleSet.rules.map(\.line) == [1, 5])
        #expect(ruleSet.rules.map(\.index) == [0, 1])
    }

    @Test func problemsNameFileLineAndReason() {
        let yaml = """
            title: bad level
            level: severe
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection:
                    eventName: A
                condition: selection
            ---
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection:
                    eventName:
                        nested: map
                condition: selection
            ---
            title: ok
            logsource: {product: aws, service: cloudtrail}
            detection: {s: {eventName: A}, condition: s}
            """
        let ruleSet = RuleSet(yaml: yaml, file: "bad.yml")
        #expect(ruleSet.problems.map(\.description) == [
            "bad.yml:2: level 'severe' is not one of informational, low, medium, high, critical",
            "bad.yml:9: the rule has no title",
            "bad.yml:13: the value of 'eventName' is a map; Sigma values are scalars or lists of scalars (write nested fields as 'a.b.c')",
        ])
        #expect(ruleSet.rules.map(\.title) == ["ok"])
    }

    @Test func yamlSyntaxErrorsHaveALine() {
        let yaml = "title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    selection: [unclosed\n    condition: selection\n"
        let problems = RuleSet(yaml: yaml, file: "syntax.yml").problems
        #expect(problems.count == 1)
        #expect(problems.first?.reason.hasPrefix("invalid YAML") == true)
        #expect((problems.first?.line ?? 0) >= 4)
    }

    /// libyaml marks an error at the end of the input on the line after the last one; the problem names a line of
    /// the file (found by fuzzing: `rule.yml:33` for a 32-line file).
    @Test func aSyntaxErrorAtTheEndOfTheFileNamesItsLastLine() {
        for (yaml, last) in [
            ("title: x\nlogsource:\n    product: aws\n    serssv", 4),  // no final line break
            ("title: x\ndetection:\n    selection: [unclosed\n", 3),
            ("title: x\ndetection:\n    selection: 'unclosed\n\n\n", 3),  // blank lines after it
            ("title: x\r\ndetection:\r\n    selection: {a: b\r\n", 3),  // CR LF line breaks
        ] {
            let problems = RuleSet(yaml: yaml, file: "end.yml").problems
            #expect(problems.count == 1, "\(problems)")
            #expect(problems.first?.line == last, "\(problems)")
        }
    }

    @Test func duplicateKeysAreReported() {
        let yaml = "title: x\ntitle: y\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: A}, condition: s}\n"
        let problems = RuleSet(yaml: yaml, file: "dup.yml").problems
        #expect(problems.map(\.description) == ["dup.yml:1: duplicate key 'title' in a map"])
    }

    @Test func duplicateIdsAreReported() {
        let yaml = """
            title: a
            id: 11111111-1111-4111-8111-111111111111
            logsource: {product: aws, service: cloudtrail}
            detection: {s: {eventName: A}, condition: s}
            ---
            title: b
            id: 11111111-1111-4111-8111-111111111111
            logsource: {product: aws, service: cloudtrail}
            detection: {s: {eventName: B}, condition: s}
            """
        let problems = RuleSet(yaml: yaml, file: "ids.yml").problems
        #expect(problems.map(\.description) == ["ids.yml:7: rule id 11111111-1111-4111-8111-111111111111 is already used by ids.yml:1"])
    }

    @Test func directoriesAreReadRecursivelyInOrder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pipewatch-rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("aws/deep"), withIntermediateDirectories: true)
        func write(_ path: String, _ title: String) throws {
            let text = "title: \(title)\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: \(title)}, condition: s}\n"
            try text.write(to: root.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        try write("b.yml", "B")
        try write("aws/a.yaml", "A")
        try write("aws/deep/c.yml", "C")
        try write("notes.txt", "ignored")
        let ruleSet = RuleSet(paths: [root.path, root.path + "/missing.yml"])
        #expect(ruleSet.rules.map(\.title) == ["A", "C", "B"])
        #expect(ruleSet.problems.map(\.description) == [root.path + "/missing.yml: no such file or directory"])
    }

    @Test func identifierShapes() {
        // Empty identifiers, null, wrong list items.
        #expect(ruleProblems("s:\ncondition: s").map(\.reason) == ["search identifier 's' is empty"])
        #expect(ruleProblems("s: []\ncondition: s").map(\.reason) == ["search identifier 's' is an empty list"])
        #expect(ruleProblems("s: {}\ncondition: s").map(\.reason) == ["search identifier 's' is an empty map"])
        #expect(ruleProblems("s:\n    - [a]\ncondition: s").map(\.reason) == ["items of search identifier 's' must be maps or keyword strings, not a list"])
        #expect(ruleProblems("s:\n    eventName: []\ncondition: s").map(\.reason) == ["'eventName' has an empty list of values"])
    }

    @Test func correlationRulesAndCollections() {
        let correlation = """
            title: many failures
            correlation:
                type: event_count
                rules: [x]
                group-by: [user]
                timespan: 5m
                condition: {gte: 10}
            """
        #expect(RuleSet(yaml: correlation).problems.map(\.reason) == ["correlation 'many failures' references 'x', which is not loaded"])
        let lenient = RuleSet(yaml: correlation, options: RuleLoadOptions(skipUnsupported: true))
        #expect(lenient.problems.isEmpty)
        #expect(lenient.skipped.count == 1)
        let collection = "action: global\ntitle: x\n"
        #expect(RuleSet(yaml: collection).problems.first?.reason.contains("rule collections") == true)
    }
}

@Suite struct LogSourceTests {
    private func route(_ logsource: LogSource) -> LogSourceRoute? {
        if case .success(let route) = LogSourceRoute.route(logsource) { return route }
        return nil
    }

    @Test func routing() {
        #expect(route(LogSource(product: "aws", service: "cloudtrail"))?.sources == [.cloudTrail])
        #expect(route(LogSource(product: "gcp", service: "gcp.audit"))?.sources == [.gcpAudit])
        #expect(route(LogSource(product: "kubernetes", service: "audit"))?.sources == [.kubernetesAudit])
        #expect(route(LogSource(category: "application", product: "kubernetes", service: "audit"))?.sources == [.kubernetesAudit])
        #expect(route(LogSource(product: "mlflow", service: "webhook"))?.sources == [.mlflowWebhook])
        #expect(route(LogSource(product: "pipewatch"))?.sources == EventSource.allCases)
        #expect(route(LogSource(product: "pipewatch", service: "k8s.audit"))?.sources == [.kubernetesAudit])
        let vertex = route(LogSource(product: "gcp", service: "vertexai"))
        #expect(vertex?.sources == [.gcpAudit])
        #expect(vertex?.restriction?.field == "protoPayload.serviceName")
        #expect(route(LogSource(category: "process_creation", product: "windows")) == nil)
        #expect(route(LogSource(category: "firewall", product: "aws", service: "cloudtrail")) == nil)
        #expect(route(LogSource(product: "pipewatch", service: "syslog")) == nil)
    }

    @Test func rulesOnlySeeTheirSource() {
        let yaml = """
            title: any create
            logsource: {product: pipewatch}
            detection: {s: {api.operation|contains: create}, condition: s}
            ---
            title: k8s create
            logsource: {product: kubernetes, service: audit}
            detection: {s: {verb: create}, condition: s}
            ---
            title: aws create
            logsource: {product: aws, service: cloudtrail}
            detection: {s: {eventName|startswith: Create}, condition: s}
            ---
            title: mlflow create
            logsource: {product: mlflow, service: webhook}
            detection: {s: {action: created}, condition: s}
            """
        let harness = Harness(yaml)
        #expect(harness.problems.isEmpty)
        #expect(harness.titles(kubernetes()) == ["any create", "k8s create"])
        #expect(harness.titles(cloudTrail(#""eventName":"CreateBucket""#)) == ["any create", "aws create"])
        #expect(harness.titles(mlflow()) == ["any create", "mlflow create"])
    }

    @Test func vertexAIRestriction() {
        let harness = Harness(rule("s:\n    protoPayload.methodName|endswith: DeployModel\ncondition: s", logsource: "product: gcp\n    service: vertexai"))
        #expect(harness.problems.isEmpty)
        #expect(harness.matches(gcpAudit()))
        #expect(!harness.matches(gcpAudit(payload: #""serviceName":"compute.googleapis.com""#)))
    }

    @Test func unsupportedLogsourceIsAProblemOrSkipped() {
        let windows = """
            title: whoami
            logsource:
                category: process_creation
                product: windows
            detection: {selection: {Image|endswith: '\\whoami.exe'}, condition: selection}
            """
        let strict = RuleSet(yaml: windows, file: "win.yml")
        #expect(strict.problems.map(\.description) == [
            "win.yml:3: logsource 'category: process_creation, product: windows' is not one Pipewatch reads (supported: aws/cloudtrail, gcp/gcp.audit, gcp/vertexai, kubernetes/audit, mlflow/webhook, pipewatch)"
        ])
        // Every problem of the document is reported, not only the first.
        let worse = windows.replacingOccurrences(of: "condition: selection", with: "condition: selection and nope")
        #expect(RuleSet(yaml: worse, file: "win.yml").problems.count == 2)
        let lenient = RuleSet(yaml: worse, file: "win.yml", options: RuleLoadOptions(skipUnsupported: true))
        #expect(lenient.problems.isEmpty)
        #expect(lenient.skipped.count == 1)
        #expect(lenient.rules.isEmpty)
    }
}
