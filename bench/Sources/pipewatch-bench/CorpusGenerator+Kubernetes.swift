import Foundation
import PipewatchEvents

/// Kubernetes audit events (`audit.k8s.io/v1`) and the mixed stream of both sources.
extension CorpusGenerator {
    /// Appends one Kubernetes audit event (`audit.k8s.io/v1`, compact JSON, no newline).
    mutating func appendKubernetesAuditRecord(to out: inout [UInt8]) {
        advanceClock()
        kubernetesRecords &+= 1
        resourceVersion &+= 1 + rng.below(8)
        let p = kubePrincipals[skewedIndex(kubePrincipals.count)]
        let op = p.ops[rng.below(p.ops.count)]

        let stageRoll = rng.below(100)
        let stage: KubeStage
        if stageRoll < 20 {
            stage = .requestReceived
        } else if op.longRunning && stageRoll < 35 {
            stage = .responseStarted
        } else {
            stage = .responseComplete
        }
        let withBody = op.hasBody && rng.percent(45)
        let requestLevel = withBody || rng.percent(4)

        // Namespace and object name.
        var ns = nameScratch
        nameScratch = []
        ns.removeAll(keepingCapacity: true)
        var objectName = resourcesScratch
        resourcesScratch = []
        objectName.removeAll(keepingCapacity: true)
        defer {
            nameScratch = ns
            resourcesScratch = objectName
        }
        let model = Vocabulary.models[rng.percent(70) ? p.team : rng.below(Vocabulary.models.count)]
        if !op.clusterScoped {
            chooseNamespace(op, p, &ns)
        }
        if op.hasName {
            objectNameFor(op, p, model: model, namespace: ns, &objectName)
        }

        // Outcome.
        var code = op.isCreate ? 201 : 200
        if op == .createPodExec { code = 101 }
        if op.isGet && rng.perTenThousand(150) { code = 404 }
        if p.kind == .human && rng.perTenThousand(300) { code = 403 }

        out.lit("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"")
        out.lit(requestLevel ? "Request" : "Metadata")
        out.lit("\",\"auditID\":\"")
        uuid(&out)
        out.lit("\",\"stage\":\"")
        out.lit(stage.name)
        out.lit("\",\"requestURI\":\"")
        writeRequestURI(op, namespace: ns, name: objectName, &out)
        out.lit("\",\"verb\":\"")
        out.lit(op.verb)
        out.lit("\",\"user\":")
        out.put(p.user)
        out.lit(",\"sourceIPs\":[\"")
        if p.sourceIP.isEmpty {
            out.put(ips[rng.percent(90) ? p.homeIP : rng.below(ips.count)])
        } else {
            out.put(p.sourceIP)
        }
        out.lit("\"],\"userAgent\":\"")
        out.put(p.agent)
        out.lit("\",\"objectRef\":{\"resource\":\"")
        out.lit(op.resource)
        out.append(34)
        if !ns.isEmpty {
            out.lit(",\"namespace\":\"")
            out.put(ns)
            out.append(34)
        }
        if !objectName.isEmpty {
            out.lit(",\"name\":\"")
            out.put(objectName)
            out.append(34)
        }
        if op.group.utf8CodeUnitCount > 0 {
            out.lit(",\"apiGroup\":\"")
            out.lit(op.group)
            out.append(34)
        }
        out.lit(",\"apiVersion\":\"")
        out.lit(op.version)
        out.append(34)
        if op.subresource.utf8CodeUnitCount > 0 {
            out.lit(",\"subresource\":\"")
            out.lit(op.subresource)
            out.append(34)
        }
        out.append(125)
        if stage != .requestReceived {
            if code == 404 {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":\"")
                out.lit(op.resource)
                out.lit(" \\\"")
                out.put(objectName)
                out.lit("\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"")
                out.put(objectName)
                out.lit("\",\"kind\":\"")
                out.lit(op.resource)
                out.lit("\"},\"code\":404}")
            } else if code == 403 {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":\"")
                out.lit(op.resource)
                out.lit(" is forbidden: User \\\"")
                out.put(p.name)
                out.lit("\\\" cannot ")
                out.lit(op.verb)
                out.lit(" resource \\\"")
                out.lit(op.resource)
                out.lit("\\\" in API group \\\"")
                out.lit(op.group)
                out.lit("\\\" in the namespace \\\"")
                out.put(ns)
                out.lit("\\\"\",\"reason\":\"Forbidden\",\"details\":{\"kind\":\"")
                out.lit(op.resource)
                out.lit("\"},\"code\":403}")
            } else {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"code\":")
                out.decimal(stage == .responseStarted && op == .createPodExec ? 101 : code)
                out.append(125)
            }
        }
        if withBody {
            out.lit(",\"requestObject\":")
            writeRequestObject(op, p, model: model, namespace: ns, name: objectName, &out)
        }

