/// Why a webhook delivery was refused; the `reason` label of `pipewatch_webhook_rejected_total`.
public enum WebhookRejection: String, Sendable, CaseIterable {
    /// X-MLflow-Signature, X-MLflow-Delivery-Id or X-MLflow-Timestamp absent or malformed (400).
    case missingHeader = "missing_header"
    /// No accepted secret produces the signature (401).
    case badSignature = "bad_signature"
    /// Authentic, but X-MLflow-Timestamp is outside the replay window (401).
    case staleTimestamp = "stale_timestamp"
    /// The pipeline did not take the record (503, so MLflow retries).
    case pipelineUnavailable = "pipeline_unavailable"
}

/// What the webhook receiver reports of each delivery (the daemon's metrics count them).
public protocol WebhookObserver: Sendable {
    func webhookAccepted(duplicate: Bool)
    /// An authentic delivery whose body is not one JSON object, handed over to be dead-lettered.
    func webhookDeadLettered()
    func webhookRejected(_ reason: WebhookRejection)
}
