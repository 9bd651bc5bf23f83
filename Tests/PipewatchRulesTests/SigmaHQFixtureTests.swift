import Foundation
import Testing

@testable import PipewatchRules

/// Real SigmaHQ rules (Fixtures/sigmahq) load unchanged and behave as their authors meant.
@Suite struct SigmaHQFixtureTests {
    static let folder = testDirectory() + "/Fixtures/sigmahq"
    static let placeholders = Placeholders([
        "Legitimate_Countries": ["US", "DE"],
        "Legitimate_IP_Ranges": ["198.51.100.*"],
    ])

    static func load(placeholders: Placeholders = SigmaHQFixtureTests.placeholders) -> RuleSet {
        RuleSet(paths: [folder], options: RuleLoadOptions(placeholders: placeholders))
    }

    @Test func everyFixtureLoadsWithoutProblems() {
        let ruleSet = Self.load()
        #expect(ruleSet.problems.map(\.description) == [])
        #expect(ruleSet.warnings.isEmpty)
        #expect(ruleSet.files.count == 51)
        #expect(ruleSet.rules.count == 51)
    }

    @Test func placeholdersAreRequiredForTheExpandRule() {
        let ruleSet = Self.load(placeholders: .none)
        #expect(ruleSet.problems.map(\.description) == [
            Self.folder + "/aws_cloudtrail_console_susp_login.yml:20: placeholder '%Legitimate_Countries%' has no value (in 'src_country|expand'); give it in a placeholders file (--placeholders)",
            Self.folder + "/aws_cloudtrail_console_susp_login.yml:22: placeholder '%Legitimate_IP_Ranges%' has no value (in 'src_ip|expand'); give it in a placeholders file (--placeholders)",
        ])
        #expect(ruleSet.rules.count == 50)
    }

    @Test func everyRuleIsReachedThroughTheIndexOrEvaluatedAlways() {
        let engine = Self.load().engine
        let summary = Dictionary(uniqueKeysWithValues: engine.indexSummary.map { ($0.source, $0) })
        #expect(summary[.cloudTrail]!.indexedRules + summary[.cloudTrail]!.unindexedRules == 20)
        #expect(summary[.gcpAudit]!.indexedRules + summary[.gcpAudit]!.unindexedRules == 16)
        #expect(summary[.kubernetesAudit]!.indexedRules + summary[.kubernetesAudit]!.unindexedRules == 15)
        // Most rules name literal values of some field.
        #expect(summary[.cloudTrail]!.unindexedRules <= 3)
    }

    /// Loaded once; each test evaluates through its own harness (tests run in parallel).
    static let ruleSet = SigmaHQFixtureTests.load()
    let harness = Harness(ruleSet: SigmaHQFixtureTests.ruleSet)

    private func titles(_ record: String) -> [String] { harness.titles(record) }

    @Test func cloudTrailRules() {
        // contains|all over an object: the inline policy document is searched as text.
        let policy = #"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"}]}"#
        let s3Browser = cloudTrail(#""eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","userAgent":"S3 Browser 11.5.7 https://s3browser.com","requestParameters":{"userName":"bob","policyName":"p","policyDocument":"\#(policy)"}"#)
        #expect(titles(s3Browser) == ["AWS IAM S3Browser Templated S3 Bucket Policy Creation"])
        let otherBucket = s3Browser.replacingOccurrences(of: "YOUR-BUCKET-NAME", with: "acme-ml-training-data")
        #expect(titles(otherBucket) == [])

        // re + not 1 of filter_main_*: an instance role acting outside SSM.
        let instanceRole = #""userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc"}"#
        #expect(titles(cloudTrail(instanceRole + #","eventSource":"s3.amazonaws.com","eventName":"ListBuckets""#)) == [
            "Malicious Usage Of IMDS Credentials Outside Of AWS Infrastructure", "Potential Bucket Enumeration on AWS",
        ])
        #expect(titles(cloudTrail(instanceRole + #","eventSource":"ssm.amazonaws.com","eventName":"UpdateInstanceInformation""#)) == [])

        // not: root usage except AWS service events.
        let root = #""userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"}"#
        #expect(titles(cloudTrail(root + #","eventName":"GetObject""#)) == ["AWS Root Credentials"])
        #expect(titles(cloudTrail(root + #","eventName":"GetObject","eventType":"AwsServiceEvent""#)) == [])

        // 1 of selection_*.
        #expect(titles(cloudTrail(#""eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithSAML""#)) == ["AWS Suspicious SAML Activity"])
        #expect(titles(cloudTrail(#""eventSource":"iam.amazonaws.com","eventName":"UpdateSAMLProvider""#)) == ["AWS Suspicious SAML Activity"])
        #expect(titles(cloudTrail(#""eventSource":"iam.amazonaws.com","eventName":"AssumeRoleWithSAML""#)) == [])

        // not 1 of filter_main_* with a user agent filter.
        #expect(titles(cloudTrail(#""eventSource":"signin.amazonaws.com","eventName":"GetSigninToken","userAgent":"python-requests/2.31""#)) == ["AWS Console GetSigninToken Potential Abuse"])
        #expect(titles(cloudTrail(#""eventSource":"signin.amazonaws.com","eventName":"GetSigninToken","userAgent":"Jersey/${project.version} (HttpUrlConnection 1.8)""#)) == [])

        // startswith on a nested field; the bedrock ML rules.
        let bedrock = #""eventSource":"bedrock.amazonaws.com","eventName":"PutUseCaseForModelAccess","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAEXAMPLE"}"#
        #expect(titles(cloudTrail(bedrock)) == ["Uncommon AWS Bedrock API Calls From Long Lived Access Keys"])
        #expect(titles(cloudTrail(bedrock.replacingOccurrences(of: "AKIA", with: "ASIA"))) == [])
        #expect(titles(cloudTrail(#""eventSource":"bedrock-runtime.amazonaws.com","eventName":"InvokeModel""#)) == ["AWS Bedrock Foundation Model Invoked by Unauthorized Identity"])

        // A nested array path: the command of any container definition.
        let task = #""eventSource":"ecs.amazonaws.com","eventName":"RegisterTaskDefinition","requestParameters":{"containerDefinitions":[{"name":"a","command":["sh","-c","curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}"#
        #expect(titles(cloudTrail(task)) == ["AWS ECS Task Definition That Queries The Credential Endpoint"])

        // Console login without MFA.
        let login = #""eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}"#
        #expect(titles(cloudTrail(login)) == ["AWS Successful Console Login Without MFA"])
        #expect(titles(cloudTrail(login.replacingOccurrences(of: #""MFAUsed":"No""#, with: #""MFAUsed":"Yes""#))) == [])
    }

    @Test func gcpAuditRules() {
        // gcp.audit.method_name (mapped) with startswith, contains and endswith together.
        let webhook = gcpAudit(payload: #""serviceName":"k8s.io","methodName":"admissionregistration.k8s.io.v1.mutatingwebhookconfigurations.create""#)
        #expect(titles(webhook) == ["Google Cloud Kubernetes Admission Controller"])
        let read = gcpAudit(payload: #""serviceName":"k8s.io","methodName":"admissionregistration.k8s.io.v1.mutatingwebhookconfigurations.get""#)
        #expect(titles(read) == [])

        // Wildcards in the middle of method names.
        let secrets = gcpAudit(payload: #""serviceName":"k8s.io","methodName":"io.k8s.core.v1.secrets.delete""#)
        #expect(titles(secrets) == ["Google Cloud Kubernetes Secrets Modified or Deleted"])

        // all of selection_*, request fields across arrays, a number against a string array.
        let firewall = gcpAudit(payload: #""serviceName":"compute.googleapis.com","methodName":"v1.compute.firewalls.insert","request":{"source_ranges":["0.0.0.0/0"],"alloweds":[{"IPProtocol":"tcp","ports":["22"]}],"direction":"INGRESS"}"#)
        #expect(titles(firewall) == ["Google Cloud Compute Firewall Ingress Allow All SSH"])
        #expect(titles(firewall.replacingOccurrences(of: #"["22"]"#, with: #"["443"]"#)) == [])

        // authorizationInfo is an array; granted is a JSON boolean compared with 'true'.
        let accessPolicy = gcpAudit(payload: #""serviceName":"accesscontextmanager.googleapis.com","methodName":"google.identity.accesscontextmanager.v1.AccessContextManager.DeleteAccessPolicy","authorizationInfo":[{"permission":"accesscontextmanager.accessPolicies.delete","granted":true}]"#)
        #expect(titles(accessPolicy) == ["GCP Access Policy Deleted"])
        #expect(titles(accessPolicy.replacingOccurrences(of: #""granted":true"#, with: #""granted":false"#)) == [])

        // Keywords anywhere in the record (a label key), with data.protoPayload.* names mapped.
        let breakGlass = gcpAudit(
            #""logName":"cloudaudit.googleapis.com%2Factivity","resource":{"type":"k8s_cluster","labels":{"cluster_name":"prod"}}"#,
            payload: #""serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.create","request":{"metadata":{"labels":{"image-policy.k8s.io/break-glass":"true"}}}"#)
        #expect(titles(breakGlass) == ["GCP Break-glass Container Workload Deployed"])
        #expect(titles(breakGlass.replacingOccurrences(of: "break-glass", with: "team")) == [])

        #expect(titles(gcpAudit(payload: #""methodName":"google.iam.admin.v1.SetIamPolicy""#)) == ["Google Cloud IAM Policy Changed"])
        #expect(titles(gcpAudit()) == [])
    }

    @Test func kubernetesRules() {
        // The pod creation rules, with apiGroup/capabilities/hostPath mapped into the audit event.
        let privileged = kubernetes(#""requestObject":{"spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}]}}"#)
        #expect(titles(privileged) == ["Privileged Container Deployed"])
        let hostPath = kubernetes(#""requestObject":{"spec":{"volumes":[{"name":"root","hostPath":{"path":"/"}}],"containers":[{"name":"a"}]}}"#)
        #expect(titles(hostPath) == ["Container With A hostPath Mount Created"])
        let inSystem = kubernetes(#""objectRef":{"resource":"pods","namespace":"kube-system","name":"kube-proxy-bv61v"}"#)
        #expect(titles(inSystem) == ["Creation Of Pod In System Namespace"])
        #expect(titles(kubernetes()) == [])

        let rbac = kubernetes(#""objectRef":{"resource":"selfsubjectrulesreviews","apiGroup":"authorization.k8s.io"}"#)
        #expect(titles(rbac) == ["RBAC Permission Enumeration Attempt"])

        let exec = kubernetes(#""objectRef":{"resource":"pods","subresource":"exec","namespace":"kubeflow","name":"p"},"requestURI":"/api/v1/namespaces/kubeflow/pods/p/exec?command=%2Fbin%2Fsh&container=main""#)
        #expect(titles(exec) == ["Potential Remote Command Execution In Pod Container"])

        // Numbers in the record against numbers in the rule.
        #expect(titles(kubernetes(#""verb":"get","responseStatus":{"code":403}"#)) == ["Kubernetes Unauthorized or Unauthenticated Access"])
        #expect(titles(kubernetes(#""verb":"get","responseStatus":{"code":200}"#)) == [])

        // A regular expression on the request URI, ANDed with a status the rule expects as text.
        let attack = kubernetes(#""verb":"get","requestURI":"/api/v1/namespaces/x/pods/p/exec?command=%2fbin%2fbash","responseStatus":{"code":"ALLOW"}"#)
        #expect(titles(attack) == ["Suspicious Kubernetes Enumeration or Attack"])

        let rolebinding = kubernetes(#""verb":"patch","objectRef":{"resource":"clusterrolebindings","apiGroup":"rbac.authorization.k8s.io","name":"x"}"#)
        #expect(titles(rolebinding) == ["Kubernetes Rolebinding Modification"])
    }
}
