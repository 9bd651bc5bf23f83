import Foundation
import NIOCore
import PipewatchInputs
import PipewatchOutput
import PipewatchRules

/// The `pipewatch run` configuration file: inputs, rules, outputs, dead letters and metrics. Every problem is
/// reported as `file:line: reason`, all of them at once (`pipewatch config check`). Relative paths are taken from
/// the configuration file's directory.
///
/// ```yaml
/// inputs:
///   kafka:
///     brokers: kafka-1:9092,kafka-2:9092
///     group: pipewatch
///     topics: [cloudtrail, "^k8s-audit-.*"]      # names, or regular expressions starting with ^
///     properties: {security.protocol: SASL_SSL}  # any librdkafka consumer property
///   files: [archive/2026-11/]                    # read once at start
///   webhook:
///     listen: 127.0.0.1:8080
///     path: /mlflow
///     secrets: [env:MLFLOW_WEBHOOK_SECRET]       # env:NAME, file:PATH, or the secret itself
///     max-connections: 256                       # and header-timeout, body-timeout, connection-idle-timeout,
///     max-body-bytes: 1048576                    # as for every listener (`ListenerLimits`)
/// rules:
///   paths: [rules/]
/// outputs: [cef:syslog+tls://siem.example:6514?ca=ca.pem]
/// dead-letter: records.dead.ndjson               # or kafka://HOST:PORT/TOPIC for a dead-letter topic
/// alert-dead-letter: alerts.dead.ndjson
/// metrics:
///   listen: 127.0.0.1:9108                     # a listener of its own, with its own limits
/// allowed-lateness: 1h                         # event-time detectors: how late a record may arrive
/// idle-timeout: 5m                             # a source with no record this long holds event time back no more
/// late: late.ndjson                            # detector records that arrived behind the release
/// state:                                       # detector state, saved with the Kafka input's position
///   path: pipewatch.state
///   checkpoint-interval: 30s
/// scaling:                                     # N instances, the alerts of one (instead of state:)
///   partitions: 12                             # of the repartition topic (default: the inputs' largest count)
/// ```
public struct DaemonConfiguration: Sendable {
    public struct Kafka: Sendable {
        public var consumer: KafkaConsumerConfig
        /// Messages per poll (one pipeline batch).
        public var maxBatch: Int
    }

    /// What one HTTP listener takes from its clients; each listener has its own.
    public struct ListenerLimits: Sendable, Equatable {
        /// Connections open at once (`max-connections`); more are closed as soon as accepted.
        public var maxConnections: Int
        /// Seconds to receive a request's whole head, from its first byte (`header-timeout`).
        public var headerTimeout: Double
        /// Seconds to receive a request's whole body, from the end of its head (`body-timeout`).
        public var bodyTimeout: Double
        /// Seconds a connection may stay without traffic between requests (`connection-idle-timeout`; not the
        /// top-level `idle-timeout`, which is about sources).
        public var idleTimeout: Double
        /// The largest request body, in bytes (`max-body-bytes`); larger ones are answered 413.
        public var maxBodyBytes: Int

        public init(maxConnections: Int, headerTimeout: Double, bodyTimeout: Double, idleTimeout: Double, maxBodyBytes: Int) {
            self.maxConnections = maxConnections
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.maxBodyBytes = maxBodyBytes
        }

        public static let webhook = ListenerLimits(
            maxConnections: 256, headerTimeout: 10, bodyTimeout: 30, idleTimeout: 60, maxBodyBytes: 1 << 20)
        /// Probes and scrapers: few connections, requests without a body.
        public static let metrics = ListenerLimits(
            maxConnections: 64, headerTimeout: 10, bodyTimeout: 10, idleTimeout: 60, maxBodyBytes: 64 << 10)
    }

    public struct Webhook: Sendable {
        public var host: String
        public var port: Int
        public var limits: ListenerLimits
        public var path: String
        public var secrets: [String]
        /// Seconds a delivery's timestamp may be away from now.
        public var replayWindow: Double
        /// The registry's URL, for the events' `cloud.account`.
        public var registry: String?
    }

    /// Where the detector state is kept across restarts (`state`).
    public struct State: Sendable {
        public var path: String
        /// Seconds between snapshots: the most a restart re-reads, and how far commits may trail.
        public var checkpointInterval: Double
    }

