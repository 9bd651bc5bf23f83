import Foundation
import PipewatchEvents
import PipewatchOutput
import PipewatchRules

/// `pipewatch run`: the long-running SIGTERM-safe pipeline. One pipeline thread reads the inputs in batches (a Kafka
/// poll, a file chunk, the webhook deliveries waiting), decodes, evaluates the rules and hands the alerts of each
/// batch to the outputs. Kafka offsets are committed only up to the contiguous watermark of records whose alerts
/// every output has acknowledged, so a crash re-reads (duplicates) but never skips. Scale-out is Kafka's: more
/// instances in the same consumer group.
public final class Daemon: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    /// Lines for the operator (stderr by default).
    public var log: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data("pipewatch: \(line)\n".utf8))
    }

    private var detection: Detection
    private let outputs: AlertOutputs
    private let deadLetter: DeadLetterOutput
    private let decoder = EventDecoder()
    private var consumer: KafkaConsumer?

    /// Set from any thread (signal handlers, the rule watcher); acted on by the pipeline thread between batches.
    private let flags = Flags()
    /// Batches every output acknowledged, waiting for the pipeline thread to mark their records done.
    private let completed = CompletedBatches()
    /// The Kafka records behind each batch in flight.
    private var recordsOfBatch: [UInt64: [KafkaRecordSource]] = [:]
    private var nextBatch: UInt64 = 0
    private var lastCommit = Date()
    private var ruleFingerprint: [String: Date]
    private var lastRuleCheck = Date()

    /// What the daemon did so far; kept by the pipeline thread, published after each batch.
    private var statistics = Statistics()
    private let published = PublishedStatistics()

    public struct Statistics: Sendable {
        public var records = 0
        public var events = 0
        public var badRecords = 0
        public var alerts = 0
        public var batches = 0
        public var ruleReloads = 0
        public var refusedReloads = 0
        /// Times the Kafka input paused because an output's queue was full.
        public var pauses = 0
        public var rules = 0
        /// The offsets the group coordinator confirmed committed (the next offset to read, per partition).
        public var committed: [KafkaTopicPartition: Int64] = [:]
        public var assignment: Set<KafkaTopicPartition> = []
        /// See `KafkaConsumer.redeliveryWindow`: the bound on records a rebalance may make another member re-read.
        public var redeliveryWindow: Int64 = 0
    }

    /// A consistent copy of the statistics, from any thread.
    public var currentStatistics: Statistics { published.value }

    public init(configuration: DaemonConfiguration) throws {
        self.configuration = configuration
        let ruleSet = try Daemon.loadRules(configuration.rules)
        detection = Detection(ruleSet: ruleSet)
        ruleFingerprint = Daemon.fingerprint(configuration.rules)
        deadLetter = DeadLetterOutput(file: try configuration.deadLetter.map { try OutputFile(path: $0) })
        let completed = completed
        outputs = try AlertOutputs(
            configuration.outputs, deadLetterPath: configuration.alertDeadLetter,
            queueCapacity: configuration.queueCapacity,
            retry: RetryPolicy(
                maxAttempts: configuration.retry.maxAttempts, initialDelay: configuration.retry.initialDelay,
                maxDelay: configuration.retry.maxDelay),
            onBatchComplete: { completed.add($0) })
    }

    /// Compiles the configured rules; throws with every problem if any rule file is bad.
    public static func loadRules(_ rules: DaemonConfiguration.Rules) throws -> RuleSet {
        var mapping = FieldMapping.sigmaDefault
        let placeholders: Placeholders
        do {
            if let path = rules.fieldMapping { mapping = mapping.overridden(by: try FieldMapping.load(path: path)) }
            placeholders = try rules.placeholders.map { try Placeholders.load(path: $0) } ?? .none
        } catch {
            throw DaemonConfigurationError(problems: ["\(error)"])
        }
        let ruleSet = RuleSet(
            paths: rules.paths,
            options: RuleLoadOptions(fieldMapping: mapping, placeholders: placeholders, skipUnsupported: true))
        guard ruleSet.problems.isEmpty else {
            throw DaemonConfigurationError(problems: ruleSet.problems.map(\.description))
        }
        return ruleSet
    }

    // MARK: Control (any thread)

    /// Finish the batch in hand, wait for the sinks, commit and return from `run`.
    public func requestStop() { flags.set(\.stop) }

    /// Recompile the rules between two batches; a rule set that fails keeps the old one running.
    public func requestReload() { flags.set(\.reload) }

    /// Whether the daemon is ready: rules loaded and, with a Kafka input, partitions assigned.
    public var isReady: Bool { flags.get(\.ready) }

    // MARK: The pipeline thread

    /// Runs until `requestStop` (or, with only file inputs, until they are read). Throws on a fatal input error.
    public func run() throws {
        log("rules: \(detection.ruleSet.rules.count) loaded; outputs: "
            + outputs.queues.map(\.sink.name).joined(separator: ", "))
        if let kafka = configuration.kafka {
            let consumer = try KafkaConsumer(kafka.consumer)
            consumer.beforeRevoke = { [unowned self] partitions in self.finishInFlight(before: "revoking \(partitions.count) partition(s)") }
            self.consumer = consumer
        }
        if !configuration.files.isEmpty { try readFiles() }
        if consumer == nil {
            // Nothing else to read: a run over files ends with them.
            flags.set(\.stop)
            flags.set(\.ready)
        }
        while !flags.get(\.stop) {
            if flags.take(\.reload) { reloadRules() }
            if configuration.rules.watch && Date().timeIntervalSince(lastRuleCheck) >= 2 { watchRules() }
            applyCompletions()
            commitIfDue()
            if let consumer, let kafka = configuration.kafka {
                try pollKafka(consumer, maxMessages: kafka.maxBatch)
            }
            publish()
        }
        shutDown()
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
                flags.set(\.ready)
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
        let chunk = batch.chunk
        decoder.decode(chunk)
        for failure in decoder.failures {
            let record = chunk.records[failure.record]
            let source = batch.sources[failure.record]
            try deadLetter.write(
                reason: failure.reason, stage: failure.stage.rawValue, input: "kafka:\(source.partition)", line: 0,
                offset: source.offset, raw: UnsafeBufferPointer(start: chunk.bytes + record.start, count: record.count))
        }
        // The dead letters are durable before their records can be committed.
        if !decoder.failures.isEmpty { try deadLetter.flush() }
        nextBatch += 1
        recordsOfBatch[nextBatch] = batch.sources
        evaluateAndSubmit(batch: nextBatch, records: batch.count)
    }

    private func readFiles() throws {
        let replay = FileReplay(deadLetter: deadLetter, showProgress: false)
        let stats = try replay.run(configuration.files) { decoder, _ in
            nextBatch += 1
            evaluate(decoder)
            statistics.records += decoder.events.count + decoder.failures.count
            outputs.submit(batch: nextBatch)
        }
        statistics.badRecords += stats.badRecords
        for error in stats.inputErrors { log("input: \(error)") }
        log("files: \(stats.records) records, \(stats.badRecords) dead-lettered")
    }

    private func evaluateAndSubmit(batch: UInt64, records: Int) {
        statistics.records += records
        statistics.badRecords += decoder.failures.count
        evaluate(decoder)
        // Blocks only if a queue filled up since the check before the poll.
        outputs.submit(batch: batch)
    }

    private func evaluate(_ decoder: EventDecoder) {
        statistics.events += decoder.events.count
        statistics.batches += 1
        detection.evaluate(decoder) { alert in
            statistics.alerts += 1
            outputs.append(alert)
        }
    }

    /// Marks the records of every acknowledged batch done.
    private func applyCompletions() {
        let ids = completed.takeAll()
        guard let consumer else { return }
        for id in ids {
            guard let sources = recordsOfBatch.removeValue(forKey: id) else { continue }
            for source in sources { consumer.watermark.markDone(source.partition, offset: source.offset) }
        }
    }

    private func commitIfDue(force: Bool = false) {
        guard let consumer, force || Date().timeIntervalSince(lastCommit) >= configuration.commitInterval else { return }
        lastCommit = Date()
        do { try consumer.commitDone() } catch { log("commit: \(error)") }
    }

    /// Waits (bounded) for the sinks to acknowledge what is in flight and marks it done, so that a commit made now
    /// covers it: on revocation and at shutdown.
    private func finishInFlight(before what: String) {
        if !outputs.drain(until: Date().addingTimeInterval(configuration.shutdownTimeout)) {
            log("\(what): the outputs did not acknowledge everything within \(configuration.shutdownTimeout) s; "
                + "the unacknowledged records stay uncommitted and are read again")
        }
        applyCompletions()
    }

    private func publish() {
        statistics.rules = detection.ruleSet.rules.count
        if let consumer {
            statistics.committed = consumer.confirmedCommits
            statistics.assignment = consumer.assignment
            statistics.redeliveryWindow = consumer.redeliveryWindow
        }
        published.value = statistics
    }

    private func shutDown() {
        finishInFlight(before: "stopping")
        if let consumer {
            // Closing commits what is done and forgets the assignment: keep what was confirmed before.
            statistics.committed = consumer.confirmedCommits
            for error in consumer.close() { log("kafka close: \(error)") }
            statistics.committed.merge(consumer.confirmedCommits) { max($0, $1) }
            statistics.redeliveryWindow = consumer.redeliveryWindow
        }
        publish()
        outputs.close()
        try? deadLetter.flush()
        log("stopped: \(statistics.records) records, \(statistics.events) events, \(statistics.alerts) alerts, "
            + "\(statistics.badRecords) dead-lettered")
    }

    // MARK: Rule reloads

    private func reloadRules() {
        do {
            let ruleSet = try Daemon.loadRules(configuration.rules)
            detection = Detection(ruleSet: ruleSet)
            statistics.ruleReloads += 1
            log("rules reloaded: \(ruleSet.rules.count) rules")
        } catch {
            statistics.refusedReloads += 1
            log("rules not reloaded, the running rules stay: \(error)")
        }
        ruleFingerprint = Daemon.fingerprint(configuration.rules)
    }

    private func watchRules() {
        lastRuleCheck = Date()
        if Daemon.fingerprint(configuration.rules) != ruleFingerprint { reloadRules() }
    }

    /// Modification time of every rule file, mapping and placeholder file.
    static func fingerprint(_ rules: DaemonConfiguration.Rules) -> [String: Date] {
        var times: [String: Date] = [:]
        let files = InputPaths.expand(rules.paths).files + [rules.fieldMapping, rules.placeholders].compactMap { $0 }
        for file in files {
            times[file] = (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date) ?? .distantPast
        }
        return times
    }
}

