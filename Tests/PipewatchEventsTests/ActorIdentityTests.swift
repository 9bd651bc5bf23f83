import PipewatchEvents
import Testing

/// userIdentity elements shaped as CloudTrail writes them (AWS's userIdentity reference and samples/cloudtrail).
enum Identities {
    static let ssoSession = #"{"type":"AssumedRole","principalId":"AROAIMSQCGVN3O6B7KCIG:alice@acme.example","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c/alice@acme.example","accountId":"111122223333","accessKeyId":"ASIARZWJ5XQL5OTEDDLZ","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIMSQCGVN3O6B7KCIG","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c","accountId":"111122223333","userName":"AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-02T12:58:30Z","mfaAuthenticated":"false"}}}"#

    /// A role session as SageMaker Pipelines, an IRSA pod or EKS Pod Identity opens one per run.
    static func roleSession(_ role: String, _ session: String, invokedBy: String? = nil, webIdentity: String = "{}", extraContext: String = "") -> String {
        let invoked = invokedBy.map { #","invokedBy":"\#($0)""# } ?? ""
        return #"{"type":"AssumedRole","principalId":"AROAFJKKMIDQHL4MULUU5:\#(session)","arn":"arn:aws:sts::111122223333:assumed-role/\#(role)/\#(session)","accountId":"111122223333","accessKeyId":"ASIAUZ7PJKXGHD6NRJZP","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAFJKKMIDQHL4MULUU5","arn":"arn:aws:iam::111122223333:role/\#(role)","accountId":"111122223333","userName":"\#(role)"},"webIdFederationData":\#(webIdentity),"attributes":{"creationDate":"2026-11-04T14:30:41Z","mfaAuthenticated":"false"}\#(extraContext)}\#(invoked)}"#
    }

    static let iamUser = #"{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","accessKeyId":"AKIAZGGWILVDEXAMPLE","userName":"bob"}"#
    static let root = #"{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":""}"#
    static let awsService = #"{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"}"#
    static let anonymous = #"{"type":"AWSAccount","principalId":"","accountId":"anonymous"}"#
}

@Suite("Actor identity: CloudTrail")
struct CloudTrailActorTests {
    func actor(_ identity: String, eventName: String = "DescribeModelPackageGroup", region: String = "us-east-1") throws -> NormalizedRecord {
        try NormalizedRecord(CloudTrailRecords.record(eventName: eventName, region: region, identity: identity))
    }

    @Test("an SSO permission-set session: the role is the principal, the signed-in user the person")
    func ssoSession() throws {
        let r = try actor(Identities.ssoSession)
        #expect(r[.actorPrincipal] == "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c")
        #expect(r[.actorPerson] == "alice@acme.example")
        #expect(r[.actorSession] == "alice@acme.example")
        #expect(r[.actorKind] == "human")
        // Existing fields keep their meaning.
        #expect(r[.actorUser] == "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c/alice@acme.example")
        #expect(r[.actorUserType] == "AssumedRole")
        #expect(r[.actorSessionIssuer] == r[.actorPrincipal])
    }

    @Test("an SSO session named for a username without a domain still names the person")
    func ssoSessionWithoutEmail() throws {
        let r = try actor(Identities.roleSession("AWSReservedSSO_AdministratorAccess_1bd3786dce786114", "sysadmin"))
        #expect(r[.actorPerson] == "sysadmin")
        #expect(r[.actorKind] == "human")
    }