        // Timestamps: the log is ordered by stageTimestamp, so the request started `latency` earlier.
        let stageTime = clockMicros
        var latency: Int64 = 0
        if stage != .requestReceived {
            if op.longRunning {
                latency = stage == .responseStarted
                    ? Int64(200 + rng.below(5_000))
                    : Int64(60 + rng.below(540)) * 1_000_000 + Int64(rng.below(1_000_000))
            } else {
                latency = Int64(800 + rng.below(op.isGet ? 8_000 : 40_000))
            }
        }
        out.lit(",\"requestReceivedTimestamp\":\"")
        out.isoMicros(stageTime - latency)
        out.lit("\",\"stageTimestamp\":\"")
        out.isoMicros(stageTime)
        out.append(34)
        if stage != .requestReceived {
            if code == 403 {
                out.lit(",\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\",\"authorization.k8s.io/reason\":\"\"}")
            } else {
                out.lit(",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"")
                out.put(p.reason)
                out.append(34)
                if op == .createPod {
                    out.lit(",\"pod-security.kubernetes.io/enforce-policy\":\"baseline:latest\"")
                }
                out.append(125)
            }
        }
        out.append(125)
    }

    /// Appends a CloudTrail record (about 70% of calls) or a Kubernetes audit event (30%), chosen by the
    /// seeded stream. Returns true for CloudTrail.
    @discardableResult
    mutating func appendMixedRecord(to out: inout [UInt8]) -> Bool {
        if rng.below(10) < 7 {
            appendCloudTrailRecord(to: &out)
            return true
        }
        appendKubernetesAuditRecord(to: &out)
        return false
    }

    enum KubeStage {
        case requestReceived, responseStarted, responseComplete

        var name: StaticString {
            switch self {
            case .requestReceived: return "RequestReceived"
            case .responseStarted: return "ResponseStarted"
            case .responseComplete: return "ResponseComplete"
            }
        }
    }

    mutating func chooseNamespace(_ op: KubeOp, _ p: KubePrincipal, _ ns: inout [UInt8]) {
        switch p.kind {
        case .node:
            if op == .getLease || op == .updateLease {
                ns.lit("kube-node-lease")
                return
            }
        case .controlPlane:
            if op == .getLease || op == .updateLease {
                ns.lit("kube-system")
                return
            }
        case .serviceAccount:
            ns.put(p.namespace)
            return
        case .human:
            let r = rng.below(100)
            if r < 50 {
                ns.put(p.namespace)
            } else if r < 75 {
                ns.lit("kserve-inference")
            } else if r < 90 {
                ns.lit("kubeflow")
            } else {
                ns.lit("default")
            }
            return
        }
        let r = rng.below(100)
        if r < 40 {
            ns.lit("kubeflow")
        } else if r < 65 {
            ns.lit("kserve-inference")
        } else if r < 80 {
            ns.lit("kube-system")
        } else if r < 88 {
            ns.lit("default")
        } else {
            // Another user's profile namespace.
            let i = rng.below(kubePrincipals.count)
            let j = i - i % 10 + 6
            if j < kubePrincipals.count {
                ns.put(kubePrincipals[j].namespace)
            } else {
                ns.lit("default")
            }
        }
    }

    mutating func podName(model: StaticString, namespace: [UInt8], _ out: inout [UInt8]) {
        if namespace.starts(with: Array("kserve".utf8)) {
            out.lit(model)
            out.lit("-predictor-0000")
            out.decimal(1 + rng.below(9))
            out.lit("-deployment-")
            out.hex(rng.next(), digits: 9)
            out.append(45)
            kubeSuffixChars(5, &out)
        } else if namespace.starts(with: Array("kube-system".utf8)) {
            out.lit(rng.percent(50) ? "coredns-" : "ebs-csi-controller-")
            out.hex(rng.next(), digits: 10)
            out.append(45)
            kubeSuffixChars(5, &out)
        } else {
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
            out.lit(rng.percent(60) ? "-system-container-impl-" : "-system-dag-driver-")
            out.decimal(1_000_000_000 + rng.below(3_000_000_000))
        }
    }

