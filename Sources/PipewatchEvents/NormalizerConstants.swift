/// Texts the normalizers put into events that do not come from the record itself.
public enum NormalizerConstants {
    public static let all: [String] = [
        "aws", "gcp", "kubernetes", "mlflow",
        "ServiceAccount", "User", "Node", "System", "Group",
        // ml.entity values
        "training_job", "model", "endpoint", "endpoint_config", "model_package", "model_package_group", "notebook",
        "pipeline", "pipeline_job", "processing_job", "transform_job", "custom_job", "dataset", "feature_group",
        "inference_service", "registered_model", "model_version", "model_version_tag", "model_version_alias",
        "prompt", "prompt_version", "budget_policy",
    ]
}
