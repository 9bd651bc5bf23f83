import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

@testable import PipewatchRules

@Suite struct FieldResolutionTests {
    @Test func normalizedNamesResolveToNormalizedFields() {
        #expect(FieldAccess(resolving: "api.operation").kind == .normalized(.apiOperation))
        #expect(FieldAccess(resolving: "actor.user").kind == .normalized(.actorUser))
        #expect(FieldAccess(resolving: "source").kind == .source)
        #expect(FieldAccess(resolving: "eventName").kind == .raw(RawPath("eventName")))
        #expect(FieldAccess(resolving: "raw.resource.type").kind == .raw(RawPath("resource.type")))
        #expect(FieldAccess(resolving: "resource.type").kind == .normalized(.resourceType))
        #expect(FieldAccess(resolving: "raw.resource.type").description == "raw.resource.type")
    }

    @Test func normalizedFieldsWorkAcrossSources() {
        let yaml = rule("s:\n    actor.user: alice@acme.example\n    outcome: success\ncondition: s", logsource: "product: pipewatch")
        let harness = Harness(yaml)
        #expect(harness.problems.isEmpty)
        #expect(harness.matches(kubernetes()))
        #expect(harness.matches(gcpAudit()))
        #expect(!harness.matches(cloudTrail()))  // bob
        #expect(!harness.matches(gcpAudit(payload: #""status":{"code":7,"message":"denied"}"#)))
        // Event properties.
        let bySource = Harness(rule("s:\n    source: k8s.audit\n    preliminary: 'false'\ncondition: s", logsource: "product: pipewatch"))
        #expect(bySource.matches(kubernetes()))
        #expect(!bySource.matches(kubernetes(#""stage":"RequestReceived""#)))
        #expect(!bySource.matches(cloudTrail()))
    }