    /// Scale-out with the alerts of one instance (`scaling`): matches the detectors read are re-keyed by entity
    /// through the repartition topic, and each repartition partition's detector state is kept in the changelog topic.
    public struct Scaling: Sendable {
        /// `<group>-repartition` unless named.
        public var repartitionTopic: String
        /// `<group>-changelog` unless named; compacted.
        public var changelogTopic: String
        /// Partitions of both topics when Pipewatch creates them; nil: the input topics' largest partition count.
        public var partitions: Int?
        /// Replication factor of both topics when Pipewatch creates them; -1: the brokers' default.
        public var replication: Int
        /// Seconds between state snapshots to the changelog: how far repartition commits trail.
        public var checkpointInterval: Double
    }

    public struct Rules: Sendable {
        public var paths: [String]
        public var fieldMapping: String?
        public var placeholders: String?
        /// Reload when a rule file changes (SIGHUP always reloads).
        public var watch: Bool
    }

    public var file: String
    public var kafka: Kafka?
    public var files: [String]
    public var webhook: Webhook?
    public var rules: Rules
    public var outputs: [OutputSpecification]
    /// A file, or `kafka://HOST:PORT[,…]/TOPIC[?property=value…]` for a dead-letter topic.
    public var deadLetter: String?
    public var alertDeadLetter: String?
    public var metricsListen: (host: String, port: Int)?
    public var metricsLimits: ListenerLimits
    /// Batches each output may hold before the inputs are paused.
    public var queueCapacity: Int
    public var retry: RetryPolicyConfiguration
    /// How often done offsets are committed, in seconds.
    public var commitInterval: Double
    /// How far behind the latest event time a record may arrive and still be placed in order by the detectors
    /// (seconds; `allowed-lateness`, 1h by default as for replay).
    public var allowedLateness: Double
    /// Seconds of wall clock without a record of a source after which it is idle: it no longer holds the detectors'
    /// release back, until its next record (`idle-timeout`, 5m by default; nil: `off`). When no source sends
    /// anything for this long, event time is carried forward on the wall clock (`DetectorStage.advanceIdle`).
    public var idleTimeout: Double?
    /// NDJSON file for records the detectors got behind the release (`late`); without it they are logged (the first
    /// ten) and counted.
    public var latePath: String?
    /// How long SIGTERM waits for the sinks to acknowledge what is in flight before giving up (uncommitted work is
    /// read again at the next start).
    public var shutdownTimeout: Double
    /// Detector state kept across restarts; nil keeps it in memory only.
    public var state: State?
    /// Scale-out through a repartition topic; nil: one instance's detectors see what its partitions carry.
    public var scaling: Scaling? = nil

    public struct RetryPolicyConfiguration: Sendable {
        public var maxAttempts: Int
        public var initialDelay: Double
        public var maxDelay: Double
    }

    /// Reads and checks the file; throws `DaemonConfigurationError` listing every problem found.
    public static func load(path: String) throws -> DaemonConfiguration {
        // Read as rule files are: at most the YAML size limit, and UTF-8 or refused with the line of the first bad byte.
        let text: String
        do {
            text = try YAMLReader.text(ofFile: path)
        } catch {
            throw DaemonConfigurationError(problems: ["\(path)\(error.line > 0 ? ":\(error.line)" : ""): \(error.reason)"])
        }
        var reader = Reader(file: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let (documents, syntaxError) = YAMLReader.documents(text)
        if let syntaxError { throw DaemonConfigurationError(problems: ["\(path):\(syntaxError.line): \(syntaxError.reason)"]) }
        guard documents.count == 1, let root = documents.first, root.mapping != nil else {
            throw DaemonConfigurationError(problems: ["\(path):1: the configuration must be one YAML map"])
        }
        let configuration = reader.read(root)
        if !reader.problems.isEmpty { throw DaemonConfigurationError(problems: reader.problems) }
        return configuration!
    }
}

public struct DaemonConfigurationError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// Walks the YAML tree, collecting problems instead of stopping at the first.
private struct Reader {
    let file: String
    let directory: String
    var problems: [String] = []

    init(file: String, directory: String) {
        self.file = file
        self.directory = directory
    }

    mutating func problem(_ node: YAMLNode, _ reason: String) { problems.append("\(file):\(node.line): \(reason)") }

