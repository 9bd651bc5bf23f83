import PipewatchInputs

extension MLflowWebhookReceiver {
    /// Serves `POST path` on `server`.
    public func install(on server: HTTPServer, path: String = "/webhooks/mlflow") {
        server.route("POST", path) { [self] request in await handle(request) }
    }
}

extension PipewatchMetrics: WebhookObserver {}