    mutating func objectNameFor(
        _ op: KubeOp, _ p: KubePrincipal, model: StaticString, namespace: [UInt8], _ out: inout [UInt8]
    ) {
        switch op {
        case .getConfigMap, .watchConfigMap:
            let r = rng.below(100)
            if r < 60 {
                out.lit("kube-root-ca.crt")
            } else if r < 75 {
                out.lit("kfp-launcher")
            } else if r < 90 {
                out.lit(model)
                out.lit("-config")
            } else {
                out.lit("inferenceservice-config")
            }
        case .getSecret:
            let r = rng.below(100)
            if r < 40 {
                out.lit("mlpipeline-minio-artifact")
            } else if r < 80 {
                out.lit(model)
                out.lit("-s3-credentials")
            } else {
                out.lit("default-token-")
                kubeSuffixChars(5, &out)
            }
        case .getPod, .createPod, .deletePod, .patchPodStatus, .getPodLog, .createPodExec:
            podName(model: model, namespace: namespace, &out)
        case .createEvent:
            podName(model: model, namespace: namespace, &out)
            out.append(46)
            out.hex(rng.next(), digits: 16)
        case .getLease, .updateLease:
            out.put(p.name)
        case .getInferenceService, .patchInferenceService:
            out.lit(model)
            if rng.percent(20) { out.lit("-canary") }
        case .patchWorkflow:
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
        case .createToken:
            let r = rng.below(4)
            out.lit(r == 0 ? "pipeline-runner" : (r == 1 ? "default" : (r == 2 ? "default-editor" : "aws-node")))
        case .getDeployment, .updateDeploymentStatus:
            out.lit(model)
            out.lit("-predictor-00001-deployment")
        default:
            break
        }
    }

    mutating func writeRequestURI(_ op: KubeOp, namespace: [UInt8], name: [UInt8], _ out: inout [UInt8]) {
        if op.group.utf8CodeUnitCount == 0 {
            out.lit("/api/v1")
        } else {
            out.lit("/apis/")
            out.lit(op.group)
            out.append(47)
            out.lit(op.version)
        }
        if !namespace.isEmpty {
            out.lit("/namespaces/")
            out.put(namespace)
        }
        out.append(47)
        out.lit(op.resource)
        if !name.isEmpty {
            out.append(47)
            out.put(name)
        }
        if op.subresource.utf8CodeUnitCount > 0 {
            out.append(47)
            out.lit(op.subresource)
        }
        switch op {
        case .watchConfigMap, .watchPods, .watchInferenceServices:
            let timeout = 300 + rng.below(300)
            if op == .watchConfigMap {
                out.lit("?allowWatchBookmarks=true&fieldSelector=metadata.name%3D")
                out.put(name)
                out.lit("&resourceVersion=")
            } else {
                out.lit("?allowWatchBookmarks=true&resourceVersion=")
            }
            out.decimal(resourceVersion - rng.below(5000))
            out.lit("&timeout=")
            out.decimal(timeout / 60)
            out.append(109)
            out.decimal(timeout % 60)
            out.lit("s&timeoutSeconds=")
            out.decimal(timeout)
            out.lit("&watch=true")
        case .listPods, .listSecrets, .listWorkflows, .listScheduledWorkflows:
            out.lit(rng.percent(50) ? "?limit=500&resourceVersion=0" : "?limit=500")
        case .getPodLog:
            out.lit("?container=main&follow=true&tailLines=100")
        case .createPodExec:
            out.lit("?command=sh&container=main&stdin=true&stdout=true&tty=true")
        case .createPod, .createEvent:
            if rng.percent(30) { out.lit("?fieldManager=kubectl-client-side-apply&fieldValidation=Strict") }
        case .patchPodStatus:
            break
        default:
            if (op == .updateLease || op == .updateDeploymentStatus) && rng.percent(30) {
                out.lit("?timeout=10s")
            }
        }
    }

