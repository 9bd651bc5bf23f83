import PipewatchEvents
import Testing

/// Kubernetes audit events modelled on samples/kubernetes.
enum KubernetesRecords {
    static let execReceived = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","stage":"RequestReceived","requestURI":"/api/v1/namespaces/kubeflow/pods/churn-nightly-q8v4d-system-container-impl-2750183946/exec?command=sh&container=main&stdin=true&stdout=true&tty=true","verb":"create","user":{"username":"mallory@acme.example","groups":["oidc:data-scientists","system:authenticated"]},"sourceIPs":["203.0.113.77"],"userAgent":"kubectl/v1.34.1 (linux/amd64) kubernetes/93248f9","objectRef":{"resource":"pods","namespace":"kubeflow","name":"churn-nightly-q8v4d-system-container-impl-2750183946","apiVersion":"v1","subresource":"exec"},"requestReceivedTimestamp":"2026-11-05T03:02:11.482913Z","stageTimestamp":"2026-11-05T03:02:11.482913Z"}"#

    static let execComplete = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"652033a6-ff72-4e72-a50a-471d7c6c5e43","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kubeflow/pods/churn-nightly-q8v4d-system-container-impl-2750183946/exec?command=sh&container=main&stdin=true&stdout=true&tty=true","verb":"create","user":{"username":"mallory@acme.example","groups":["oidc:data-scientists","system:authenticated"]},"sourceIPs":["203.0.113.77"],"userAgent":"kubectl/v1.34.1 (linux/amd64) kubernetes/93248f9","objectRef":{"resource":"pods","namespace":"kubeflow","name":"churn-nightly-q8v4d-system-container-impl-2750183946","uid":"5e1f0a2b-7c3d-4e8f-9a6b-1c2d3e4f5a6b","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-05T03:02:11.482913Z","stageTimestamp":"2026-11-05T03:09:47.019356Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"data-scientists-edit/kubeflow\" of ClusterRole \"edit\" to Group \"oidc:data-scientists\""}}"#

    static let forbiddenSecret = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"51920f11-12f7-461f-a630-8931f85867ff","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kubeflow/secrets/mlpipeline-minio-artifact","verb":"get","user":{"username":"mallory@acme.example","groups":["oidc:data-scientists","system:authenticated"]},"sourceIPs":["203.0.113.77"],"userAgent":"kubectl/v1.34.1 (linux/amd64) kubernetes/93248f9","objectRef":{"resource":"secrets","namespace":"kubeflow","name":"mlpipeline-minio-artifact","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"secrets \"mlpipeline-minio-artifact\" is forbidden: User \"mallory@acme.example\" cannot get resource \"secrets\" in API group \"\" in the namespace \"kubeflow\"","reason":"Forbidden","details":{"name":"mlpipeline-minio-artifact","kind":"secrets"},"code":403},"requestReceivedTimestamp":"2026-11-05T03:01:12.380911Z","stageTimestamp":"2026-11-05T03:01:12.382676Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}"#

    static let inferenceServiceCreate = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"2b64c5a7-6a0f-4559-a60d-f30a35aac94c","stage":"ResponseComplete","requestURI":"/apis/serving.kserve.io/v1beta1/namespaces/kserve-inference/inferenceservices","verb":"create","user":{"username":"system:serviceaccount:kubeflow:pipeline-runner","uid":"9d45bf03-73cb-4d3c-b458-b27bc908d817","groups":["system:serviceaccounts","system:serviceaccounts:kubeflow","system:authenticated"]},"sourceIPs":["10.42.3.151"],"userAgent":"kserve-deployer/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"inferenceservices","namespace":"kserve-inference","name":"fraud-detection","apiGroup":"serving.kserve.io","apiVersion":"v1beta1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"fraud-detection","namespace":"kserve-inference"},"spec":{"predictor":{"model":{"modelFormat":{"name":"xgboost"},"storageUri":"s3://acme-ml-model-artifacts/fraud-detection/registry/v8/"}}}},"requestReceivedTimestamp":"2026-11-03T11:02:15.227640Z","stageTimestamp":"2026-11-03T11:02:15.289513Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#

    /// An event with the given pieces around a fixed envelope.
    static func event(
        auditID: String = "0d73e476-d421-4664-9cf5-0aaeb69f3e66", stage: String = "ResponseComplete",
        verb: String = "get", username: String = "alice@acme.example", requestURI: String = "/api/v1/namespaces/kubeflow/pods",
        objectRef: String? = #"{"resource":"pods","namespace":"kubeflow","apiVersion":"v1"}"#,
        sourceIPs: String = #"["198.51.100.42"]"#, status: String? = #"{"metadata":{},"code":200}"#,
        times: String = #""requestReceivedTimestamp":"2026-11-04T14:02:33.120000Z","stageTimestamp":"2026-11-04T14:02:33.150000Z""#,
        extra: String = ""
    ) -> String {
        var fields = [
            #""kind":"Event""#, #""apiVersion":"audit.k8s.io/v1""#, #""level":"Metadata""#, #""auditID":"\#(auditID)""#,
            #""stage":"\#(stage)""#, #""requestURI":"\#(requestURI)""#, #""verb":"\#(verb)""#,
            #""user":{"username":"\#(username)","groups":["system:authenticated"]}"#, #""sourceIPs":\#(sourceIPs)"#,
            #""userAgent":"kubectl/v1.34.1 (darwin/arm64) kubernetes/93248f9""#,
        ]
        if let objectRef { fields.append(#""objectRef":\#(objectRef)"#) }
        if let status { fields.append(#""responseStatus":\#(status)"#) }
        fields.append(times)
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

@Suite("Kubernetes audit normalizer")
struct KubernetesAuditNormalizerTests {
    @Test("the same exec logged at RequestReceived and at ResponseComplete")
    func execStages() throws {
        let received = try NormalizedRecord(KubernetesRecords.execReceived)
        let complete = try NormalizedRecord(KubernetesRecords.execComplete)

        #expect(received.source == .kubernetesAudit)
        #expect(received.source.name == "k8s.audit")
        #expect(received[.uid] == "652033a6-ff72-4e72-a50a-471d7c6c5e43")
        #expect(received[.uid] == complete[.uid])
        #expect(received[.apiRequestID] == "652033a6-ff72-4e72-a50a-471d7c6c5e43")
        #expect(complete[.apiRequestID] == "652033a6-ff72-4e72-a50a-471d7c6c5e43")

        #expect(received[.stage] == "RequestReceived")
        #expect(received.event.isPreliminary)
        #expect(complete[.stage] == "ResponseComplete")
        #expect(!complete.event.isPreliminary)

        // No responseStatus yet: outcome unknown.
        #expect(received.outcome == .unknown)
        #expect(received[.statusCode] == nil)
        // Upgrade to a stream: 101 is a success.
        #expect(complete.outcome == .success)
        #expect(complete[.statusCode] == "101")

        for r in [received, complete] {
            #expect(r[.apiOperation] == "create:pods/exec")
            #expect(r[.apiService] == "kubernetes")
            #expect(r[.actorUser] == "mallory@acme.example")
            #expect(r[.actorUserType] == "User")
            #expect(r[.srcIP] == "203.0.113.77")
            #expect(r[.userAgent] == "kubectl/v1.34.1 (linux/amd64) kubernetes/93248f9")
            #expect(r[.resourceType] == "pods")
            #expect(r[.resourceNamespace] == "kubeflow")
            #expect(r[.resourceName] == "churn-nightly-q8v4d-system-container-impl-2750183946")
            #expect(r[.cloudProvider] == "kubernetes")
            // A core pod is not an ML object.
            #expect(r[.mlEntity] == nil)
            #expect(r[.mlName] == nil)
        }
        #expect(complete[.resourceUID] == "5e1f0a2b-7c3d-4e8f-9a6b-1c2d3e4f5a6b")
        #expect(received[.resourceUID] == nil)

        // stageTimestamp is the event time (µs truncated to ms).
        #expect(received.time == epochMilliseconds(2026, 11, 5, 3, 2, 11, ms: 482))
        #expect(complete.time == epochMilliseconds(2026, 11, 5, 3, 9, 47, ms: 19))
    }

    @Test("a forbidden secret read: failure, reason and message")
    func forbidden() throws {
        let r = try NormalizedRecord(KubernetesRecords.forbiddenSecret)
        #expect(r.outcome == .failure)
        #expect(r[.statusCode] == "403")
        #expect(r[.errorCode] == "Forbidden")
        #expect(r[.errorMessage] == #"secrets "mlpipeline-minio-artifact" is forbidden: User "mallory@acme.example" cannot get resource "secrets" in API group "" in the namespace "kubeflow""#)
        #expect(r[.apiOperation] == "get:secrets")
        #expect(r[.apiService] == "kubernetes")
        #expect(r[.resourceType] == "secrets")
        #expect(r[.resourceNamespace] == "kubeflow")
        #expect(r[.resourceName] == "mlpipeline-minio-artifact")
        #expect(r.time == epochMilliseconds(2026, 11, 5, 3, 1, 12, ms: 382))
    }

    @Test("outcome from responseStatus.code: 200 success, 403 failure, absent unknown")
    func outcomes() throws {
        let ok = try NormalizedRecord(KubernetesRecords.event())
        #expect(ok.outcome == .success)
        #expect(ok[.statusCode] == "200")
        #expect(ok[.errorCode] == nil)
        #expect(ok[.errorMessage] == nil)

        let denied = try NormalizedRecord(KubernetesRecords.event(status: #"{"metadata":{},"code":403}"#))
        #expect(denied.outcome == .failure)

        let serverError = try NormalizedRecord(KubernetesRecords.event(status: #"{"metadata":{},"status":"Failure","reason":"InternalError","code":500}"#))
        #expect(serverError.outcome == .failure)
        #expect(serverError[.errorCode] == "InternalError")

        let absent = try NormalizedRecord(KubernetesRecords.event(status: nil))
        #expect(absent.outcome == .unknown)
        #expect(absent[.statusCode] == nil)

        // A status without a code says nothing about the outcome either.
        let noCode = try NormalizedRecord(KubernetesRecords.event(status: #"{"metadata":{}}"#))
        #expect(noCode.outcome == .unknown)
    }

    @Test("time falls back to requestReceivedTimestamp when stageTimestamp is absent")
    func timeFallback() throws {
        let r = try NormalizedRecord(KubernetesRecords.event(
            stage: "RequestReceived", status: nil,
            times: #""requestReceivedTimestamp":"2026-11-05T03:06:40.902114Z""#))
        #expect(r.time == epochMilliseconds(2026, 11, 5, 3, 6, 40, ms: 902))
        #expect(r.event.isPreliminary)
    }

    @Test("stageTimestamp wins over requestReceivedTimestamp; microseconds are truncated, not rounded")
    func timePrecision() throws {
        let r = try NormalizedRecord(KubernetesRecords.event(
            times: #""requestReceivedTimestamp":"2026-11-03T10:12:29.118204Z","stageTimestamp":"2026-11-03T10:20:00.119871Z""#))
        #expect(r.time == epochMilliseconds(2026, 11, 3, 10, 20, 0, ms: 119))

        let late = try NormalizedRecord(KubernetesRecords.event(
            times: #""requestReceivedTimestamp":"2026-11-03T10:12:29.999999Z","stageTimestamp":"2026-11-03T10:12:29.999999Z""#))
        #expect(late.time == epochMilliseconds(2026, 11, 3, 10, 12, 29, ms: 999))
    }

    @Test("api.operation of a non-resource request is the verb and the path without its query")
    func nonResource() throws {
        let r = try NormalizedRecord(KubernetesRecords.event(
            username: "system:anonymous", requestURI: "/healthz?verbose=1", objectRef: nil,
            sourceIPs: #"["10.42.0.1"]"#))
        #expect(r[.apiOperation] == "get:/healthz")
        #expect(r[.apiService] == "kubernetes")
        #expect(r[.actorUserType] == "System")
        #expect(r[.resourceType] == nil)
        #expect(r[.resourceName] == nil)

        let plain = try NormalizedRecord(KubernetesRecords.event(verb: "get", requestURI: "/version", objectRef: nil))
        #expect(plain[.apiOperation] == "get:/version")
    }

    @Test("api.service: kubernetes for the core group, the apiGroup otherwise")
    func apiService() throws {
        let emptyGroup = try NormalizedRecord(KubernetesRecords.event(
            objectRef: #"{"resource":"configmaps","namespace":"kubeflow","name":"kube-root-ca.crt","apiGroup":"","apiVersion":"v1"}"#))
        #expect(emptyGroup[.apiService] == "kubernetes")

        let rbac = try NormalizedRecord(KubernetesRecords.event(
            verb: "create",
            objectRef: #"{"resource":"clusterrolebindings","name":"maintenance-admin","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}"#))
        #expect(rbac[.apiService] == "rbac.authorization.k8s.io")
        #expect(rbac[.apiOperation] == "create:clusterrolebindings")
        #expect(rbac[.resourceNamespace] == nil)
        #expect(rbac[.resourceName] == "maintenance-admin")
        #expect(rbac[.mlEntity] == nil)
    }

    @Test("actor.user_type from the username's prefix", arguments: [
        ("system:serviceaccount:kubeflow:pipeline-runner", "ServiceAccount"),
        ("system:node:ip-10-42-3-17.ec2.internal", "Node"),
        ("system:kube-controller-manager", "System"),
        ("system:anonymous", "System"),
        ("alice@acme.example", "User"),
        ("serviceaccount-lookalike", "User"),
    ])
    func userTypes(username: String, type: String) throws {
        let r = try NormalizedRecord(KubernetesRecords.event(username: username))
        #expect(r[.actorUser] == username)
        #expect(r[.actorUserType] == type)
    }

    @Test("src.ip is the last of sourceIPs (the peer), not a forwarded one")
    func lastSourceIP() throws {
        let r = try NormalizedRecord(KubernetesRecords.event(sourceIPs: #"["198.51.100.9","10.0.0.7","203.0.113.77"]"#))
        #expect(r[.srcIP] == "203.0.113.77")

        let none = try NormalizedRecord(KubernetesRecords.event(sourceIPs: "[]"))
        #expect(none[.srcIP] == nil)
    }

    @Test("impersonation: the impersonated identity is the actor, the authenticated user impersonated_by")
    func impersonation() throws {
        let r = try NormalizedRecord(KubernetesRecords.event(
            username: "mallory@acme.example",
            extra: #""impersonatedUser":{"username":"system:serviceaccount:default:default","groups":["system:serviceaccounts"]}"#))
        #expect(r[.actorUser] == "system:serviceaccount:default:default")
        #expect(r[.actorUserType] == "ServiceAccount")
        #expect(r[.actorImpersonatedBy] == "mallory@acme.example")

        let plain = try NormalizedRecord(KubernetesRecords.event())
        #expect(plain[.actorImpersonatedBy] == nil)
    }

    @Test("KServe InferenceService and Kubeflow Notebook are ML objects")
    func mlObjects() throws {
        let isvc = try NormalizedRecord(KubernetesRecords.inferenceServiceCreate)
        #expect(isvc[.apiService] == "serving.kserve.io")
        #expect(isvc[.apiOperation] == "create:inferenceservices")
        #expect(isvc[.actorUserType] == "ServiceAccount")
        #expect(isvc[.srcIP] == "10.42.3.151")
        #expect(isvc[.resourceNamespace] == "kserve-inference")
        #expect(isvc[.mlEntity] == "inference_service")
        #expect(isvc[.mlName] == "fraud-detection")
        #expect(isvc.outcome == .success)
        #expect(isvc[.statusCode] == "201")

        let notebook = try NormalizedRecord(KubernetesRecords.event(
            verb: "patch",
            objectRef: #"{"resource":"notebooks","namespace":"kubeflow-user-alice","name":"nb-debug-tools","uid":"0c9b8a7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d","apiGroup":"kubeflow.org","apiVersion":"v1"}"#))
        #expect(notebook[.apiService] == "kubeflow.org")
        #expect(notebook[.apiOperation] == "patch:notebooks")
        #expect(notebook[.mlEntity] == "notebook")
        #expect(notebook[.mlName] == "nb-debug-tools")
        #expect(notebook[.resourceUID] == "0c9b8a7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d")

        // A collection request names no object.
        let watch = try NormalizedRecord(KubernetesRecords.event(
            verb: "watch",
            objectRef: #"{"resource":"inferenceservices","apiGroup":"serving.kserve.io","apiVersion":"v1beta1"}"#))
        #expect(watch[.mlEntity] == "inference_service")
        #expect(watch[.mlName] == nil)

        // Another non-core group that is not an ML group.
        let apps = try NormalizedRecord(KubernetesRecords.event(
            objectRef: #"{"resource":"deployments","namespace":"kubeflow","name":"ml-pipeline","apiGroup":"apps","apiVersion":"v1"}"#))
        #expect(apps[.apiService] == "apps")
        #expect(apps[.mlEntity] == nil)
    }

    @Test("EventList items without kind/apiVersion normalize as Kubernetes audit events")
    func eventListItem() throws {
        let item = #"""
            {
              "level": "Metadata",
              "auditID": "6b088cbd-4bd5-4bd4-9372-228a7d283bba",
              "stage": "ResponseComplete",
              "requestURI": "/api/v1/nodes/ip-10-42-3-17.ec2.internal",
              "verb": "get",
              "user": {"username": "system:node:ip-10-42-3-17.ec2.internal"},
              "sourceIPs": ["10.42.3.17"],
              "objectRef": {"resource": "nodes", "name": "ip-10-42-3-17.ec2.internal", "apiVersion": "v1"},
              "responseStatus": {"metadata": {}, "code": 200},
              "requestReceivedTimestamp": "2026-11-05T03:05:33.100213Z",
              "stageTimestamp": "2026-11-05T03:05:33.104877Z"
            }
            """#
        let r = try NormalizedRecord(item)
        #expect(r.source == .kubernetesAudit)
        #expect(r[.actorUserType] == "Node")
        #expect(r[.apiOperation] == "get:nodes")
        #expect(r.time == epochMilliseconds(2026, 11, 5, 3, 5, 33, ms: 104))
    }
}
