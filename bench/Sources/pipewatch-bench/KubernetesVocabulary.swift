import Foundation
import PipewatchEvents

enum KubeOp: UInt8 {
    case getConfigMap, watchConfigMap, getSecret, listSecrets
    case listPods, getPod, watchPods, createPod, deletePod, patchPodStatus, getPodLog, createPodExec
    case createEvent, getLease, updateLease
    case getInferenceService, watchInferenceServices, patchInferenceService
    case listWorkflows, patchWorkflow, listScheduledWorkflows
    case createToken, getDeployment, updateDeploymentStatus
    case createTokenReview, createSubjectAccessReview

    var verb: StaticString {
        switch self {
        case .getConfigMap, .getSecret, .getPod, .getPodLog, .getLease, .getInferenceService, .getDeployment:
            return "get"
        case .listSecrets, .listPods, .listWorkflows, .listScheduledWorkflows: return "list"
        case .watchConfigMap, .watchPods, .watchInferenceServices: return "watch"
        case .createPod, .createPodExec, .createEvent, .createToken, .createTokenReview, .createSubjectAccessReview:
            return "create"
        case .deletePod: return "delete"
        case .patchPodStatus, .patchInferenceService, .patchWorkflow: return "patch"
        case .updateLease, .updateDeploymentStatus: return "update"
        }
    }

    var resource: StaticString {
        switch self {
        case .getConfigMap, .watchConfigMap: return "configmaps"
        case .getSecret, .listSecrets: return "secrets"
        case .listPods, .getPod, .watchPods, .createPod, .deletePod, .patchPodStatus, .getPodLog, .createPodExec:
            return "pods"
        case .createEvent: return "events"
        case .getLease, .updateLease: return "leases"
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "inferenceservices"
        case .listWorkflows, .patchWorkflow: return "workflows"
        case .listScheduledWorkflows: return "scheduledworkflows"
        case .createToken: return "serviceaccounts"
        case .getDeployment, .updateDeploymentStatus: return "deployments"
        case .createTokenReview: return "tokenreviews"
        case .createSubjectAccessReview: return "subjectaccessreviews"
        }
    }

    /// API group; empty for the core group.
    var group: StaticString {
        switch self {
        case .getLease, .updateLease: return "coordination.k8s.io"
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "serving.kserve.io"
        case .listWorkflows, .patchWorkflow: return "argoproj.io"
        case .listScheduledWorkflows: return "kubeflow.org"
        case .getDeployment, .updateDeploymentStatus: return "apps"
        case .createTokenReview: return "authentication.k8s.io"
        case .createSubjectAccessReview: return "authorization.k8s.io"
        default: return ""
        }
    }

    var version: StaticString {
        switch self {
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "v1beta1"
        case .listWorkflows, .patchWorkflow: return "v1alpha1"
        case .listScheduledWorkflows: return "v1beta1"
        default: return "v1"
        }
    }

    var subresource: StaticString {
        switch self {
        case .patchPodStatus, .updateDeploymentStatus: return "status"
        case .getPodLog: return "log"
        case .createPodExec: return "exec"
        case .createToken: return "token"
        default: return ""
        }
    }

    var isGet: Bool {
        switch self {
        case .getConfigMap, .getSecret, .getPod, .getPodLog, .getLease, .getInferenceService, .getDeployment: return true
        default: return false
        }
    }

    var isCreate: Bool {
        switch self {
        case .createPod, .createPodExec, .createEvent, .createToken, .createTokenReview, .createSubjectAccessReview:
            return true
        default:
            return false
        }
    }

    var clusterScoped: Bool {
        switch self {
        case .createTokenReview, .createSubjectAccessReview, .watchInferenceServices: return true
        default: return false
        }
    }

    var hasName: Bool {
        switch self {
        case .listSecrets, .listPods, .watchPods, .listWorkflows, .listScheduledWorkflows, .watchInferenceServices,
             .createTokenReview, .createSubjectAccessReview:
            return false
        default:
            return true
        }
    }

    var hasBody: Bool {
        switch self {
        case .createPod, .createEvent, .updateLease, .patchPodStatus, .patchInferenceService, .patchWorkflow,
             .createToken, .updateDeploymentStatus, .createTokenReview, .createSubjectAccessReview:
            return true
        default:
            return false
        }
    }

    var longRunning: Bool {
        switch self {
        case .watchConfigMap, .watchPods, .watchInferenceServices, .createPodExec, .getPodLog: return true
        default: return false
        }
    }
}

enum KubePrincipalKind {
    case serviceAccount, node, human, controlPlane
}

struct KubePrincipal {
    var kind: KubePrincipalKind
    /// The complete `user` object.
    var user: [UInt8]
    var agent: [UInt8]
    /// Fixed caller address (pods, nodes, control plane); empty when drawn from the shared pool (humans).
    var sourceIP: [UInt8]
    /// `authorization.k8s.io/reason`, already escaped for a JSON string.
    var reason: [UInt8]
    var namespace: [UInt8]
    /// Node name for nodes, service account name for service accounts.
    var name: [UInt8]
    var ops: [KubeOp]
    var homeIP: Int
    var team: Int
}
