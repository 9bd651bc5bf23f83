import PipewatchEvents

/// Which events a rule's `logsource` selects.
///
/// | logsource | events |
/// |---|---|
/// | `product: aws`, `service: cloudtrail` | CloudTrail |
/// | `product: gcp`, `service: gcp.audit` | GCP audit (Vertex AI included) |
/// | `product: gcp`, `service: vertexai` | GCP audit entries of `protoPayload.serviceName: aiplatform.googleapis.com` |
/// | `product: kubernetes`, `service: audit` (`category: application` allowed) | Kubernetes audit |
/// | `product: mlflow`, `service: webhook` | MLflow webhook deliveries |
/// | `product: pipewatch` | all four (rules over normalized fields) |
/// | `product: pipewatch`, `service: aws.cloudtrail` (or `k8s.audit`, `gcp.audit`, `mlflow.webhook`) | that source |
///
/// `definition` and custom keys of the section do not change the routing.
public struct LogSourceRoute: Sendable, Equatable {
    public var sources: [EventSource]
    /// A raw field and the value it must have, on top of the source (the `vertexai` service).
    public var restriction: (field: String, value: String)?

    public static func == (a: LogSourceRoute, b: LogSourceRoute) -> Bool {
        a.sources == b.sources && a.restriction?.field == b.restriction?.field && a.restriction?.value == b.restriction?.value
    }

    /// The route of a logsource, or why Pipewatch reads no such logs.
    public static func route(_ logsource: LogSource) -> Result<LogSourceRoute, LogSourceRefusal> {
        let product = logsource.product?.lowercased()
        let service = logsource.service?.lowercased()
        let category = logsource.category?.lowercased()
        func only(_ sources: [EventSource], allowedCategories: Set<String> = []) -> Result<LogSourceRoute, LogSourceRefusal> {
            if let category, !allowedCategories.contains(category) {
                return .failure(LogSourceRefusal(logsource: logsource, detail: "category '\(category)' is not one of its logs"))
            }
            return .success(LogSourceRoute(sources: sources, restriction: nil))
        }
        switch (product, service) {
        case ("aws", "cloudtrail"):
            return only([.cloudTrail])
        case ("gcp", "gcp.audit"):
            return only([.gcpAudit])
        case ("gcp", "vertexai"):
            return only([.gcpAudit]).map {
                var route = $0
                route.restriction = (field: "protoPayload.serviceName", value: "aiplatform.googleapis.com")
                return route
            }
        case ("kubernetes", "audit"):
            return only([.kubernetesAudit], allowedCategories: ["application"])
        case ("mlflow", "webhook"):
            return only([.mlflowWebhook])
        case ("pipewatch", nil):
            return only(EventSource.allCases)
        case ("pipewatch", let service?):
            guard let source = EventSource(name: service) else {
                return .failure(LogSourceRefusal(
                    logsource: logsource,
                    detail: "service '\(service)' of product pipewatch is not one of \(EventSource.allCases.map(\.name).joined(separator: ", "))"))
            }
            return only([source])
        default:
            return .failure(LogSourceRefusal(logsource: logsource, detail: nil))
        }
    }
}

/// Why a logsource selects no events Pipewatch reads.
public struct LogSourceRefusal: Error, Sendable, CustomStringConvertible {
    public var logsource: LogSource
    public var detail: String?

    public var description: String {
        let written = logsource.description.isEmpty ? "an empty logsource" : "logsource '\(logsource)'"
        let why = detail.map { ": \($0)" } ?? ""
        return "\(written) is not one Pipewatch reads\(why) (supported: aws/cloudtrail, gcp/gcp.audit, gcp/vertexai, "
            + "kubernetes/audit, mlflow/webhook, pipewatch)"
    }
}
