import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON
import PipewatchKafka
import PipewatchOutput
import PipewatchPipeline
import PipewatchRules

/// `pipewatch run`: the long-running SIGTERM-safe pipeline. One pipeline thread reads the inputs in batches (a Kafka
/// poll, a file chunk, the webhook deliveries waiting), decodes, evaluates the rules and hands the alerts of each
/// batch to the outputs. Kafka offsets are committed only up to the contiguous watermark of records whose alerts
/// every output has acknowledged, so a crash re-reads (duplicates) but never skips. With `state:`, also only up to
/// what a durable snapshot of the detector state includes (`DetectorCheckpoints`), so windows, baselines and
/// buffered records survive a restart. Scale-out is Kafka's: more instances in the same consumer group.
public final class Daemon: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    /// Lines for the operator (stderr by default).
    public var log: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data("pipewatch: \(line)\n".utf8))
    }

    var detection: Detection
    /// Event time for the detectors; the sources of file inputs are declared, so that files of one source read
    /// after another's are not late (as in replay).
    let detectorOptions: DetectorOptions
    let outputs: AlertOutputs
    let deadLetter: DeadLetterOutput
    private let decoder = EventDecoder()
    private var consumer: KafkaConsumer?

    /// Prometheus metrics and readiness, served on `metrics.listen`.
    public let metrics = PipewatchMetrics()
    public let readiness = Readiness(notReadyBecause: "loading rules and joining the consumer group")
    /// HTTP servers by listener name ("metrics", "webhook").
    private var servers: [String: HTTPServer] = [:]
    /// Verified MLflow deliveries waiting for the pipeline thread.
    private let webhookInbox = WebhookInbox()
    /// Webhook deliveries behind each batch in flight: answered 2xx once the batch is acknowledged.
    private var deliveriesOfBatch: [UInt64: [WebhookInbox.Delivery]] = [:]
    private var lastMetrics = Date.distantPast
    private var lastDetectorMetrics = Date.distantPast
    private var reportedAlertsPerRule: [Int] = []
    private var reportedSinkFailures: [Int] = []

    /// Set from any thread (signal handlers, the rule watcher); acted on by the pipeline thread between batches.
    private let flags = Flags()
    /// Batches every output acknowledged, waiting for the pipeline thread to mark their records done.
    private let completed = CompletedBatches()
    /// The Kafka records behind each batch in flight.
    private var recordsOfBatch: [UInt64: [KafkaRecordSource]] = [:]
    var nextBatch: UInt64 = 0
    /// Batches submitted to the outputs and not yet acknowledged by all of them.
    var unacknowledged = Set<UInt64>()
    /// Scale-out through the repartition and changelog topics (`scaling:`).
    var scaleOut: ScaleOut?
    /// Detector state snapshots (`state:`); nil keeps the state in memory only.
    private let checkpoints: DetectorCheckpoints?
    /// How far the detector state goes into each Kafka partition.
    private var statePosition = KafkaStatePosition()
    private var lastCommit = Date()
    private var ruleFingerprint: [String: Date]
    private var lastRuleCheck = Date()
    /// Idle sources (`idle-timeout`): the wall time each source's latest record arrived (by `EventSource` raw value),
    /// the sources marked idle in the detector stage since, and the last arrival of any record with the stage's
    /// lead then (what event time is carried forward from when nothing arrives).
    private var lastArrival = [Date?](repeating: nil, count: EventSource.allCases.count)
    private var markedIdle = Set<EventSource>()
    private var lastAnyArrival: (wall: Date, lead: Int64)?
    private var lastIdleCheck = Date.distantPast
    /// Records the detectors got behind the release, and where they go (`late:`; the log without it).
    private let lateOutput: OutputFile?

    /// What the daemon did so far; kept by the pipeline thread, published after each batch.
    var statistics = Statistics()
    private let published = PublishedStatistics()

    /// A consistent copy of the statistics, from any thread.
    public var currentStatistics: Statistics { published.value }

    public init(configuration: DaemonConfiguration) throws {
        self.configuration = configuration
        let ruleSet = try Daemon.loadRules(configuration.rules)
        var options = configuration.detectorOptions
        options.expectedSources = InputSources.sniff(configuration.files)
        // Files alone are replay: their sources go idle by event time, as replay's do (the wall clock marks the
        // sources of live inputs instead).
        if configuration.kafka == nil && configuration.webhook == nil && configuration.idleTimeout != nil {
            options.idleTimeout = options.allowedLateness
        }
        detectorOptions = options
        detection = Detection(ruleSet: ruleSet, detectorOptions: options)
        ruleFingerprint = Daemon.fingerprint(configuration.rules)
        checkpoints = configuration.state.map { DetectorCheckpoints(path: $0.path, interval: $0.checkpointInterval) }
        lateOutput = try configuration.latePath.map { try OutputFile(path: $0) }
        if let destination = configuration.deadLetter, destination.hasPrefix("kafka://") {
            deadLetter = DeadLetterOutput(topic: try KafkaSink(try KafkaSinkConfiguration(parsing: destination)))
        } else {
            deadLetter = DeadLetterOutput(file: try configuration.deadLetter.map { try OutputFile(path: $0) })
        }
        let completed = completed
        outputs = try AlertOutputs(
            configuration.outputs, deadLetterPath: configuration.alertDeadLetter,
            queueCapacity: configuration.queueCapacity,
            retry: RetryPolicy(
                maxAttempts: configuration.retry.maxAttempts, initialDelay: configuration.retry.initialDelay,
                maxDelay: configuration.retry.maxDelay),
            onBatchComplete: { completed.add($0) },
            onDelivered: { [metrics] sink, latency in metrics.sinkDelivered(sink: sink, latency: latency) })
        reportedAlertsPerRule = detection.alertsPerRule
        reportedSinkFailures = outputs.queues.map { _ in 0 }
    }

    // MARK: Control (any thread)

    /// Finish the batch in hand, wait for the sinks, commit and return from `run`.
    public func requestStop() { flags.set(\.stop) }

    /// Recompile the rules between two batches; a rule set that fails keeps the old one running.
    public func requestReload() { flags.set(\.reload) }

    /// Whether the daemon is ready: rules loaded and, with a Kafka input, partitions assigned.
    public var isReady: Bool { readiness.isReady }

    /// The port each listener is bound to ("metrics", "webhook"), once `run` started them.
    public var listeningPorts: [String: Int] { flags.ports }

    // MARK: The pipeline thread

    /// Runs until `requestStop` (or, with only file inputs, until they are read). Throws on a fatal input error.
    public func run() throws {
        log("rules: \(detection.ruleSet.rules.count) loaded; outputs: "
            + outputs.queues.map(\.sink.name).joined(separator: ", "))
        try restoreState()
        if let scaling = configuration.scaling, let kafka = configuration.kafka { try startScaleOut(scaling, kafka) }
        metrics.declare(
            sinks: outputs.queues.map(\.sink.name),
            badRecordStages: [RecordFailure.Stage.framing, .parse, .normalize].map(\.rawValue),
            webhook: configuration.webhook != nil, detectors: detection.detectors != nil || scaleOut != nil,
            stateSnapshots: (checkpoints != nil && detection.detectors != nil) || scaleOut != nil)
        if let stage = detection.detectors, let lead = stage.lead {
            // Restored: the sources of the state count from now, and go idle if they send nothing.
            let now = Date()
            for source in EventSource.allCases where stage.latestTime(of: source) != nil { lastArrival[Int(source.rawValue)] = now }
            lastAnyArrival = (now, lead)
        }
        if let kafka = configuration.kafka {
            let consumer = try KafkaConsumer(kafka.consumer)
            consumer.beforeRevoke = { [unowned self] partitions in self.finishInFlight(before: "revoking \(partitions.count) partition(s)") }
            self.consumer = consumer
        }
        try startServers()
        if !configuration.files.isEmpty { try readFiles() }
        if consumer == nil {
            readiness.setReady()
            // Nothing else to read: a run over files ends with them.
            if configuration.webhook == nil { flags.set(\.stop) }
        }
        while !flags.get(\.stop) {
            if flags.take(\.reload) { reloadRules() }
            if configuration.rules.watch && Date().timeIntervalSince(lastRuleCheck) >= 2 { watchRules() }
            applyCompletions()
            checkIdleSources()
            checkpointIfDue()
            commitIfDue()
            try processWebhookDeliveries(wait: consumer == nil ? 0.1 : 0)
            if let consumer, let kafka = configuration.kafka {
                try pollKafka(consumer, maxMessages: kafka.maxBatch)
            }
            if let scaleOut, let kafka = configuration.kafka { try pollRepartition(scaleOut, maxMessages: kafka.maxBatch) }
            publish()
        }
        shutDown()
    }

    /// Starts the metrics and webhook listeners: each a server of its own (event loop, connection cap, timeouts),
    /// so that a flood of webhook connections cannot starve `/healthz` and `/metrics`.
    private func startServers() throws {
        if let listen = configuration.metricsListen {
            listener("metrics", listen.host, listen.port, configuration.metricsLimits)
                .serveMetrics(metrics, readiness: readiness)
        }
        if let webhook = configuration.webhook {
            let inbox = webhookInbox
            let receiver = try MLflowWebhookReceiver(
                .init(secrets: webhook.secrets, replayWindowSeconds: Int64(webhook.replayWindow), registry: webhook.registry),
                metrics: metrics, accept: { payload, id in try await inbox.submit(payload, id) })
            receiver.install(on: listener("webhook", webhook.host, webhook.port, webhook.limits), path: webhook.path)
        }
        guard !servers.isEmpty else { return }
        if let line = DescriptorLimit.reserve(connections: servers.values.map(\.configuration.maxConnections).reduce(0, +)) {
            log(line)
        }
        for (name, server) in servers.sorted(by: { $0.key < $1.key }) {
            try blocking { try await server.start() }
            log("\(name): listening on \(server.configuration.host):\(server.port) "
                + "(at most \(server.configuration.maxConnections) connections)")
        }
        flags.ports = servers.mapValues(\.port)
    }

    @discardableResult
    private func listener(
        _ name: String, _ host: String, _ port: Int, _ limits: DaemonConfiguration.ListenerLimits
    ) -> HTTPServer {
        let server = HTTPServer(
            configuration: .init(name: name, host: host, port: port, limits: limits), observer: metrics,
            log: { [weak self] line in self?.log(line) })
        servers[name] = server
        return server
    }

    /// Decodes and evaluates the webhook deliveries waiting (waiting up to `wait` seconds for a first one); they
    /// are answered once their batch is acknowledged.
    private func processWebhookDeliveries(wait: Double) throws {
        let taken = webhookInbox.takeAll(waiting: wait)
        guard !taken.isEmpty else { return }
        let deliveries = try deadLetterUndecodable(taken)
        guard !deliveries.isEmpty else { return }
        var bytes: [UInt8] = []
        var records: [FramedRecord] = []
        for (index, (_, record)) in deliveries.enumerated() {
            records.append(FramedRecord(
                start: bytes.count, end: bytes.count + record.count, line: 0, streamOffset: Int64(index),
                problem: nil))
            bytes += record
        }
        try bytes.withUnsafeBufferPointer { buffer in
            let chunk = RecordChunk(input: "webhook", bytes: buffer.baseAddress!, records: records, framing: nil)
            decoder.decode(chunk)
            for failure in decoder.failures {
                let record = records[failure.record]
                try deadLetter.write(
                    reason: failure.reason, stage: failure.stage.rawValue,
                    input: "webhook:\(deliveries[failure.record].delivery.id)", line: 0, offset: 0,
                    raw: UnsafeBufferPointer(start: buffer.baseAddress! + record.start, count: record.count))
            }
            if !decoder.failures.isEmpty { try deadLetter.flush() }
            metrics.recordsRead(deliveries.count, source: "webhook")
            nextBatch += 1
            deliveriesOfBatch[nextBatch] = deliveries.map(\.delivery)
            try evaluateAndSubmit(batch: nextBatch, records: deliveries.count, inState: nil)
        }
    }

    /// Dead-letters the authentic deliveries whose body is not one JSON object (reason, `webhook:<delivery id>`,
    /// the body as raw bytes) and answers them once that is durable: refused, they would be lost, since MLflow
    /// does not retry a 4xx. Returns the others with their records. If the dead-letter output fails, every
    /// delivery taken is answered with the error (MLflow retries) before it is thrown.
    private func deadLetterUndecodable(
        _ deliveries: [WebhookInbox.Delivery]
    ) throws -> [(delivery: WebhookInbox.Delivery, record: [UInt8])] {
        var decodable: [(delivery: WebhookInbox.Delivery, record: [UInt8])] = []
        var undecodable: [WebhookInbox.Delivery] = []
        do {
            for delivery in deliveries {
                switch delivery.payload {
                case .record(let record):
                    decodable.append((delivery, record))
                case .undecodable(let body, let reason):
                    try body.withUnsafeBufferPointer { raw in
                        try deadLetter.write(
                            reason: reason, stage: RecordFailure.Stage.parse.rawValue, input: "webhook:\(delivery.id)",
                            line: 0, offset: 0, raw: raw)
                    }
                    undecodable.append(delivery)
                }
            }
            if !undecodable.isEmpty { try deadLetter.flush() }
        } catch {
            for delivery in deliveries { delivery.answer(error) }
            throw error
        }
        guard !undecodable.isEmpty else { return decodable }
        statistics.records += undecodable.count
        statistics.badRecords += undecodable.count
        metrics.recordsRead(undecodable.count, source: "webhook")
        metrics.badRecords(undecodable.count, stage: RecordFailure.Stage.parse.rawValue)
        for delivery in undecodable { delivery.answer(nil) }
        return decodable
    }

    private func pollKafka(_ consumer: KafkaConsumer, maxMessages: Int) throws {
        // Pause rather than buffer when a sink pushes back; polling goes on so the group keeps this member.
        if outputs.isBackedUp {
            if !consumer.isPaused { statistics.pauses += 1 }
            consumer.pause()
        } else if consumer.isPaused {
            consumer.resume()
        }
        let batch = consumer.poll(maxMessages: maxMessages, timeout: 0.1)
        for rebalance in batch.rebalances {
            switch rebalance {
            case .assigned(let partitions):
                log("assigned \(partitions.map(\.description).sorted().joined(separator: ", "))")
                readiness.setReady()
            case .revoked(let partitions):
                log("revoked \(partitions.map(\.description).sorted().joined(separator: ", "))")
            case .lost(let partitions):
                log("lost \(partitions.map(\.description).sorted().joined(separator: ", ")) (their uncommitted records are read again by their next owner)")
            }
        }
        for error in batch.errors {
            log("kafka: \(error)")
            if error.isFatal { throw error }
        }
        guard !batch.isEmpty else { return }
        // A poll returns runs of one partition: count records per run, and look each run up once in the detector
        // state's position (records it already holds, read again after a restart or a rebalance, are not fed twice).
        let position = statePosition
        let sources = batch.sources
        var anyInState = false
        var runStart = 0
        for index in 1...batch.count where index == batch.count || sources[index].partition != sources[runStart].partition {
            let partition = sources[runStart].partition
            metrics.recordsRead(index - runStart, topic: partition.topic, partition: partition.partition)
            let offsets = sources[runStart..<index].lazy.map(\.offset)
            if position.contains(partition, offset: offsets.min()!) { anyInState = true }
            statePosition.fed(partition, offset: offsets.max()!)
            runStart = index
        }
        let chunk = batch.chunk
        decoder.decode(chunk)
        for failure in decoder.failures {
            let record = chunk.records[failure.record]
            let source = batch.sources[failure.record]
            var cut = false
            if case .tooLarge = record.problem { cut = true }  // only the beginning of the message was kept
            try deadLetter.write(
                reason: failure.reason, stage: failure.stage.rawValue, input: "kafka:\(source.partition)", line: 0,
                offset: source.offset, raw: UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count),
                alreadyCut: cut)
        }
        // The dead letters are durable before their records can be committed.
        if !decoder.failures.isEmpty { try deadLetter.flush() }
        nextBatch += 1
        recordsOfBatch[nextBatch] = batch.sources
        if let scaleOut {
            let decoder = decoder
            scaleOut.positions = { event in sources[Int(decoder.eventRecords[event])] }
        }
        guard anyInState, detection.detectors != nil else {
            try evaluateAndSubmit(batch: nextBatch, records: batch.count, inState: nil)
            return
        }
        let decoder = decoder
        var alreadyInState = 0
        try evaluateAndSubmit(batch: nextBatch, records: batch.count) { event in
            let source = sources[Int(decoder.eventRecords[event])]
            let held = position.contains(source.partition, offset: source.offset)
            if held { alreadyInState += 1 }
            return held
        }
        statistics.recordsAlreadyInState += alreadyInState
    }

    private func readFiles() throws {
        let replay = FileReplay(deadLetter: deadLetter, showProgress: false)
        let stats = try replay.run(configuration.files) { decoder, _ in
            nextBatch += 1
            evaluate(decoder, inState: nil)
            statistics.records += decoder.events.count + decoder.failures.count
            submit(batch: nextBatch)
        }
        statistics.badRecords += stats.badRecords
        for error in stats.inputErrors { log("input: \(error)") }
        log("files: \(stats.records) records, \(stats.badRecords) dead-lettered")
        if configuration.kafka == nil && configuration.webhook == nil {
            // The files are the whole stream: the detector stage judges what their last events left open.
            detection.finish { alert in
                statistics.alerts += 1
                outputs.append(alert)
            }
            nextBatch += 1
            submit(batch: nextBatch)
        }
    }

    private func evaluateAndSubmit(batch: UInt64, records: Int, inState: ((Int) -> Bool)?) throws {
        statistics.records += records
        statistics.badRecords += decoder.failures.count
        evaluate(decoder, inState: inState)
        // Scaled out: the records are committed only once their matches are in the repartition topic.
        try scaleOut?.flush(decoder.events)
        // Blocks only if a queue filled up since the check before the poll.
        submit(batch: batch)
    }

    func submit(batch: UInt64) {
        unacknowledged.insert(batch)
        outputs.submit(batch: batch)
    }

    private func evaluate(_ decoder: EventDecoder, inState: ((Int) -> Bool)?) {
        statistics.events += decoder.events.count
        var perSource = [Int](repeating: 0, count: EventSource.allCases.count)
        for event in decoder.events { perSource[Int(event.source.rawValue)] += 1 }
        for source in EventSource.allCases where perSource[Int(source.rawValue)] > 0 {
            metrics.recordsRead(perSource[Int(source.rawValue)], source: source.name)
            metrics.eventsArrived(source: source.name)
        }
        var failuresPerStage: [String: Int] = [:]
        for failure in decoder.failures { failuresPerStage[failure.stage.rawValue, default: 0] += 1 }
        for (stage, count) in failuresPerStage { metrics.badRecords(count, stage: stage) }
        statistics.batches += 1
        detection.evaluate(decoder, inState: inState) { alert in
            statistics.alerts += 1
            outputs.append(alert)
        }
        noteArrivals(perSource)
        reportLateRecords()
    }

    // MARK: Idle sources (`idle-timeout`)

    /// Sources that sent records in this batch are active again (the stage saw them); nothing is idle any more.
    private func noteArrivals(_ perSource: [Int]) {
        guard let stage = detection.detectors, perSource.contains(where: { $0 > 0 }) else { return }
        let now = Date()
        for source in EventSource.allCases where perSource[Int(source.rawValue)] > 0 {
            lastArrival[Int(source.rawValue)] = now
            if markedIdle.remove(source) != nil { log("source \(source.name) is active again") }
        }
        if let lead = stage.lead { lastAnyArrival = (now, lead) }
    }

    /// Marks idle the sources that sent nothing for `idle-timeout` (they stop holding the release back) and, when no
    /// source sent anything for that long, carries event time forward on the wall clock from the last record
    /// (its lead + the wall time since it arrived), so silences and windows that ended meanwhile are judged. Only
    /// when the release moves: the alerts are those the same records would give in replay with the same release.
    private func checkIdleSources() {
        guard let timeout = configuration.idleTimeout else { return }
        let now = Date()
        guard now.timeIntervalSince(lastIdleCheck) >= min(1, timeout / 4) else { return }
        if let scaleOut {
            lastIdleCheck = now
            checkIdleRepartitions(scaleOut)
        }
        guard let stage = detection.detectors else { return }
        lastIdleCheck = now
        var changed = false
        for source in EventSource.allCases where !markedIdle.contains(source) {
            guard let last = lastArrival[Int(source.rawValue)], now.timeIntervalSince(last) >= timeout else { continue }
            stage.markIdle(source)
            markedIdle.insert(source)
            changed = true
            log("source \(source.name): no record for \(timeout) s; it no longer holds event time back until its next record")
        }
        if let last = lastAnyArrival, now.timeIntervalSince(last.wall) >= timeout {
            stage.advanceIdle(to: last.lead + Int64(now.timeIntervalSince(last.wall) * 1000))
            changed = true
        }
        guard changed else { return }
        let before = statistics.alerts
        detection.advance { alert in
            statistics.alerts += 1
            outputs.append(alert)
        }
        reportLateRecords()
        if statistics.alerts > before {
            nextBatch += 1
            submit(batch: nextBatch)
        }
    }

    /// Late records to `late:` (NDJSON, flushed per batch) or, without it, the first ten to the log; all counted.
    private func reportLateRecords() {
        guard let stage = detection.detectors else { return }
        let late = stage.takeLateRecords()
        guard !late.isEmpty else { return }
        for record in late {
            statistics.lateRecords += 1
            if let lateOutput {
                do { try lateOutput.write(record.json + [0x0A]) } catch { log("late: cannot write: \(error)") }
            } else if statistics.lateRecords <= 10 {
                log("late: " + String(decoding: record.json, as: UTF8.self))
            }
        }
        metrics.lateRecords(late.count)
        do { try lateOutput?.flush() } catch { log("late: cannot write: \(error)") }
    }

    /// Marks the records of every acknowledged batch done, once the detector state that includes them is saved
    /// (at once without `state:`).
    private func applyCompletions() {
        for id in completed.takeAll() {
            unacknowledged.remove(id)
            if let checkpoints, detection.detectors != nil, !checkpoints.acknowledged(id) { continue }
            finish(batch: id)
        }
    }

    /// A batch delivered and (with `state:`) saved: its records may be committed and its webhook deliveries answered.
    private func finish(batch id: UInt64) {
        if let sources = recordsOfBatch.removeValue(forKey: id), let consumer {
            for source in sources { consumer.watermark.markDone(source.partition, offset: source.offset) }
        }
        if let deliveries = deliveriesOfBatch.removeValue(forKey: id) {
            for delivery in deliveries { delivery.answer(nil) }
        }
        scaleOut?.acknowledged(batch: id)
    }

    // MARK: Detector state (`state:`)

    /// Loads the saved detector state and the Kafka positions it covers, if there is one.
    private func restoreState() throws {
        guard let state = configuration.state else { return }
        guard let stage = detection.detectors else {
            log("state: the rules have no correlation, detector or tuned rule; there is no detector state to keep")
            return
        }
        guard let bytes = FileManager.default.contents(atPath: state.path) else {
            log("state: no snapshot at \(state.path) yet; the detectors start afresh")
            return
        }
        let report: CarryOverReport
        do {
            // Rules changed since the snapshot (a deployment restarts with new rules): detectors defined as before
            // keep their state, the others start afresh.
            let saved = try stage.restoreCarryingOver([UInt8](bytes))
            report = saved.report
            guard let position = KafkaStatePosition(bytes: saved.position) else {
                throw SnapshotError("its input position is not a Kafka position (a snapshot of 'pipewatch replay'?)")
            }
            statePosition = position
        } catch {
            throw DaemonConfigurationError(problems: ["state: cannot resume from \(state.path): \(error)"])
        }
        let partitions = statePosition.next.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
        log("state: restored from \(state.path): \(stage.liveGroups) groups, \(stage.bufferedRecords) buffered records; "
            + "covers " + (partitions.isEmpty ? "no record yet" : partitions.map { "\($0.key) below \($0.value)" }.joined(separator: ", ")))
        if !report.isComplete { log("state: the rules changed since the snapshot; \(report)") }
    }

    /// Takes and writes detector snapshots on their cadence and releases the batches they made durable.
    private func checkpointIfDue() {
        if let scaleOut { checkpointRepartition(scaleOut) }
        guard let checkpoints else { return }
        guard let stage = detection.detectors else {
            for id in checkpoints.releaseAll() { finish(batch: id) }
            return
        }
        // A webhook delivery is answered only once saved: do not keep MLflow waiting a whole interval.
        let soon = checkpoints.waiting.contains { deliveriesOfBatch[$0] != nil }
        do {
            let durable = try checkpoints.step(
                stage: stage, position: statePosition, lastBatch: nextBatch,
                oldestUnacknowledged: unacknowledged.min(), soon: soon)
            if !durable.isEmpty { stateSaved(checkpoints) }
            for id in durable { finish(batch: id) }
        } catch {
            metrics.stateSaveFailed()
            log("state: cannot save, commits wait for the next snapshot: \(error)")
        }
    }

    /// Everything fed is acknowledged (on revocation and at shutdown): saves the state so a commit made now covers
    /// every record.
    private func saveStateNow() {
        guard let checkpoints, let stage = detection.detectors, unacknowledged.isEmpty else { return }
        do {
            for id in try checkpoints.saveNow(stage: stage, position: statePosition, lastBatch: nextBatch) { finish(batch: id) }
            stateSaved(checkpoints)
        } catch {
            metrics.stateSaveFailed()
            log("state: cannot save: \(error)")
        }
    }

    private func stateSaved(_ checkpoints: DetectorCheckpoints) {
        statistics.stateSnapshots = checkpoints.saved
        metrics.stateSaved(bytes: checkpoints.lastSize)
    }

    private func commitIfDue(force: Bool = false) {
        guard let consumer, force || Date().timeIntervalSince(lastCommit) >= configuration.commitInterval else { return }
        lastCommit = Date()
        do { try consumer.commitDone() } catch { log("commit: \(error)") }
        do { try scaleOut?.consumer.commitDone() } catch { log("commit: \(error)") }
    }

    /// Waits (bounded) for the sinks to acknowledge what is in flight and marks it done, so that a commit made now
    /// covers it: on revocation and at shutdown.
    func finishInFlight(before what: String) {
        if !outputs.drain(until: Date().addingTimeInterval(configuration.shutdownTimeout)) {
            log("\(what): the outputs did not acknowledge everything within \(configuration.shutdownTimeout) s; "
                + "the unacknowledged records stay uncommitted and are read again")
        }
        applyCompletions()
        saveStateNow()
    }

    private func publish() {
        if Date().timeIntervalSince(lastMetrics) >= 0.5 { publishMetrics() }
        statistics.rules = detection.ruleSet.rules.count
        if let consumer {
            statistics.committed = consumer.confirmedCommits
            statistics.assignment = consumer.assignment
            statistics.redeliveryWindow = consumer.redeliveryWindow
        }
        published.value = statistics
    }

    /// Alerts per rule, sink queues and failures, lag and commits: what changed since the last call.
    private func publishMetrics() {
        lastMetrics = Date()
        var alerts: [String: Int] = [:]
        for (index, count) in detection.alertsPerRule.enumerated() where count > reportedAlertsPerRule[index] {
            let rule = detection.ruleSet.rules[index]
            alerts[rule.id ?? rule.title, default: 0] += count - reportedAlertsPerRule[index]
        }
        reportedAlertsPerRule = detection.alertsPerRule
        if !alerts.isEmpty { metrics.alerts(byRule: alerts) }
        for (k, queue) in outputs.queues.enumerated() {
            let counts = queue.statistics
            metrics.sinkQueueDepth(counts.queued, sink: queue.sink.name)
            if counts.failedAttempts > reportedSinkFailures[k] {
                metrics.sinkFailures(counts.failedAttempts - reportedSinkFailures[k], sink: queue.sink.name)
                reportedSinkFailures[k] = counts.failedAttempts
            }
            metrics.sinkDeadLettered(total: counts.deadLettered, sink: queue.sink.name)
        }
        publishDetectorStateMetrics()
        if let consumer {
            let committed = consumer.confirmedCommits
            for (partition, high) in consumer.highWatermarks() {
                let position = committed[partition] ?? consumer.watermark.polledRange(partition)?.lowerBound ?? high
                metrics.consumerLag(max(0, high - position), topic: partition.topic, partition: partition.partition)
            }
            for (partition, offset) in committed {
                metrics.committedOffset(offset, topic: partition.topic, partition: partition.partition)
            }
        }
    }

    /// The detector stage's size, every 10 s at most: its memory estimate walks every group, too much for every
    /// half second with millions of them, and scrapes are 15 s or more apart.
    private func publishDetectorStateMetrics() {
        guard let stage = detection.detectors, Date().timeIntervalSince(lastDetectorMetrics) >= 10 else { return }
        lastDetectorMetrics = Date()
        metrics.detectorState(bytes: stage.stateBytes, groups: stage.liveGroups, bufferedRecords: stage.bufferedRecords)
    }

    private func shutDown() {
        // No new webhook deliveries; those not yet acknowledged are answered 503 below (MLflow retries them).
        for server in servers.values { blocking { await server.shutdown() } }
        finishInFlight(before: "stopping")
        if let scaleOut { stopScaleOut(scaleOut) }
        if let consumer {
            // Closing commits what is done and forgets the assignment: keep what was confirmed before.
            statistics.committed = consumer.confirmedCommits
            for error in consumer.close() { log("kafka close: \(error)") }
            statistics.committed.merge(consumer.confirmedCommits) { max($0, $1) }
            statistics.redeliveryWindow = consumer.redeliveryWindow
        }
        publish()
        outputs.close()
        applyCompletions()
        for deliveries in deliveriesOfBatch.values {
            for delivery in deliveries { delivery.answer(DaemonStopping()) }
        }
        for delivery in webhookInbox.takeAll(waiting: 0) { delivery.answer(DaemonStopping()) }
        try? deadLetter.flush()
        try? lateOutput?.flush()
        log("stopped: \(statistics.records) records, \(statistics.events) events, \(statistics.alerts) alerts, "
            + "\(statistics.badRecords) dead-lettered, \(statistics.lateRecords) late for the detectors")
    }

    // MARK: Rule reloads

    private func reloadRules() {
        guard scaleOut == nil else {
            statistics.refusedReloads += 1
            log("rules not reloaded: a scaled-out daemon does not reload its rules yet (every instance must run the same "
                + "correlations and detectors); restart the instances with the new rules")
            return
        }
        do {
            let ruleSet = try Daemon.loadRules(configuration.rules)
            publishMetrics()
            let previous = detection.detectors
            detection = Detection(ruleSet: ruleSet, detectorOptions: detectorOptions)
            carryOverState(from: previous)
            // The new stage knows no idle marks: they are made again at the next check.
            markedIdle.removeAll()
            lastIdleCheck = .distantPast
            reportedAlertsPerRule = detection.alertsPerRule
            statistics.ruleReloads += 1
            log("rules reloaded: \(ruleSet.rules.count) rules")
        } catch {
            statistics.refusedReloads += 1
            log("rules not reloaded, the running rules stay: \(error)")
        }
        ruleFingerprint = Daemon.fingerprint(configuration.rules)
    }

    /// Gives the new rules' detector stage the state of the old one, so a reload does not restart every window.
    private func carryOverState(from previous: DetectorStage?) {
        // A snapshot taken in memory with the old rules is not written; the next one is taken with the new.
        checkpoints?.discardTaken()
        guard let previous, let stage = detection.detectors else { return }
        do {
            let report = try stage.restoreCarryingOver(previous.snapshot(position: statePosition.bytes)).report
            log("state: reloaded rules: \(report)")
        } catch {
            log("state: the detectors start afresh after the reload: \(error)")
        }
    }

    private func watchRules() {
        lastRuleCheck = Date()
        if Daemon.fingerprint(configuration.rules) != ruleFingerprint { reloadRules() }
    }
}

struct DaemonStopping: Error, CustomStringConvertible {
    var description: String { "pipewatch is stopping; deliver again" }
}

extension DaemonConfiguration {
    var detectorOptions: DetectorOptions { DetectorOptions(allowedLateness: Int64(allowedLateness * 1000)) }
}