    mutating func read(_ root: YAMLNode) -> DaemonConfiguration? {
        checkKeys(root, [
            "inputs", "rules", "outputs", "dead-letter", "alert-dead-letter", "metrics", "delivery", "commit-interval",
            "allowed-lateness", "state", "idle-timeout", "late", "scaling",
        ])
        var kafka: DaemonConfiguration.Kafka?
        var files: [String] = []
        var webhook: DaemonConfiguration.Webhook?
        if let inputs = root["inputs"] {
            checkKeys(inputs, ["kafka", "files", "webhook"])
            if let node = inputs["kafka"] { kafka = readKafka(node) }
            if let node = inputs["files"] { files = strings(node, "files").map(resolve) }
            if let node = inputs["webhook"] { webhook = readWebhook(node) }
            if kafka == nil && files.isEmpty && webhook == nil && inputs["kafka"] == nil && inputs["webhook"] == nil {
                problem(inputs, "no input: name kafka, files or webhook")
            }
        } else {
            problem(root, "missing 'inputs' (kafka, files, webhook)")
        }

        var rules = DaemonConfiguration.Rules(paths: [], fieldMapping: nil, placeholders: nil, watch: true)
        if let node = root["rules"] {
            if node.sequence != nil || node.isScalar {
                rules.paths = strings(node, "rules").map(resolve)
            } else {
                checkKeys(node, ["paths", "field-mapping", "placeholders", "watch"])
                rules.paths = node["paths"].map { strings($0, "paths").map(resolve) } ?? []
                rules.fieldMapping = node["field-mapping"].flatMap { path($0, "field-mapping") }
                rules.placeholders = node["placeholders"].flatMap { path($0, "placeholders") }
                if let watch = node["watch"] {
                    if let value = watch.bool { rules.watch = value } else { problem(watch, "watch must be true or false") }
                }
            }
            if rules.paths.isEmpty { problem(node, "rules: name at least one rule file or directory") }
        } else {
            problem(root, "missing 'rules' (a list of rule files and directories)")
        }

        var outputs: [OutputSpecification] = []
        if let node = root["outputs"] {
            for item in node.sequence ?? [node] {
                guard let text = item.text else {
                    problem(item, "an output is a FORMAT:SINK string, not \(item.kindName)")
                    continue
                }
                do { outputs.append(try OutputSpecification(parsing: resolveFileSink(text))) } catch {
                    problem(item, "\(error)")
                }
            }
        } else {
            outputs = [OutputSpecification(format: .ocsf, destination: .stdout)]
        }

        var metrics: (host: String, port: Int)?
        var metricsLimits = DaemonConfiguration.ListenerLimits.metrics
        if let node = root["metrics"] {
            checkKeys(node, Self.limitKeys.union(["listen"]))
            if let listen = node["listen"] { metrics = address(listen, "metrics.listen") } else { problem(node, "metrics needs listen: HOST:PORT") }
            metricsLimits = readLimits(node, metricsLimits)
            if let listen = node["listen"], let metrics, let webhook, metrics.port != 0,
               metrics.port == webhook.port && metrics.host == webhook.host {
                problem(listen, "metrics.listen must differ from webhook.listen: /healthz and /metrics have a listener "
                    + "of their own, so that a flood of webhook connections cannot starve them")
            }
        }
        var queueCapacity = 64
        var retry = DaemonConfiguration.RetryPolicyConfiguration(maxAttempts: 8, initialDelay: 0.1, maxDelay: 30)
        var shutdownTimeout = 30.0
        if let node = root["delivery"] {
            checkKeys(node, ["queue-capacity", "max-attempts", "initial-delay", "max-delay", "shutdown-timeout"])
            queueCapacity = node["queue-capacity"].flatMap { integer($0, "queue-capacity", 1...100_000) } ?? queueCapacity
            retry.maxAttempts = node["max-attempts"].flatMap { integer($0, "max-attempts", 1...1_000_000) } ?? retry.maxAttempts
            retry.initialDelay = node["initial-delay"].flatMap { seconds($0, "initial-delay") } ?? retry.initialDelay
            retry.maxDelay = node["max-delay"].flatMap { seconds($0, "max-delay") } ?? retry.maxDelay
            shutdownTimeout = node["shutdown-timeout"].flatMap { seconds($0, "shutdown-timeout") } ?? shutdownTimeout
        }
        let commitInterval = root["commit-interval"].flatMap { seconds($0, "commit-interval") } ?? 1
        let allowedLateness = root["allowed-lateness"].flatMap { seconds($0, "allowed-lateness") } ?? 3600
        var idleTimeout: Double? = 300
        if let node = root["idle-timeout"] {
            if node.text == "off" {
                idleTimeout = nil
            } else if let value = seconds(node, "idle-timeout") {
                if value > 0 { idleTimeout = value } else { problem(node, "idle-timeout must be positive (or off)") }
            }
        }
        var state: DaemonConfiguration.State?
        if let node = root["state"] {
            state = readState(node)
            if !files.isEmpty {
                problem(node, "state cannot be kept with file inputs, which are read whole at every start "
                    + "(checkpoint a replay of files with 'pipewatch replay --state')")
            }
        }

        var scaling: DaemonConfiguration.Scaling?
        if let node = root["scaling"] {
            scaling = readScaling(node, group: kafka?.consumer.groupID ?? "pipewatch")
            if kafka == nil { problem(node, "scaling needs a Kafka input (inputs.kafka): instances share its consumer group") }
            if !files.isEmpty { problem(node, "scaling cannot read files: every instance would read them whole") }
            if let state = root["state"] {
                problem(state, "state: and scaling: exclude each other: a scaled-out daemon keeps its detector state "
                    + "in the changelog topic")
            }
        }

        guard problems.isEmpty else { return nil }
        var configuration = DaemonConfiguration(
            file: file, kafka: kafka, files: files, webhook: webhook, rules: rules, outputs: outputs,
            deadLetter: root["dead-letter"].flatMap { deadLetterDestination($0) },
            alertDeadLetter: root["alert-dead-letter"].flatMap { path($0, "alert-dead-letter") },
            metricsListen: metrics, metricsLimits: metricsLimits, queueCapacity: queueCapacity, retry: retry,
            commitInterval: commitInterval, allowedLateness: allowedLateness, idleTimeout: idleTimeout,
            latePath: root["late"].flatMap { path($0, "late") }, shutdownTimeout: shutdownTimeout, state: state)
        configuration.scaling = scaling
        return configuration
    }