/// Boolean flags shared between threads.
private final class Flags: @unchecked Sendable {
    struct Values {
        var stop = false
        var reload = false
        var ready = false
    }

    private let lock = NSLock()
    private var values = Values()

    func set(_ flag: WritableKeyPath<Values, Bool>) { lock.withLock { values[keyPath: flag] = true } }
    func get(_ flag: KeyPath<Values, Bool>) -> Bool { lock.withLock { values[keyPath: flag] } }

    /// Reads and clears.
    func take(_ flag: WritableKeyPath<Values, Bool>) -> Bool {
        lock.withLock {
            defer { values[keyPath: flag] = false }
            return values[keyPath: flag]
        }
    }
}

/// Ids of batches the outputs acknowledged, handed from the sink threads to the pipeline thread.
private final class CompletedBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [UInt64] = []

    func add(_ id: UInt64) { lock.withLock { ids.append(id) } }

    func takeAll() -> [UInt64] {
        lock.withLock {
            defer { ids.removeAll(keepingCapacity: true) }
            return ids
        }
    }
}

/// The statistics as last published by the pipeline thread.
private final class PublishedStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var statistics = Daemon.Statistics()

    var value: Daemon.Statistics {
        get { lock.withLock { statistics } }
        set { lock.withLock { statistics = newValue } }
    }
}