    mutating func writeRequestObject(
        _ op: KubeOp, _ p: KubePrincipal, model: StaticString, namespace: [UInt8], name: [UInt8], _ out: inout [UInt8]
    ) {
        switch op {
        case .createPod:
            out.lit("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"creationTimestamp\":null,\"labels\":{\"workflows.argoproj.io/workflow\":\"")
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
            out.lit("\",\"pipelines.kubeflow.org/v2_component\":\"true\"}},\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"111122223333.dkr.ecr.us-east-1.amazonaws.com/acme/")
            out.lit(model)
            out.lit(":1.")
            out.decimal(rng.below(20))
            out.append(46)
            out.decimal(rng.below(10))
            out.lit("\",\"command\":[\"/var/run/argo/argoexec\",\"emissary\",\"--\",\"/kfp-launcher/launch\"],\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"8Gi\"},\"requests\":{\"cpu\":\"1\",\"memory\":\"4Gi\"}},\"securityContext\":{\"allowPrivilegeEscalation\":false,\"runAsNonRoot\":true,\"runAsUser\":1000}}],\"restartPolicy\":\"Never\",\"serviceAccountName\":\"pipeline-runner\"},\"status\":{}}")
        case .createEvent:
            out.lit("{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"creationTimestamp\":null},\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"apiVersion\":\"v1\"},\"reason\":\"")
            let r = rng.below(3)
            out.lit(r == 0 ? "Pulled" : (r == 1 ? "Started" : "Scheduled"))
            out.lit("\",\"message\":\"")
            out.lit(r == 0 ? "Container image already present on machine" : (r == 1 ? "Started container main" : "Successfully assigned pod to node"))
            out.lit("\",\"source\":{\"component\":\"kubelet\"},\"firstTimestamp\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"lastTimestamp\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"count\":1,\"type\":\"Normal\",\"eventTime\":null,\"reportingComponent\":\"kubelet\",\"reportingInstance\":\"\"}")
        case .updateLease:
            out.lit("{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"resourceVersion\":\"")
            out.decimal(resourceVersion - 1 - rng.below(100))
            out.lit("\"},\"spec\":{\"holderIdentity\":\"")
            out.put(name)
            out.lit("\",\"leaseDurationSeconds\":40,\"renewTime\":\"")
            out.isoMicros(clockMicros - Int64(rng.below(2000)))
            out.lit("\"}}")
        case .patchPodStatus:
            out.lit("{\"metadata\":{\"uid\":\"")
            uuid(&out)
            out.lit("\"},\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"PodReadyToStartContainers\"},{\"type\":\"Initialized\"},{\"type\":\"Ready\"},{\"type\":\"ContainersReady\"},{\"type\":\"PodScheduled\"}],\"conditions\":[{\"lastTransitionTime\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"status\":\"True\",\"type\":\"Ready\"}]}}")
        case .patchInferenceService:
            out.lit("{\"spec\":{\"predictor\":{\"model\":{\"storageUri\":\"s3://acme-ml-model-artifacts/models/")
            out.lit(model)
            out.lit("/v")
            out.decimal(1 + rng.below(40))
            out.lit("/\"}}}}")
        case .patchWorkflow:
            out.lit("{\"metadata\":{\"labels\":{\"workflows.argoproj.io/completed\":\"true\",\"workflows.argoproj.io/phase\":\"")
            out.lit(rng.percent(90) ? "Succeeded" : "Failed")
            out.lit("\"}}}")
        case .createToken:
            out.lit("{\"kind\":\"TokenRequest\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"audiences\":[\"https://kubernetes.default.svc\"],\"expirationSeconds\":3607,\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\"")
            podName(model: model, namespace: namespace, &out)
            out.lit("\",\"uid\":\"")
            uuid(&out)
            out.lit("\"}},\"status\":{\"token\":\"\",\"expirationTimestamp\":null}}")
        case .updateDeploymentStatus:
            out.lit("{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\"},\"status\":{\"observedGeneration\":")
            out.decimal(1 + rng.below(30))
            out.lit(",\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2,\"availableReplicas\":2}}")
        case .createTokenReview:
            out.lit("{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"audiences\":[\"https://kubernetes.default.svc\"]},\"status\":{\"user\":{}}}")
        default:
            out.lit("{\"kind\":\"SubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"resourceAttributes\":{\"namespace\":\"kubeflow\",\"verb\":\"get\",\"resource\":\"pods\"},\"user\":\"system:serviceaccount:kubeflow:ml-pipeline\"},\"status\":{\"allowed\":false}}")
        }
    }
}
