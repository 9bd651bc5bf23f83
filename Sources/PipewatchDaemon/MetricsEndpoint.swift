import PipewatchInputs

extension HTTPServer {
    /// Serves `GET /metrics` (Prometheus text exposition) and `GET /healthz` (200 `ok` when ready, else 503 and
    /// the reason on one line).
    public func serveMetrics(
        _ metrics: PipewatchMetrics, readiness: Readiness, metricsPath: String = "/metrics",
        healthPath: String = "/healthz"
    ) {
        route("GET", metricsPath) { _ in
            metrics.ready(readiness.isReady)
            return HTTPResponse(
                status: 200, headers: HTTPFields([("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]),
                body: metrics.exposition())
        }
        route("GET", healthPath) { _ in
            guard let reason = readiness.reason else { return .text(200, "ok") }
            // One line whatever the daemon wrote, so probes and logs can show it as is.
            let line = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
            return .text(503, "not ready: \(line)")
        }
    }
}