    @Test func rawPathsCrossArrays() {
        let detection = "s:\n    requestObject.spec.containers.securityContext.privileged: 'true'\ncondition: s"
        let logsource = "product: kubernetes\n    service: audit"
        let privileged = kubernetes(#""requestObject":{"spec":{"containers":[{"name":"a"},{"name":"b","securityContext":{"privileged":true}}]}}"#)
        let unprivileged = kubernetes(#""requestObject":{"spec":{"containers":[{"name":"a","securityContext":{"privileged":false}}]}}"#)
        #expect(ruleMatches(detection, privileged, logsource: logsource))
        #expect(!ruleMatches(detection, unprivileged, logsource: logsource))
        // An index picks one element.
        #expect(!ruleMatches("s:\n    requestObject.spec.containers.0.securityContext.privileged: 'true'\ncondition: s", privileged, logsource: logsource))
        #expect(ruleMatches("s:\n    requestObject.spec.containers[1].securityContext.privileged: 'true'\ncondition: s", privileged, logsource: logsource))
    }

    @Test func keysContainingDots() {
        let detection = "s:\n    annotations.authorization.k8s.io/decision: forbid\ncondition: s"
        let logsource = "product: kubernetes\n    service: audit"
        #expect(ruleMatches(detection, kubernetes(#""annotations":{"authorization.k8s.io/decision":"forbid"}"#), logsource: logsource))
        #expect(!ruleMatches(detection, kubernetes(#""annotations":{"authorization.k8s.io/decision":"allow"}"#), logsource: logsource))
    }

    @Test func rawPrefixResolvesCollisions() {
        // GCP's own resource.type (the monitored resource) versus the normalized resource.type.
        let logsource = "product: gcp\n    service: gcp.audit"
        #expect(ruleMatches("s:\n    raw.resource.type: audited_resource\ncondition: s", gcpAudit(), logsource: logsource))
        #expect(ruleMatches("s:\n    resource.type: audited_resource\ncondition: s", gcpAudit(), logsource: logsource))  // normalized from resource.type too
        #expect(!ruleMatches("s:\n    raw.resource.type: model\ncondition: s", gcpAudit(), logsource: logsource))
    }

    @Test func objectsAreSearchedThroughTheirText() {
        let record = cloudTrail(#""requestParameters":{"policyDocument":"{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}","userName":"carol"}"#)
        #expect(ruleMatches("s:\n    requestParameters|contains: '\"s3:GetObject\"'\ncondition: s", record))
        #expect(ruleMatches("s:\n    requestParameters: carol\ncondition: s", record))
        #expect(!ruleMatches("s:\n    requestParameters: dave\ncondition: s", record))
        #expect(ruleMatches("s:\n    requestParameters: '*'\ncondition: s", record))
        #expect(!ruleMatches("s:\n    responseElements: '*'\ncondition: s", cloudTrail(#""responseElements":null"#)))
    }

    @Test func keywordsSearchKeysAndValues() {
        let keywords = "keywords:\n    - 'break-glass'\n    - 'EVILTOOL'\ncondition: keywords"
        #expect(ruleMatches(keywords, cloudTrail(#""requestParameters":{"labels":{"image-policy.k8s.io/break-glass":"true"}}"#)))
        #expect(ruleMatches(keywords, cloudTrail(#""userAgent":"eviltool/1.0""#)))
        #expect(!ruleMatches(keywords, cloudTrail()))
        // The specification's `|all` keywords.
        let all = "keywords_cmdlet:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '\ncondition: keywords_cmdlet"
        #expect(ruleMatches(all, cloudTrail(#""probe":"Set-OabVirtualDirectory -ExternalUrl http://x""#)))
        #expect(!ruleMatches(all, cloudTrail(#""probe":"Set-OabVirtualDirectory""#)))
        // Escapes are decoded before searching.
        #expect(ruleMatches("k:\n    - 'a\"b'\ncondition: k", cloudTrail(#""probe":"xa\"bx""#)))
    }

    @Test func fieldMappingRenamesBeforeResolution() throws {
        let mapping = try FieldMapping.parse(yaml: """
            field_name_mapping:
                user: actor.user
                who: [userIdentity.userName, userIdentity.principalId]
            field_name_prefix_mapping:
                'ct.': 'raw.'
            logsources:
                - product: kubernetes
                  field_name_mapping:
                      user: user.username
            """, file: "mapping.yml")
        let options = RuleLoadOptions(fieldMapping: FieldMapping.sigmaDefault.overridden(by: mapping))
        #expect(ruleMatches("s:\n    user: 'arn:aws:iam::111122223333:user/bob'\ncondition: s", cloudTrail(), options: options))
        #expect(ruleMatches("s:\n    who: bob\ncondition: s", cloudTrail(), options: options))
        #expect(ruleMatches("s:\n    who: AIDA1\ncondition: s", cloudTrail(#""userIdentity":{"principalId":"AIDA1"}"#), options: options))
        #expect(ruleMatches("s:\n    ct.userIdentity.type: IAMUser\ncondition: s", cloudTrail(), options: options))
        #expect(ruleMatches("s:\n    user: alice@acme.example\ncondition: s", kubernetes(), logsource: "product: kubernetes\n    service: audit", options: options))
        // The default mapping still applies underneath.
        #expect(mapping.targets(for: "gcp.audit.method_name", logsource: LogSource(product: "gcp", service: "gcp.audit")) == ["gcp.audit.method_name"])
        #expect(options.fieldMapping.targets(for: "gcp.audit.method_name", logsource: LogSource(product: "gcp", service: "gcp.audit")) == ["protoPayload.methodName"])
    }

    @Test func defaultMappingCoversSigmaHQNames() {
        let gcp = LogSource(product: "gcp", service: "gcp.audit")
        let mapping = FieldMapping.sigmaDefault
        #expect(mapping.targets(for: "gcp.audit.method_name", logsource: gcp) == ["protoPayload.methodName"])
        #expect(mapping.targets(for: "gcp.audit.request.direction", logsource: gcp) == ["protoPayload.request.direction"])
        #expect(mapping.targets(for: "data.protoPayload.serviceName", logsource: gcp) == ["protoPayload.serviceName"])
        #expect(mapping.targets(for: "data.protoPayload.resource.type", logsource: gcp) == ["raw.resource.type"])
        #expect(mapping.targets(for: "apiGroup", logsource: LogSource(product: "kubernetes", service: "audit")) == ["objectRef.apiGroup"])
        // Scoped: the Kubernetes names do not leak into CloudTrail rules.
        #expect(mapping.targets(for: "apiGroup", logsource: LogSource(product: "aws", service: "cloudtrail")) == ["apiGroup"])
    }

    @Test func mappingFileErrorsHaveLines() {
        #expect(throws: RuleProblem(file: "m.yml", line: 2, reason: "unknown key 'field_mapping' (expected field_name_mapping, field_name_prefix_mapping or logsources)")) {
            try FieldMapping.parse(yaml: "field_name_mapping: {a: b}\nfield_mapping: {}\n", file: "m.yml")
        }
    }
}

@Suite struct SigmaFilterTests {
    static let rules = """
        title: bucket listing
        id: 11111111-0000-4000-8000-000000000001
        logsource: {product: aws, service: cloudtrail}
        detection: {s: {eventName: ListBuckets}, condition: s}
        ---
        title: bucket listing too
        name: listing_two
        logsource: {product: aws, service: cloudtrail}
        detection: {s: {eventName: ListBuckets}, condition: s}
        ---
        title: other
        logsource: {product: aws, service: cloudtrail}
        detection: {s: {eventName: ListBuckets}, condition: s}
        """

    static let filter = """
        title: Filter the automation user
        description: The inventory job lists buckets every hour
        logsource: {product: aws, service: cloudtrail}
        filter:
            rules:
                - 11111111-0000-4000-8000-000000000001
                - listing_two
                - 99999999-0000-4000-8000-000000000009
            selection:
                userIdentity.userName|startswith: 'svc-'
            condition: selection
        """

    @Test func filterSuppressesOnlyTheRulesItNames() {
        let harness = Harness(Self.rules + "\n---\n" + Self.filter)
        #expect(harness.problems.isEmpty)
        #expect(harness.ruleSet.filters.map(\.title) == ["Filter the automation user"])
        #expect(harness.ruleSet.warnings.map(\.reason) == [
            "filter 'Filter the automation user' names rule '99999999-0000-4000-8000-000000000009', which is not loaded"
        ])
        let human = cloudTrail(#""eventName":"ListBuckets""#)
        let automation = cloudTrail(#""eventName":"ListBuckets","userIdentity":{"type":"IAMUser","userName":"svc-inventory"}"#)
        #expect(harness.titles(human) == ["bucket listing", "bucket listing too", "other"])
        #expect(harness.titles(automation) == ["other"])
    }

    @Test func specificationExamplesLoad() throws {
        let folder = testDirectory() + "/Fixtures/spec"
        // Replay-style loading: the Windows and DNS rules are skipped, the filters load.
        let ruleSet = RuleSet(paths: [folder], options: RuleLoadOptions(skipUnsupported: true))
        #expect(ruleSet.problems.isEmpty, "\(ruleSet.problems)")
        #expect(ruleSet.skipped.count == 2)
        #expect(ruleSet.filters.count == 2)
        #expect(ruleSet.filters.first?.rules == ["6f3e2987-db24-4c78-a860-b4f4095a7095", "df0841c0-9846-4e9f-ad8a-7df91571771b"])
        // Check-style loading: refused for their logsource alone.
        let strict = RuleSet(paths: [folder])
        #expect(strict.problems.map(\.reason) == [
            "logsource 'product: windows, service: application' is not one Pipewatch reads (supported: aws/cloudtrail, gcp/gcp.audit, gcp/vertexai, kubernetes/audit, mlflow/webhook, pipewatch)",
            "logsource 'category: network, service: dns' is not one Pipewatch reads (supported: aws/cloudtrail, gcp/gcp.audit, gcp/vertexai, kubernetes/audit, mlflow/webhook, pipewatch)",
        ])
    }

    @Test func filterProblemsAreReported() {
        let broken = "title: f\nlogsource: {product: aws, service: cloudtrail}\nfilter:\n    rules: [x]\n    selection:\n        a|nope: 1\n    condition: selection\n"
        #expect(RuleSet(yaml: broken, file: "f.yml").problems.map(\.description) == ["f.yml:6: unknown value modifier 'nope' (in 'a|nope')"])
    }
}
