import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import PipewatchRules

@Suite struct RuleExampleTests {
    static let rules = """
        title: Access key for another user
        id: 7d0c7a2e-0000-4000-8000-000000000001
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                eventSource: iam.amazonaws.com
                eventName: CreateAccessKey
            filter_self:
                userIdentity.userName|fieldref: requestParameters.userName
            condition: selection and not filter_self
        level: high
        tests:
            match:
                - eventVersion: '1.08'
                  eventTime: '2026-11-05T02:31:00Z'
                  eventSource: iam.amazonaws.com
                  eventName: CreateAccessKey
                  userIdentity: {type: IAMUser, userName: bob}
                  requestParameters: {userName: mallory}
            no_match:
                - eventVersion: '1.08'
                  eventTime: '2026-11-05T02:31:00Z'
                  eventSource: iam.amazonaws.com
                  eventName: CreateAccessKey
                  userIdentity: {type: IAMUser, userName: bob}
                  requestParameters: {userName: bob}
        ---
        title: Wrong expectation
        logsource: {product: kubernetes, service: audit}
        detection:
            selection: {verb: delete, objectRef.resource: secrets}
            condition: selection
        tests:
            match:
                - kind: Event
                  auditID: x
                  stage: ResponseComplete
                  verb: get
                  objectRef: {resource: secrets}
                  stageTimestamp: '2026-11-05T02:40:00Z'
                - eventSource: iam.amazonaws.com
                  eventName: DeleteSecret
                  eventTime: '2026-11-05T02:40:00Z'
                - {just: a map}
        ---
        title: No examples
        logsource: {product: mlflow, service: webhook}
        detection: {s: {action: created}, condition: s}
        """

    @Test func examplesRunThroughTheEngine() throws {
        let ruleSet = RuleSet(yaml: Self.rules, file: "examples.yml")
        #expect(ruleSet.problems.isEmpty)
        let results = RuleTester.run(ruleSet)
        #expect(results.map(\.rule.title) == ["Access key for another user", "Wrong expectation", "No examples"])
        #expect(results[0].passed)
        #expect(results[0].examples == 2)
        #expect(results[1].failures.map(\.description) == [
            "line 35: example must match but does not",
            "line 41: example must match but does not: it is a aws.cloudtrail event and the rule reads k8s.audit",
            "line 44: example is not a record Pipewatch reads: unknown record shape: not CloudTrail, Kubernetes audit, GCP audit or MLflow webhook (top-level keys: just)",
        ])
        #expect(results[2].examples == 0)
        #expect(results[2].passed)
    }

    @Test func examplesKeepYAMLTypesAsJSON() throws {
        let ruleSet = RuleSet(yaml: Self.rules, file: "examples.yml")
        let example = try #require(ruleSet.rules.first?.examples.match.first)
        #expect(example.json.hasPrefix(#"{"eventVersion":"1.08","eventTime":"2026-11-05T02:31:00Z""#))
        #expect(YAMLJSON.isJSONNumber("-12.5e3"))
        #expect(!YAMLJSON.isJSONNumber("0x17"))
        #expect(!YAMLJSON.isJSONNumber("01"))
        let node = YAMLReader.documents("a: 1\nb: '1'\nc: true\nd: ~\ne: [x, 2.5]\nf: 0x17\n").documents[0]
        #expect(YAMLJSON.json(node) == #"{"a":1,"b":"1","c":true,"d":null,"e":["x",2.5],"f":"0x17"}"#)
    }

    @Test func malformedTestsSectionsAreProblems() {
        let yaml = "title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: A}, condition: s}\ntests:\n    match: [a string]\n    maybe: []\n"
        #expect(RuleSet(yaml: yaml, file: "t.yml").problems.map(\.description) == [
            "t.yml:5: each example in tests.match must be a record written as a map, not a scalar",
            "t.yml:6: unknown key 'maybe' in tests (expected match and no_match)",
        ])
    }

    @Test func junitReport() throws {
        let ruleSet = RuleSet(yaml: Self.rules + "\n---\ntitle: broken\nlogsource: {product: aws, service: cloudtrail}\ndetection: {condition: s}\n", file: "examples.yml")
        let results = RuleTester.run(ruleSet)
        let xml = RuleTester.junitXML(results: results, problems: ruleSet.problems)
        #expect(xml.contains(#"<testsuites name="pipewatch rules test" tests="4" failures="1" errors="1" skipped="1">"#))
        #expect(xml.contains(#"<testcase classname="examples.yml" name="Access key for another user (7d0c7a2e-0000-4000-8000-000000000001)">"#))
        #expect(xml.contains(#"<failure message="3 of 3 examples failed">"#))
        #expect(xml.contains("<skipped message=\"no examples\"/>"))
        // Well-formed XML.
        let parser = XMLParser(data: Data(xml.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }

    @Test func xmlEscaping() {
        #expect(RuleTester.escape("a<b & \"c\" 'd'>\u{1}") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;?")
    }
}
