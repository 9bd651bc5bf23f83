/// Texts the normalizers put into events that do not come from the record itself. Every `TextArena` starts with
/// all of them, in case order, so using one costs an array read.
public enum ArenaConstant: Int, CaseIterable, Sendable {
    case aws, gcp, kubernetes, mlflow
    case serviceAccount, user, node, system
    // ml.entity values
    case trainingJob, model, endpoint, endpointConfig, modelPackage, modelPackageGroup, notebook, pipeline
    case pipelineJob, processingJob, transformJob, customJob, dataset, featureGroup, inferenceService, pipelineRun
    // actor.kind values
    case human, workload, service, anonymous

    public var text: String {
        switch self {
        case .aws: return "aws"
        case .gcp: return "gcp"
        case .kubernetes: return "kubernetes"
        case .mlflow: return "mlflow"
        case .serviceAccount: return "ServiceAccount"
        case .user: return "User"
        case .node: return "Node"
        case .system: return "System"
        case .trainingJob: return "training_job"
        case .model: return "model"
        case .endpoint: return "endpoint"
        case .endpointConfig: return "endpoint_config"
        case .modelPackage: return "model_package"
        case .modelPackageGroup: return "model_package_group"
        case .notebook: return "notebook"
        case .pipeline: return "pipeline"
        case .pipelineJob: return "pipeline_job"
        case .processingJob: return "processing_job"
        case .transformJob: return "transform_job"
        case .customJob: return "custom_job"
        case .dataset: return "dataset"
        case .featureGroup: return "feature_group"
        case .inferenceService: return "inference_service"
        case .pipelineRun: return "pipeline_run"
        case .human: return "human"
        case .workload: return "workload"
        case .service: return "service"
        case .anonymous: return "anonymous"
        }
    }
}