    /// `scaling: {repartition-topic, changelog-topic, partitions, replication, checkpoint-interval}`, each optional.
    mutating func readScaling(_ node: YAMLNode, group: String) -> DaemonConfiguration.Scaling? {
        var scaling = DaemonConfiguration.Scaling(
            repartitionTopic: group + "-repartition", changelogTopic: group + "-changelog", partitions: nil,
            replication: -1, checkpointInterval: 10)
        if node.isScalar && node.bool == true { return scaling }
        checkKeys(node, ["repartition-topic", "changelog-topic", "partitions", "replication", "checkpoint-interval"])
        for (key, name) in [("repartition-topic", \DaemonConfiguration.Scaling.repartitionTopic), ("changelog-topic", \.changelogTopic)] {
            guard let value = node[key] else { continue }
            guard let topic = text(value, key) else { continue }
            if let reason = KafkaSinkConfiguration.topicProblem(topic) { problem(value, "\(key): \(reason)") }
            scaling[keyPath: name] = topic
        }
        if scaling.repartitionTopic == scaling.changelogTopic {
            problem(node, "the repartition and changelog topics must differ")
        }
        scaling.partitions = node["partitions"].flatMap { integer($0, "partitions", 1...100_000) }
        scaling.replication = node["replication"].flatMap { integer($0, "replication", 1...32) } ?? -1
        scaling.checkpointInterval = node["checkpoint-interval"].flatMap { seconds($0, "checkpoint-interval") } ?? 10
        return scaling
    }

    /// `state: PATH`, or `state: {path: PATH, checkpoint-interval: 30s}`.
    mutating func readState(_ node: YAMLNode) -> DaemonConfiguration.State? {
        if node.isScalar { return path(node, "state").map { .init(path: $0, checkpointInterval: 30) } }
        checkKeys(node, ["path", "checkpoint-interval"])
        let interval = node["checkpoint-interval"].flatMap { seconds($0, "checkpoint-interval") } ?? 30
        guard let pathNode = node["path"] else {
            problem(node, "state needs path: the file that keeps the detector state")
            return nil
        }
        return path(pathNode, "state.path").map { .init(path: $0, checkpointInterval: interval) }
    }