    @Test("per-run pipeline, SDK, IRSA and pod-identity sessions of one role are one principal, a workload")
    func perRunSessions() throws {
        let sessions: [(role: String, session: String, invokedBy: String?, webIdentity: String)] = [
            ("SageMakerPipelineExecutionRole", "SageMaker-pipeline-run-t5c1z8h4b2y6", "sagemaker.amazonaws.com", "{}"),
            ("SageMakerPipelineExecutionRole", "SageMaker-pipeline-run-k3x9m2p7q1w4", "sagemaker.amazonaws.com", "{}"),
            ("SageMakerPipelineExecutionRole", "SageMaker", nil, "{}"),
            ("SageMakerPipelineExecutionRole", "botocore-session-1793849478", nil,
             #"{"federatedProvider":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C8D1F2A9B3E4D6F7A8B9C0D1E2F3A4B","attributes":{}}"#),
            ("SageMakerPipelineExecutionRole", "eks-ml-prod-fraud-trai-1f3c2b9e-6d7a-4c1b-9e8f-0a1b2c3d4e5f", nil, "{}"),
        ]
        for s in sessions {
            let r = try actor(Identities.roleSession(s.role, s.session, invokedBy: s.invokedBy, webIdentity: s.webIdentity))
            #expect(r[.actorPrincipal] == "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole", "\(s.session)")
            #expect(r[.actorSession] == s.session)
            #expect(r[.actorPerson] == nil, "\(s.session)")
            #expect(r[.actorKind] == "workload", "\(s.session)")
        }
    }

    @Test("a source identity or Identity Center user on a role session names the person")
    func sourceIdentityAndOnBehalfOf() throws {
        let source = try actor(Identities.roleSession(
            "DataScientist", "ds-session-1793849478", extraContext: #","sourceIdentity":"carol@acme.example""#))
        #expect(source[.actorPrincipal] == "arn:aws:iam::111122223333:role/DataScientist")
        #expect(source[.actorPerson] == "carol@acme.example")
        #expect(source[.actorSession] == "ds-session-1793849478")
        #expect(source[.actorKind] == "human")

        // An identity-enhanced session (trusted identity propagation): the application's role acts for a user.
        let enhanced = Identities.roleSession("QuickSightAnalysisRole", "example-user-1")
            .replacingOccurrences(of: #""accessKeyId":"#, with: #""onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"},"accessKeyId":"#)
        let r = try actor(enhanced)
        #expect(r[.actorPerson] == "544894e8-80c1-707f-60e3-3ba6510dfac1")
        #expect(r[.actorKind] == "human")
        #expect(r[.actorPrincipal] == "arn:aws:iam::111122223333:role/QuickSightAnalysisRole")
    }

    @Test("a role federated by a SAML IdP with the user's email as session name is a human's")
    func samlFederatedSession() throws {
        let r = try actor(Identities.roleSession("Okta-DataScience", "dave@acme.example"))
        #expect(r[.actorPrincipal] == "arn:aws:iam::111122223333:role/Okta-DataScience")
        #expect(r[.actorPerson] == "dave@acme.example")
        #expect(r[.actorKind] == "human")
    }

    @Test("a role session logged without sessionIssuer: the role ARN is composed from the session ARN")
    func sessionWithoutIssuer() throws {
        let r = try actor(#"{"type":"AssumedRole","principalId":"AROAFJKKMIDQHL4MULUU5:botocore-session-1793849478","arn":"arn:aws-us-gov:sts::111122223333:assumed-role/ModelDeployer/botocore-session-1793849478","accountId":"111122223333"}"#)
        #expect(r[.actorPrincipal] == "arn:aws-us-gov:iam::111122223333:role/ModelDeployer")
        #expect(r[.actorSession] == "botocore-session-1793849478")
        #expect(r[.actorKind] == "workload")
    }

    @Test("an IAM user: the user ARN and name; the failed sign-in without an ARN gets the same principal")
    func iamUser() throws {
        let r = try actor(Identities.iamUser)
        #expect(r[.actorPrincipal] == "arn:aws:iam::111122223333:user/bob")
        #expect(r[.actorPerson] == "bob")
        #expect(r[.actorSession] == nil)
        #expect(r[.actorKind] == "human")

        let failed = try NormalizedRecord(CloudTrailRecords.consoleLoginFailure)
        #expect(failed[.actorPrincipal] == r[.actorPrincipal])
        #expect(failed[.actorPerson] == "bob")
        #expect(failed[.actorUser] == "bob")

        // China regions' ARNs are in the aws-cn partition.
        let china = try actor(#"{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","accountId":"111122223333","userName":"bob"}"#, region: "cn-north-1")
        #expect(china[.actorPrincipal] == "arn:aws-cn:iam::111122223333:user/bob")

        // A user name CloudTrail hid (someone typed a password into the name field) names nobody.
        let hidden = try actor(#"{"type":"IAMUser","accountId":"111122223333","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}"#)
        #expect(hidden[.actorPrincipal] == nil)
        #expect(hidden[.actorPerson] == nil)
    }

    @Test("root, AWS services, S3's anonymous requester")
    func rootServiceAnonymous() throws {
        let root = try actor(Identities.root)
        #expect(root[.actorPrincipal] == "arn:aws:iam::111122223333:root")
        #expect(root[.actorKind] == "human")
        #expect(root[.actorPerson] == nil)

        let service = try actor(Identities.awsService)
        #expect(service[.actorPrincipal] == "sagemaker.amazonaws.com")
        #expect(service[.actorKind] == "service")

        let anonymous = try actor(Identities.anonymous, eventName: "GetObject")
        #expect(anonymous[.actorPrincipal] == "anonymous")
        #expect(anonymous[.actorKind] == "anonymous")
        #expect(anonymous[.actorPerson] == nil)
    }

    @Test("another account's role session as the resource owner sees it")
    func crossAccount() throws {
        let r = try actor(#"{"type":"AWSAccount","principalId":"AROAQX6PMTAWPEXAMPLE:SageMaker-pipeline-run-r8w2n5j0v6t3","accountId":"444455556666"}"#)
        #expect(r[.actorPrincipal] == "AROAQX6PMTAWPEXAMPLE")
        #expect(r[.actorSession] == "SageMaker-pipeline-run-r8w2n5j0v6t3")
        #expect(r[.actorKind] == "workload")

        let account = try actor(#"{"type":"AWSAccount","principalId":"","accountId":"444455556666"}"#)
        #expect(account[.actorPrincipal] == "444455556666")
        #expect(account[.actorSession] == nil)
        #expect(account[.actorKind] == nil)

        let user = try actor(#"{"type":"AWSAccount","principalId":"AIDAQX6PMTAWPEXAMPLE","accountId":"444455556666"}"#)
        #expect(user[.actorPrincipal] == "AIDAQX6PMTAWPEXAMPLE")
        #expect(user[.actorKind] == "human")
    }

    @Test("federated, SAML, web identity and Identity Center users")
    func federatedIdentities() throws {
        let federated = try actor(#"{"type":"FederatedUser","principalId":"111122223333:erin","arn":"arn:aws:sts::111122223333:federated-user/erin","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","arn":"arn:aws:iam::111122223333:user/token-broker","accountId":"111122223333","userName":"token-broker"}}}"#)
        #expect(federated[.actorPrincipal] == "arn:aws:sts::111122223333:federated-user/erin")
        #expect(federated[.actorPerson] == "erin")
        #expect(federated[.actorKind] == "human")

        let saml = try actor(#"{"type":"SAMLUser","principalId":"SomeSAMLProvider:frank@acme.example","userName":"frank@acme.example","identityProvider":"arn:aws:iam::111122223333:saml-provider/Okta"}"#, eventName: "AssumeRoleWithSAML")
        #expect(saml[.actorPrincipal] == "SomeSAMLProvider:frank@acme.example")
        #expect(saml[.actorPerson] == "frank@acme.example")
        #expect(saml[.actorKind] == "human")

        // IRSA: a pod's service-account token exchanged for a role.
        let pod = try actor(#"{"type":"WebIdentityUser","principalId":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C8D1F2A9B3E4D6F:sts.amazonaws.com:system:serviceaccount:kubeflow:pipeline-runner","userName":"system:serviceaccount:kubeflow:pipeline-runner","identityProvider":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C8D1F2A9B3E4D6F"}"#, eventName: "AssumeRoleWithWebIdentity")
        #expect(pod[.actorPrincipal]?.hasSuffix(":system:serviceaccount:kubeflow:pipeline-runner") == true)
        #expect(pod[.actorPerson] == nil)
        #expect(pod[.actorKind] == "workload")

        let google = try actor(#"{"type":"WebIdentityUser","principalId":"accounts.google.com:application-id.apps.googleusercontent.com:user-id","userName":"user-id","identityProvider":"accounts.google.com"}"#, eventName: "AssumeRoleWithWebIdentity")
        #expect(google[.actorPerson] == "user-id")
        #expect(google[.actorKind] == "human")

        let center = try actor(#"{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"},"credentialId":"EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"}"#)
        #expect(center[.actorPrincipal] == "544894e8-80c1-707f-60e3-3ba6510dfac1")
        #expect(center[.actorPerson] == "544894e8-80c1-707f-60e3-3ba6510dfac1")
        #expect(center[.actorSession] == "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE")
        #expect(center[.actorKind] == "human")
    }

    @Test("a record without a type is read by its ARN; escapes in names are decoded")
    func untypedAndEscaped() throws {
        let untyped = try actor(#"{"principalId":"AROAFJKKMIDQHL4MULUU5:SageMaker","arn":"arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/SageMaker","accountId":"111122223333"}"#)
        #expect(untyped[.actorPrincipal] == "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole")
        #expect(untyped[.actorKind] == "workload")

        let escaped = try actor(#"{"type":"AssumedRole","principalId":"AROAIMSQCGVN3O6B7KCIG:ren\u00e9@acme.example","arn":"arn:aws:sts::111122223333:assumed-role\/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c\/ren\u00e9@acme.example","accountId":"111122223333"}"#)
        #expect(escaped[.actorPrincipal] == "arn:aws:iam::111122223333:role/AWSReservedSSO_MLEngineer_5b7c9e1d2f3a4b6c")
        #expect(escaped[.actorSession] == "rené@acme.example")
        #expect(escaped[.actorPerson] == "rené@acme.example")
        #expect(escaped[.actorKind] == "human")
    }

    @Test("a record without userIdentity has no actor fields")
    func noIdentity() throws {
        let r = try NormalizedRecord(#"{"eventVersion":"1.11","eventTime":"2026-11-05T02:39:30Z","eventSource":"cloudtrail.amazonaws.com","eventName":"CloudTrailInsight","eventID":"x"}"#)
        for field in [EventField.actorPrincipal, .actorPerson, .actorSession, .actorKind] { #expect(r[field] == nil) }
    }
}

@Suite("Actor identity: Kubernetes audit")
struct KubernetesActorTests {
    /// A Metadata-level `get pods` by `user`, impersonating `impersonated` when given.
    func actor(_ user: String, impersonated: String? = nil) throws -> NormalizedRecord {
        let impersonation = impersonated.map { #""impersonatedUser":\#($0),"# } ?? ""
        return try NormalizedRecord(#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0d73e476-d421-4664-9cf5-0aaeb69f3e66","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kubeflow/pods","verb":"list","user":\#(user),\#(impersonation)"sourceIPs":["198.51.100.42"],"userAgent":"kubectl/v1.34.1 (darwin/arm64) kubernetes/93248f9","objectRef":{"resource":"pods","namespace":"kubeflow","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-04T14:02:33.120000Z","stageTimestamp":"2026-11-04T14:02:33.150000Z"}"#)
    }

    @Test("a user: principal and person are the username")
    func user() throws {
        let r = try actor(#"{"username":"alice@acme.example","groups":["oidc:data-scientists","system:authenticated"]}"#)
        #expect(r[.actorPrincipal] == "alice@acme.example")
        #expect(r[.actorPerson] == "alice@acme.example")
        #expect(r[.actorKind] == "human")
        #expect(r[.actorSession] == nil)
    }

    @Test("a service account is a workload, its token's credential id the session")
    func serviceAccount() throws {
        let r = try actor(#"{"username":"system:serviceaccount:kubeflow:pipeline-runner","uid":"9d45bf03-73cb-4d3c-b458-b27bc908d817","groups":["system:serviceaccounts","system:serviceaccounts:kubeflow","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=7f2c4e1a-6b3d-4f5e-8a9b-0c1d2e3f4a5b"],"authentication.kubernetes.io/pod-name":["fraud-train-q8v4d"]}}"#)
        #expect(r[.actorPrincipal] == "system:serviceaccount:kubeflow:pipeline-runner")
        #expect(r[.actorPerson] == nil)
        #expect(r[.actorKind] == "workload")
        #expect(r[.actorSession] == "JTI=7f2c4e1a-6b3d-4f5e-8a9b-0c1d2e3f4a5b")
    }

    @Test("the control plane and nodes are the service; system:anonymous is anonymous")
    func systemUsers() throws {
        #expect(try actor(#"{"username":"system:node:ip-10-42-3-17.ec2.internal","groups":["system:nodes"]}"#)[.actorKind] == "service")
        #expect(try actor(#"{"username":"system:kube-controller-manager"}"#)[.actorKind] == "service")
        #expect(try actor(#"{"username":"eks:node-manager"}"#)[.actorKind] == "service")
        let anonymous = try actor(#"{"username":"system:anonymous","groups":["system:unauthenticated"]}"#)
        #expect(anonymous[.actorKind] == "anonymous")
        #expect(anonymous[.actorPrincipal] == "system:anonymous")
        #expect(anonymous[.actorPerson] == nil)
    }

    @Test("a human impersonating a service account: the service account acts, the human is the person")
    func impersonation() throws {
        let r = try actor(
            #"{"username":"mallory@acme.example","groups":["oidc:data-scientists","system:authenticated"]}"#,
            impersonated: #"{"username":"system:serviceaccount:kubeflow:pipeline-runner","groups":["system:serviceaccounts"]}"#)
        #expect(r[.actorUser] == "system:serviceaccount:kubeflow:pipeline-runner")
        #expect(r[.actorImpersonatedBy] == "mallory@acme.example")
        #expect(r[.actorPrincipal] == "system:serviceaccount:kubeflow:pipeline-runner")
        #expect(r[.actorPerson] == "mallory@acme.example")
        #expect(r[.actorKind] == "human")

        // A proxy's service account impersonating the user it serves: the user is the person.
        let proxied = try actor(
            #"{"username":"system:serviceaccount:cattle-system:rancher"}"#, impersonated: #"{"username":"u-7xk2p","groups":["system:authenticated"]}"#)
        #expect(proxied[.actorPrincipal] == "u-7xk2p")
        #expect(proxied[.actorPerson] == "u-7xk2p")
        #expect(proxied[.actorKind] == "human")

        // A controller impersonating another service account: no person, a workload.
        let controllers = try actor(
            #"{"username":"system:serviceaccount:kserve:kserve-controller-manager"}"#,
            impersonated: #"{"username":"system:serviceaccount:kserve-inference:default"}"#)
        #expect(controllers[.actorPerson] == nil)
        #expect(controllers[.actorKind] == "workload")
    }

    @Test("EKS: the IAM identity's canonical ARN is the principal; SSO sessions and IAM users name the person")
    func eksIdentities() throws {
        let sso = try actor(#"{"username":"arn:aws:sts::351619759866:assumed-role/AWSReservedSSO_AdministratorAccess_1bd3786dce786114/sysadmin","uid":"aws-iam-authenticator:351619759866:AROAVDXRLX35N4FPX6ZV5","groups":["system:authenticated"],"extra":{"accessKeyId":["ASIAVDXRLX35EXAMPLE"],"arn":["arn:aws:sts::351619759866:assumed-role/AWSReservedSSO_AdministratorAccess_1bd3786dce786114/sysadmin"],"canonicalArn":["arn:aws:iam::351619759866:role/AWSReservedSSO_AdministratorAccess_1bd3786dce786114"],"principalId":["AROAVDXRLX35N4FPX6ZV5"],"sessionName":["sysadmin"]}}"#)
        #expect(sso[.actorPrincipal] == "arn:aws:iam::351619759866:role/AWSReservedSSO_AdministratorAccess_1bd3786dce786114")
        #expect(sso[.actorPerson] == "sysadmin")
        #expect(sso[.actorSession] == "sysadmin")
        #expect(sso[.actorKind] == "human")

        let deployer = try actor(#"{"username":"arn:aws:sts::111122223333:assumed-role/ml-deployer/EKSGetTokenAuth","groups":["system:authenticated"],"extra":{"arn":["arn:aws:sts::111122223333:assumed-role/ml-deployer/EKSGetTokenAuth"],"canonicalArn":["arn:aws:iam::111122223333:role/ml-deployer"],"sessionName":["EKSGetTokenAuth"]}}"#)
        #expect(deployer[.actorPrincipal] == "arn:aws:iam::111122223333:role/ml-deployer")
        #expect(deployer[.actorPerson] == nil)
        #expect(deployer[.actorKind] == "workload")

        let admin = try actor(#"{"username":"kubernetes-admin","groups":["system:masters","system:authenticated"],"extra":{"accessKeyId":["AKIAIOSFODNN7EXAMPLE"],"arn":["arn:aws:iam::111122223333:user/awscli"],"canonicalArn":["arn:aws:iam::111122223333:user/awscli"],"sessionName":[""]}}"#)
        #expect(admin[.actorPrincipal] == "arn:aws:iam::111122223333:user/awscli")
        #expect(admin[.actorPerson] == "awscli")
        #expect(admin[.actorSession] == nil)
        #expect(admin[.actorKind] == "human")

        let node = try actor(#"{"username":"system:node:ip-10-42-3-17.ec2.internal","groups":["system:bootstrappers","system:nodes","system:authenticated"],"extra":{"accessKeyId":["ASIAEXAMPLE"],"arn":["arn:aws:sts::111122223333:assumed-role/eksctl-ml-prod-nodegroup-NodeInstanceRole-SP426AQ4NC1Y/i-0a1b2c3d4e5f60718"],"canonicalArn":["arn:aws:iam::111122223333:role/eksctl-ml-prod-nodegroup-NodeInstanceRole-SP426AQ4NC1Y"],"sessionName":["i-0a1b2c3d4e5f60718"]}}"#)
        #expect(node[.actorPrincipal] == "arn:aws:iam::111122223333:role/eksctl-ml-prod-nodegroup-NodeInstanceRole-SP426AQ4NC1Y")
        #expect(node[.actorSession] == "i-0a1b2c3d4e5f60718")
        #expect(node[.actorKind] == "service")
        #expect(node[.actorUser] == "system:node:ip-10-42-3-17.ec2.internal")
    }
}

@Suite("Actor identity: GCP audit")
struct GCPActorTests {
    func actor(_ authenticationInfo: String) throws -> NormalizedRecord {
        let record = GCPRecords.entry(method: "google.cloud.aiplatform.v1.ModelService.GetModel")
            .replacingOccurrences(of: #""authenticationInfo":{"principalEmail":"alice@acme.example"}"#, with: #""authenticationInfo":\#(authenticationInfo)"#)
        return try NormalizedRecord(record)
    }

    @Test("a user account is a human, its email the principal and the person")
    func user() throws {
        let r = try actor(#"{"principalEmail":"mallory@acme.example","principalSubject":"user:mallory@acme.example"}"#)
        #expect(r[.actorPrincipal] == "mallory@acme.example")
        #expect(r[.actorPerson] == "mallory@acme.example")
        #expect(r[.actorKind] == "human")
        #expect(r[.actorSession] == nil)
    }

    @Test("service accounts and service agents are workloads; delegated through an agent, still no person")
    func serviceAccounts() throws {
        let pipeline = try NormalizedRecord(GCPRecords.pipelineUploadModel)
        #expect(pipeline[.actorPrincipal] == "vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com")
        #expect(pipeline[.actorPerson] == nil)
        #expect(pipeline[.actorKind] == "workload")

        for email in ["service-418273645501@gcp-sa-aiplatform.iam.gserviceaccount.com", "418273645501-compute@developer.gserviceaccount.com",
                      "418273645501@cloudservices.gserviceaccount.com"] {
            let r = try actor(#"{"principalEmail":"\#(email)"}"#)
            #expect(r[.actorKind] == "workload", "\(email)")
            #expect(r[.actorPrincipal] == email)
        }
    }

    @Test("a user impersonating a service account is the person behind it")
    func impersonatedServiceAccount() throws {
        let r = try actor(#"{"principalEmail":"vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com","serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"mallory@acme.example"}}],"principalSubject":"serviceAccount:vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com"}"#)
        #expect(r[.actorPrincipal] == "vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com")
        #expect(r[.actorImpersonatedBy] == "mallory@acme.example")
        #expect(r[.actorPerson] == "mallory@acme.example")
        #expect(r[.actorKind] == "human")
    }

    @Test("workforce identity federation: a pool subject without email is a human principal")
    func workforcePool() throws {
        let r = try actor(#"{"principalSubject":"principal://iam.googleapis.com/locations/global/workforcePools/acme-okta/subject/alice@acme.example"}"#)
        #expect(r[.actorPrincipal] == "principal://iam.googleapis.com/locations/global/workforcePools/acme-okta/subject/alice@acme.example")
        #expect(r[.actorUser] == r[.actorPrincipal])
        #expect(r[.actorPerson] == "alice@acme.example")
        #expect(r[.actorKind] == "human")

        // An empty email names nobody: the subject is the principal.
        let emptyEmail = try actor(#"{"principalEmail":"","principalSubject":"principal://iam.googleapis.com/locations/global/workforcePools/acme-okta/subject/alice@acme.example"}"#)
        #expect(emptyEmail[.actorPrincipal] == r[.actorPrincipal])
        #expect(emptyEmail[.actorPerson] == "alice@acme.example")
    }

    @Test("workload identity federation: pool subjects are workloads, directly or through a service account")
    func workloadPool() throws {
        let direct = try actor(#"{"principalSubject":"principal://iam.googleapis.com/projects/418273645501/locations/global/workloadIdentityPools/github/subject/repo:acme/fraud-model:ref:refs/heads/main"}"#)
        #expect(direct[.actorPrincipal]?.hasSuffix("/subject/repo:acme/fraud-model:ref:refs/heads/main") == true)
        #expect(direct[.actorPerson] == nil)
        #expect(direct[.actorKind] == "workload")

        let through = try actor(#"{"principalEmail":"deployer@acme-ml-prod.iam.gserviceaccount.com","serviceAccountDelegationInfo":[{"principalSubject":"principal://iam.googleapis.com/projects/418273645501/locations/global/workloadIdentityPools/acme-ml-prod.svc.id.goog/subject/ns/kubeflow/sa/pipeline-runner"}]}"#)
        #expect(through[.actorPrincipal] == "deployer@acme-ml-prod.iam.gserviceaccount.com")
        #expect(through[.actorPerson] == nil)
        #expect(through[.actorKind] == "workload")

        // A workforce user reaching a service account through the pool is the person.
        let workforce = try actor(#"{"principalEmail":"deployer@acme-ml-prod.iam.gserviceaccount.com","serviceAccountDelegationInfo":[{"principalSubject":"principal://iam.googleapis.com/locations/global/workforcePools/acme-okta/subject/bob@acme.example"}]}"#)
        #expect(workforce[.actorPerson] == "bob@acme.example")
        #expect(workforce[.actorKind] == "human")
    }

    @Test("GKE identities in GCP records follow the Kubernetes rule")
    func gkeIdentities() throws {
        #expect(try actor(#"{"principalEmail":"system:anonymous"}"#)[.actorKind] == "anonymous")
        #expect(try actor(#"{"principalEmail":"system:kube-controller-manager"}"#)[.actorKind] == "service")
        let sa = try actor(#"{"principalEmail":"system:serviceaccount:kubeflow:pipeline-runner"}"#)
        #expect(sa[.actorKind] == "workload")
        #expect(sa[.actorPerson] == nil)
    }
}

@Suite("Actor identity: MLflow webhook")
struct MLflowActorTests {
    @Test("a user id, when a delivery has one, is the principal; MLflow says nothing more")
    func userID() throws {
        let r = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version_alias", action: "created",
            data: #"{"name": "fraud-detection-xgb", "alias": "production", "version": "9", "user_id": "alice@acme.example"}"#))
        #expect(r[.actorPrincipal] == "alice@acme.example")
        #expect(r[.actorPerson] == nil)
        #expect(r[.actorKind] == nil)

        let none = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version_alias", action: "created", data: #"{"name": "fraud-detection-xgb", "alias": "production", "version": "9"}"#))
        #expect(none[.actorPrincipal] == nil)
    }
}
