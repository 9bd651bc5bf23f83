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
/// | `pipewatch_late_records_total` | counter | — (records the detectors got behind the release) |
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
/// | `pipewatch_sink_dead_lettered_batches_total` | counter | sink |
/// | `pipewatch_seconds_since_last_event` | gauge (computed at scrape time) | source |
/// | `pipewatch_detector_state_bytes`, `pipewatch_detector_groups`, `pipewatch_detector_buffered_records` | gauge | — |
/// | `pipewatch_state_snapshots_total`, `pipewatch_state_snapshot_failures_total` | counter | — |
/// | `pipewatch_state_snapshot_bytes` | gauge | — |
/// | `pipewatch_repartition_lag` (scaled out) | gauge | partition (of the repartition topic) |
/// | `pipewatch_state_restore_seconds` (scaled out) | histogram | — |
/// | `pipewatch_ready` | gauge (computed at scrape time): 1 ready, 0 not | — |
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
    /// When each source's events last arrived, for `pipewatch_seconds_since_last_event` (monotonic clock: a wall
    /// clock step must not make a source look silent).
    private let lastEvents = Mutex<[String: ContinuousClock.Instant]>([:])
    /// Dead-lettered batches per sink as last reported, so callers can hand over the queue's running total.
    private let reportedDeadLetters = Mutex<[String: Int]>([:])

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
        factory.durationHistogramBuckets["pipewatch_state_restore_seconds"] = Self.deliveryBuckets
        self.factory = factory
    }

    /// Creates the counters an alert rule takes the `increase()` of at zero, so that the first failure counts:
    /// a series that first appears with the value 1 shows no increase. Call once at start.
    public func declare(sinks: [String], badRecordStages: [String], webhook: Bool, detectors: Bool, stateSnapshots: Bool) {
        for sink in sinks {
            sinkFailures(0, sink: sink)
            counter("pipewatch_sink_dead_lettered_batches_total", ["sink": sink]).increment(by: 0)
        }
        for stage in badRecordStages { badRecords(0, stage: stage) }
        if webhook {
            for result in ["accepted", "duplicate"] {
                counter("pipewatch_webhook_deliveries_total", ["result": result]).increment(by: 0)
            }
            for reason in WebhookRejection.allCases {
                counter("pipewatch_webhook_rejected_total", ["reason": reason.rawValue]).increment(by: 0)
            }
        }
        if detectors { lateRecords(0) }
        if stateSnapshots {
            counter("pipewatch_state_snapshots_total", [:]).increment(by: 0)
            counter("pipewatch_state_snapshot_failures_total", [:]).increment(by: 0)
        }
    }

    // MARK: - Inputs

    /// Events of one batch that came out of the normalizer, for one source.
    public func recordsRead(_ count: Int, source: String) {
        counter("pipewatch_records_total", ["source": source]).increment(by: count)
    }

    /// Events of `source` arrived now: `pipewatch_seconds_since_last_event{source}` starts again from zero.
    public func eventsArrived(source: String) {
        let now = ContinuousClock.now
        lastEvents.withLock { $0[source] = now }
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

    /// The batches a sink dead-lettered so far (its running total): alerts that did not reach it.
    public func sinkDeadLettered(total: Int, sink: String) {
        let added = reportedDeadLetters.withLock { reported -> Int in
            let previous = reported[sink] ?? 0
            reported[sink] = max(total, previous)
            return total - previous
        }
        if added > 0 { counter("pipewatch_sink_dead_lettered_batches_total", ["sink": sink]).increment(by: added) }
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

    /// Records of one batch that arrived behind the detectors' release (reported as late).
    public func lateRecords(_ count: Int) {
        counter("pipewatch_late_records_total", [:]).increment(by: count)
    }

    /// A durable snapshot of the detector state, and its size.
    public func stateSaved(bytes: Int) {
        counter("pipewatch_state_snapshots_total", [:]).increment()
        gauge("pipewatch_state_snapshot_bytes", [:]).record(bytes)
    }

    /// A snapshot that could not be written: commits wait for the next one.
    public func stateSaveFailed() {
        counter("pipewatch_state_snapshot_failures_total", [:]).increment()
    }

    /// The detector stage's size now: its estimated memory, live groups (windows, baselines, seen-sets) and the
    /// records its reorder buffer holds.
    public func detectorState(bytes: Int, groups: Int, bufferedRecords: Int) {
        gauge("pipewatch_detector_state_bytes", [:]).record(bytes)
        gauge("pipewatch_detector_groups", [:]).record(groups)
        gauge("pipewatch_detector_buffered_records", [:]).record(bufferedRecords)
    }

    // MARK: - Scale-out (`scaling:`)

    /// Repartition records not yet fed to this instance's detectors, for one repartition partition it owns.
    public func repartitionLag(_ lag: Int64, partition: Int32) {
        gauge("pipewatch_repartition_lag", ["partition": String(partition)]).record(lag)
    }

    /// How long restoring one repartition partition's detector state from its changelog took.
    public func stateRestored(seconds: Double) {
        timer("pipewatch_state_restore_seconds", [:]).record(duration: .nanoseconds(Int64(seconds * 1e9)))
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

    /// Every metric in the Prometheus text exposition format (version 0.0.4). The seconds since each source's
    /// last event are computed here, so they grow while a source is silent whether or not batches arrive.
    public func exposition() -> [UInt8] {
        let now = ContinuousClock.now
        for (source, last) in lastEvents.withLock({ $0 }) {
            let elapsed = now - last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            gauge("pipewatch_seconds_since_last_event", ["source": source]).record(seconds)
        }
        return registry.emitToBuffer()
    }

    /// Whether the daemon is ready, as `pipewatch_ready` (1 or 0), for alerting on what `/healthz` answers.
    public func ready(_ isReady: Bool) {
        gauge("pipewatch_ready", [:]).record(isReady ? 1 : 0)
    }

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