    mutating func readKafka(_ node: YAMLNode) -> DaemonConfiguration.Kafka? {
        checkKeys(node, ["brokers", "group", "topics", "properties", "max-batch", "max-record-bytes"])
        let brokers = node["brokers"].flatMap { text($0, "brokers") }
        let group = node["group"].flatMap { text($0, "group") }
        let topics = node["topics"].map { strings($0, "topics") } ?? []
        if brokers == nil { problem(node, "kafka needs brokers: HOST:PORT[,HOST:PORT…]") }
        if group == nil { problem(node, "kafka needs group: the consumer group id") }
        if topics.isEmpty { problem(node, "kafka needs topics: a list of topic names or ^regular expressions") }
        var properties: [(String, String)] = []
        if let node = node["properties"] {
            if let pairs = node.mapping {
                for (key, value) in pairs {
                    guard let name = key.text, let text = value.text else {
                        problem(key, "a Kafka property is NAME: VALUE")
                        continue
                    }
                    if KafkaConsumerConfig.refused.contains(name) {
                        problem(key, "the Kafka property \(name) cannot be set: offsets are committed only after the alerts are delivered")
                    }
                    properties.append((name, text))
                }
            } else {
                problem(node, "properties must be a map of librdkafka properties")
            }
        }
        let maxBatch = node["max-batch"].flatMap { integer($0, "max-batch", 1...1_000_000) } ?? 10_000
        let maxRecordBytes = node["max-record-bytes"].flatMap { integer($0, "max-record-bytes", 1024...(1 << 30)) } ?? (16 << 20)
        guard let brokers, let group, !topics.isEmpty else { return nil }
        var consumer = KafkaConsumerConfig(bootstrapServers: brokers, groupID: group, topics: topics, properties: properties)
        consumer.maxRecordBytes = maxRecordBytes
        return DaemonConfiguration.Kafka(consumer: consumer, maxBatch: maxBatch)
    }

    static let limitKeys: Set<String> = [
        "max-connections", "header-timeout", "body-timeout", "connection-idle-timeout", "max-body-bytes",
    ]

    /// A listener's limits, each key in `node` replacing its default.
    mutating func readLimits(_ node: YAMLNode, _ defaults: DaemonConfiguration.ListenerLimits) -> DaemonConfiguration.ListenerLimits {
        var limits = defaults
        limits.maxConnections = node["max-connections"].flatMap { integer($0, "max-connections", 1...1_000_000) } ?? limits.maxConnections
        limits.maxBodyBytes = node["max-body-bytes"].flatMap { integer($0, "max-body-bytes", 1024...(1 << 30)) } ?? limits.maxBodyBytes
        let timeouts: [(String, WritableKeyPath<DaemonConfiguration.ListenerLimits, Double>)] = [
            ("header-timeout", \.headerTimeout), ("body-timeout", \.bodyTimeout), ("connection-idle-timeout", \.idleTimeout),
        ]
        for (key, value) in timeouts {
            guard let timeout = node[key] else { continue }
            guard let seconds = seconds(timeout, key) else { continue }
            if seconds > 0 { limits[keyPath: value] = seconds } else { problem(timeout, "\(key) must be longer than 0") }
        }
        return limits
    }

    mutating func readWebhook(_ node: YAMLNode) -> DaemonConfiguration.Webhook? {
        checkKeys(node, Self.limitKeys.union(["listen", "path", "secrets", "replay-window", "registry"]))
        let listen = node["listen"].flatMap { address($0, "webhook.listen") }
        if node["listen"] == nil { problem(node, "webhook needs listen: HOST:PORT") }
        var secrets: [String] = []
        for item in node["secrets"].map({ $0.sequence ?? [$0] }) ?? [] {
            guard let text = item.text else {
                problem(item, "a secret is env:NAME, file:PATH or the secret itself")
                continue
            }
            if let secret = secret(text, item) { secrets.append(secret) }
        }
        if node["secrets"] == nil { problem(node, "webhook needs secrets: MLflow deliveries are accepted only when signed") }
        let path = node["path"].flatMap { text($0, "path") } ?? "/mlflow"
        if !path.hasPrefix("/") { problem(node["path"]!, "path must start with /") }
        let window = node["replay-window"].flatMap { seconds($0, "replay-window") } ?? 300
        let limits = readLimits(node, .webhook)
        guard let listen, !secrets.isEmpty else { return nil }
        return DaemonConfiguration.Webhook(
            host: listen.host, port: listen.port, limits: limits, path: path, secrets: secrets, replayWindow: window,
            registry: node["registry"].flatMap { text($0, "registry") })
    }

