import CoreMetrics
import Metrics
import PipewatchInputs
import Prometheus
import Synchronization

/// The daemon's metrics, exposed in the Prometheus text format on `/metrics`.
///
/// Every method takes a count or a current value so the daemon calls it once per batch (a Kafka fetch, a sink
/// batch, a commit), never once per record: each call is a lock and a dictionary look-up, cheap per batch and
/// wasteful per record. Each instance owns its registry and makes its metrics through its own
/// `PrometheusMetricsFactory` instead of swift-metrics' process-wide bootstrap, so two instances (two tests, or
/// a daemon and a test) never see each other's numbers.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `pipewatch_records_total` | counter | source (`aws.cloudtrail`, `k8s.audit`, `gcp.audit`, `mlflow.webhook`) |
/// | `pipewatch_kafka_records_total` | counter | topic, partition |
/// | `pipewatch_bad_records_total` | counter | stage (`framing`, `parse`, `normalize`) |
/// | `pipewatch_alerts_total` | counter | rule |
/// | `pipewatch_sink_queue_depth` | gauge | sink |
/// | `pipewatch_sink_delivery_seconds` | histogram | sink |
/// | `pipewatch_sink_failures_total` | counter | sink |
/// | `pipewatch_kafka_consumer_lag` | gauge | topic, partition |
/// | `pipewatch_kafka_committed_offset` | gauge | topic, partition |
/// | `pipewatch_webhook_deliveries_total` | counter | result (`accepted`, `duplicate`, `dead_lettered`) |
/// | `pipewatch_webhook_rejected_total` | counter | reason (see `WebhookRejection`) |
/// | `pipewatch_http_connections` | gauge | listener (`webhook`, `metrics`) |
/// | `pipewatch_http_connections_refused_total` | counter | listener |
/// | `pipewatch_http_requests_cut_total` | counter | listener, reason (see `HTTPCutReason`) |
public final class PipewatchMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// A metric name and its label values, in the fixed order its method uses.
    private struct Key: Hashable {
        var name: String
        var values: [String]
    }

    private let counters = Mutex<[Key: CoreMetrics.Counter]>([:])
    private let gauges = Mutex<[Key: CoreMetrics.Gauge]>([:])
    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    /// Buckets of the sink delivery latency, from a local fsync to a remote SIEM that is slow to acknowledge.
    public static let deliveryBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["pipewatch_sink_delivery_seconds"] = Self.deliveryBuckets
        self.factory = factory
    }

    // MARK: - Inputs

    /// Events of one batch that came out of the normalizer, for one source.
    public func recordsRead(_ count: Int, source: String) {
        counter("pipewatch_records_total", ["source": source]).increment(by: count)
    }

    /// Records of one Kafka fetch from one partition.
    public func recordsRead(_ count: Int, topic: String, partition: Int32) {
        counter("pipewatch_kafka_records_total", ["topic": topic, "partition": String(partition)])
            .increment(by: count)
    }

    /// Records of one batch that were dead-lettered at `stage` (`RecordFailure.Stage`'s raw values).
    public func badRecords(_ count: Int, stage: String) {
        counter("pipewatch_bad_records_total", ["stage": stage]).increment(by: count)
    }

    // MARK: - Rules

    /// Alerts one batch raised for one rule.
    public func alerts(_ count: Int, rule: String) {
        counter("pipewatch_alerts_total", ["rule": rule]).increment(by: count)
    }

    /// Alerts one batch raised, counted per rule id.
    public func alerts(byRule counts: [String: Int]) {
        for (rule, count) in counts { alerts(count, rule: rule) }
    }

    // MARK: - Sinks

    /// The batches (or alerts) waiting in a sink's queue now.
    public func sinkQueueDepth(_ depth: Int, sink: String) {
        gauge("pipewatch_sink_queue_depth", ["sink": sink]).record(depth)
    }

    /// One acknowledged batch: how long from hand-over to the sink until it was acknowledged.
    public func sinkDelivered(sink: String, latency: Duration) {
        timer("pipewatch_sink_delivery_seconds", ["sink": sink]).record(duration: latency)
    }

    /// Failed delivery attempts (retried or dead-lettered) of a sink.
    public func sinkFailures(_ count: Int, sink: String) {
        counter("pipewatch_sink_failures_total", ["sink": sink]).increment(by: count)
    }

    // MARK: - Kafka positions

    /// High watermark minus the consumer's position, for one partition.
    public func consumerLag(_ lag: Int64, topic: String, partition: Int32) {
        gauge("pipewatch_kafka_consumer_lag", ["topic": topic, "partition": String(partition)]).record(lag)
    }

    /// The offset last committed for one partition.
    public func committedOffset(_ offset: Int64, topic: String, partition: Int32) {
        gauge("pipewatch_kafka_committed_offset", ["topic": topic, "partition": String(partition)]).record(offset)
    }

    // MARK: - Detector state

    /// A durable snapshot of the detector state, and its size.
    public func stateSaved(bytes: Int) {
        counter("pipewatch_state_snapshots_total", [:]).increment()
        gauge("pipewatch_state_snapshot_bytes", [:]).record(bytes)
    }

    // MARK: - Webhooks (one call per HTTP delivery: deliveries are few)

    /// A delivery handed to the pipeline, or answered 200 as a retry of one that already was.
    public func webhookAccepted(duplicate: Bool) {
        counter("pipewatch_webhook_deliveries_total", ["result": duplicate ? "duplicate" : "accepted"]).increment()
    }

    public func webhookRejected(_ reason: WebhookRejection) {
        counter("pipewatch_webhook_rejected_total", ["reason": reason.rawValue]).increment()
    }

    /// An authentic delivery whose body is not one JSON object, handed to the dead-letter output.
    public func webhookDeadLettered() {
        counter("pipewatch_webhook_deliveries_total", ["result": "dead_lettered"]).increment()
    }

    // MARK: - HTTP listeners (one call per connection or refusal)

    /// The connections open on one listener now.
    public func httpConnectionsOpen(_ count: Int, listener: String) {
        gauge("pipewatch_http_connections", ["listener": listener]).record(count)
    }

    /// A connection closed as soon as accepted: the listener had its maximum open.
    public func httpConnectionRefused(listener: String) {
        counter("pipewatch_http_connections_refused_total", ["listener": listener]).increment()
    }

    /// A request the listener ended before its handler ran (timeouts, body too large).
    public func httpRequestCut(_ reason: HTTPCutReason, listener: String) {
        counter("pipewatch_http_requests_cut_total", ["listener": listener, "reason": reason.rawValue]).increment()
    }

    // MARK: - Exposition

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    // MARK: -

    /// Each metric has one call site, which fixes its label names: Prometheus requires one set of label names
    /// per metric name (swift-prometheus traps otherwise).
    private static func labels(_ labels: KeyValuePairs<String, String>) -> [(String, String)] {
        labels.map { ($0.key, $0.value) }
    }

    private func counter(_ name: String, _ labels: KeyValuePairs<String, String>) -> CoreMetrics.Counter {
        let key = Key(name: name, values: labels.map(\.value))
        if let existing = counters.withLock({ $0[key] }) { return existing }
        let made = CoreMetrics.Counter(label: name, dimensions: Self.labels(labels), factory: factory)
        return counters.withLock { $0[key, default: made] }
    }

    private func gauge(_ name: String, _ labels: KeyValuePairs<String, String>) -> CoreMetrics.Gauge {
        let key = Key(name: name, values: labels.map(\.value))
        if let existing = gauges.withLock({ $0[key] }) { return existing }
        let made = CoreMetrics.Gauge(label: name, dimensions: Self.labels(labels), factory: factory)
        return gauges.withLock { $0[key, default: made] }
    }

    private func timer(_ name: String, _ labels: KeyValuePairs<String, String>) -> CoreMetrics.Timer {
        let key = Key(name: name, values: labels.map(\.value))
        if let existing = timers.withLock({ $0[key] }) { return existing }
        let made = CoreMetrics.Timer(label: name, dimensions: Self.labels(labels), factory: factory)
        return timers.withLock { $0[key, default: made] }
    }
}