    /// A file path, or a Kafka topic URL checked now.
    mutating func deadLetterDestination(_ node: YAMLNode) -> String? {
        guard let text = text(node, "dead-letter") else { return nil }
        guard text.hasPrefix("kafka://") else { return resolve(text) }
        do { _ = try KafkaSinkConfiguration(parsing: text) } catch {
            problem(node, "dead-letter: \(error)")
            return nil
        }
        return text
    }

    mutating func secret(_ text: String, _ node: YAMLNode) -> String? {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                problem(node, "environment variable \(name) is not set")
                return nil
            }
            return value
        }
        if text.hasPrefix("file:") {
            let path = resolve(String(text.dropFirst(5)))
            guard let data = FileManager.default.contents(atPath: path) else {
                problem(node, "cannot read the secret file \(path)")
                return nil
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return text
    }

    // MARK: Scalars

    mutating func checkKeys(_ node: YAMLNode, _ known: Set<String>) {
        guard let pairs = node.mapping else {
            problem(node, "expected a map with \(known.sorted().joined(separator: ", ")), found \(node.kindName)")
            return
        }
        for (key, _) in pairs where !known.contains(key.text ?? "") {
            problem(key, "unknown key '\(key.text ?? "")' (expected \(known.sorted().joined(separator: ", ")))")
        }
    }

    mutating func text(_ node: YAMLNode, _ name: String) -> String? {
        guard let text = node.text, !text.isEmpty else {
            problem(node, "\(name) must be a text, found \(node.kindName)")
            return nil
        }
        return text
    }

    mutating func strings(_ node: YAMLNode, _ name: String) -> [String] {
        (node.sequence ?? [node]).compactMap { text($0, name) }
    }

    mutating func path(_ node: YAMLNode, _ name: String) -> String? { text(node, name).map(resolve) }

    mutating func integer(_ node: YAMLNode, _ name: String, _ range: ClosedRange<Int>) -> Int? {
        guard let text = node.text, let value = Int(text), range.contains(value) else {
            problem(node, "\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return value
    }

    /// Seconds: a number, or a number with `ms`, `s`, `m` or `h`.
    mutating func seconds(_ node: YAMLNode, _ name: String) -> Double? {
        guard let text = node.text else {
            problem(node, "\(name) must be a duration such as 500ms, 30s or 5m")
            return nil
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * factor }
        }
        if let value = Double(text), value >= 0 { return value }
        problem(node, "\(name) must be a duration such as 500ms, 30s or 5m")
        return nil
    }

    mutating func address(_ node: YAMLNode, _ name: String) -> (host: String, port: Int)? {
        guard let text = node.text, let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            problem(node, "\(name) must be HOST:PORT")
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") || path == "-" ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).path
    }

    /// `FORMAT:file:PATH` with a relative PATH is taken from the configuration file's directory.
    func resolveFileSink(_ text: String) -> String {
        guard let colon = text.firstIndex(of: ":") else { return text }
        let sink = text[text.index(after: colon)...]
        guard sink.hasPrefix("file:"), !sink.dropFirst(5).hasPrefix("/") else { return text }
        return text[...colon] + "file:" + resolve(String(sink.dropFirst(5)))
    }
}

extension HTTPServer.Configuration {
    /// The server of one of the daemon's listeners.
    init(name: String, host: String, port: Int, limits: DaemonConfiguration.ListenerLimits) {
        func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }
        self.init(
            host: host, port: port, name: name, maxBodyBytes: limits.maxBodyBytes,
            headerTimeout: amount(limits.headerTimeout), bodyTimeout: amount(limits.bodyTimeout),
            idleTimeout: amount(limits.idleTimeout), maxConnections: limits.maxConnections)
    }
}
