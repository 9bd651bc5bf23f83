import ArgumentParser
import CRdKafka
import Foundation

/// `pipewatch-bench daemon`: the daemon end to end. librdkafka's mock cluster (a Kafka protocol broker in this
/// process) is filled with the corpus, then `pipewatch run` consumes it through the rules to a file sink; the rate is
/// taken from the first alert bytes in the file to the last, and from the daemon's record counter.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Measure `pipewatch run` from a pre-filled Kafka mock cluster through the rules to a file sink.")

    @Argument(help: "Corpus file (NDJSON, one record per Kafka message).")
    var corpus: String

    @Option(name: .customLong("rules"), help: "Rule directory the daemon loads.")
    var rules: String

    @Option(help: "The pipewatch executable.")
    var pipewatch = ".build/release/pipewatch"

    @Option(help: "Partitions of the topic (default: one per 2.5 MB of corpus, at least 4; the mock cluster keeps only about the last 5 MB of each partition).")
    var partitions: Int32?

    @Option(help: "Working directory for the configuration, the alerts file and the logs (created).")
    var workdir: String

    @Option(help: "Messages per poll (the daemon's inputs.kafka.max-batch).")
    var maxBatch = 10000

    @Option(help: "The file sink's fsync: batch (every batch of alerts fsync'd before it counts as delivered) or none.")
    var fsync = "batch"

    @Option(help: "Pin the daemon to these cores (taskset -c), e.g. 0; the mock cluster stays on the others.")
    var core: String?

    @Option(help: "Give up after this many seconds of consuming.")
    var timeout: Double = 300

    func run() throws {
        let workURL = URL(fileURLWithPath: workdir).standardizedFileURL
        try? FileManager.default.removeItem(at: workURL)
        try FileManager.default.createDirectory(at: workURL, withIntermediateDirectories: true)
        let messages = try Self.lines(of: corpus)
        let bytes = messages.reduce(0) { $0 + $1.count }

        let cluster = try MockCluster()
        let topic = "cloudtrail-bench"
        // librdkafka's mock drops a partition's oldest segments past about 5 MB: spread the corpus so none is lost.
        let partitions = self.partitions ?? Int32(max(4, bytes / 2_500_000 + 1))
        try cluster.createTopic(topic, partitions: partitions)
        let produceStart = DispatchTime.now().uptimeNanoseconds
        try cluster.produce(topic, messages)
        printLine(String(
            format: "daemon: %d messages (%.1f MB) produced to %@ (%d partitions) in %.2f s", messages.count,
            Double(bytes) / 1e6, topic, partitions, Self.seconds(since: produceStart)))

        let alerts = workURL.appendingPathComponent("alerts.ndjson").path
        let metricsPort = try Self.freePort()
        let configuration = workURL.appendingPathComponent("pipewatch.yaml").path
        try """
            inputs:
              kafka:
                brokers: \(cluster.bootstrapServers)
                group: pipewatch-bench
                topics: [\(topic)]
                max-batch: \(maxBatch)
                properties:
                  log_level: "3"
            rules:
              paths: [\(URL(fileURLWithPath: rules).standardizedFileURL.path)]
              watch: false
            outputs:
              - "ocsf:file:\(alerts)?fsync=\(fsync)"
            dead-letter: \(workURL.appendingPathComponent("dead.ndjson").path)
            alert-dead-letter: \(workURL.appendingPathComponent("alerts.dead.ndjson").path)
            metrics: {listen: "127.0.0.1:\(metricsPort)"}
            commit-interval: 1s

            """.write(toFile: configuration, atomically: true, encoding: .utf8)

        let daemon = Process()
        if let core {
            daemon.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            daemon.arguments = ["-c", core, pipewatch, "run", "--config", configuration]
        } else {
            daemon.executableURL = URL(fileURLWithPath: pipewatch)
            daemon.arguments = ["run", "--config", configuration]
        }
        let log = FileHandle(forWritingAtPath: {
            let path = workURL.appendingPathComponent("daemon.log").path
            FileManager.default.createFile(atPath: path, contents: nil)
            return path
        }())!
        daemon.standardError = log
        daemon.standardOutput = log
        let started = DispatchTime.now().uptimeNanoseconds
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
        }

        // Poll the alerts file's size every 5 ms (a stat) and the record counter, which the daemon publishes twice a
        // second, every 200 ms: this process must not take the CPU the daemon is measured on.
        var firstGrowth: UInt64?
        var lastGrowth: UInt64 = 0
        var lastSize: Int64 = 0
        var records = 0
        var allRecordsAt: UInt64?
        var firstRecordsAt: UInt64?
        var lastPoll: UInt64 = 0
        while daemon.isRunning {
            let now = DispatchTime.now().uptimeNanoseconds
            let size = Self.fileSize(alerts)
            if size > lastSize {
                if firstGrowth == nil { firstGrowth = now }
                lastGrowth = now
                lastSize = size
            }
            if now - lastPoll > 200_000_000 {
                lastPoll = now
                if let counted = Self.recordsTotal(port: metricsPort) {
                    records = counted
                    if records > 0 && firstRecordsAt == nil { firstRecordsAt = now }
                    if records >= messages.count && allRecordsAt == nil { allRecordsAt = now }
                }
            }
            // Done once every record is counted and the file has not grown for two seconds.
            if let allRecordsAt, now > allRecordsAt, now - max(lastGrowth, allRecordsAt) > 2_000_000_000 { break }
            if Self.seconds(since: started) > timeout {
                let kafka = (Self.httpGet(port: metricsPort, path: "/metrics") ?? "").split(separator: "\n")
                    .filter { $0.hasPrefix("pipewatch_kafka") || $0.hasPrefix("pipewatch_sink_queue") }.joined(separator: "\n")
                throw ValidationError("timed out after \(Int(timeout)) s: \(records) of \(messages.count) records counted\n\(kafka)")
            }
            usleep(5_000)
        }
        guard !daemon.isRunning || records >= messages.count else {
            throw ValidationError("pipewatch run exited with status \(daemon.terminationStatus); see \(workdir)/daemon.log")
        }
        let cpu = Self.cpuSeconds(of: daemon.processIdentifier)
        daemon.terminate()
        daemon.waitUntilExit()
        if let firstRecordsAt, let allRecordsAt, allRecordsAt > firstRecordsAt {
            let span = Double(allRecordsAt - firstRecordsAt) / 1e9
            printLine(String(
                format: "daemon: record counter from first records to all %d: %.2f s: %.0f records/s (the counter is published twice a second)",
                messages.count, span, Double(messages.count) / span))
        }
        if let cpu {
            printLine(String(format: "daemon: %.2f s of CPU in all (start, group join, waiting included): %.0f records per CPU second", cpu, Double(messages.count) / cpu))
        }
        let alertCount = try Self.lines(of: alerts).count
        guard let firstGrowth else { throw ValidationError("no alert was written to \(alerts)") }
        let span = Double(lastGrowth - firstGrowth) / 1e9
        printLine(String(
            format: "daemon: %d records counted, %d alerts in the file; first to last alert write %.2f s: %.0f records/s, %.0f MB/s (%.2f s from start, group join included)",
            records, alertCount, span, Double(messages.count) / span, Double(bytes) / 1e6 / span,
            Double(lastGrowth - started) / 1e9))
    }

    /// User + system CPU seconds of a running process, from /proc (Linux), or nil.
    static func cpuSeconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3, utime 14 and stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    static func lines(of path: String) throws -> [Data] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.split(separator: 0x0A, omittingEmptySubsequences: true).map { Data($0) }
    }

    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// A loopback port free at this moment.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ValidationError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The sum of `pipewatch_records_total` over sources from the daemon's /metrics, or nil while it does not answer.
    static func recordsTotal(port: Int) -> Int? {
        guard let body = httpGet(port: port, path: "/metrics") else { return nil }
        var total = 0
        for line in body.split(separator: "\n") where line.hasPrefix("pipewatch_records_total{") {
            if let value = line.split(separator: " ").last, let number = Double(value) { total += Int(number) }
        }
        return total
    }

    static func httpGet(port: Int, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { return nil }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[split.upperBound...])
    }
}

/// librdkafka's mock cluster, started on a producer handle of its own, and a producer that fills it.
final class MockCluster {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    private let producer: OpaquePointer
    let bootstrapServers: String

    init() throws {
        var errstr = [CChar](repeating: 0, count: 512)
        let ownerConf = rd_kafka_conf_new()
        rd_kafka_conf_set(ownerConf, "log_level", "3", &errstr, errstr.count)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, ownerConf, &errstr, errstr.count) else {
            throw ValidationError("librdkafka: " + String(cString: errstr))
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, 1) else {
            rd_kafka_destroy(owner)
            throw ValidationError("cannot start the librdkafka mock cluster")
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        let conf = rd_kafka_conf_new()
        for (key, value) in [("bootstrap.servers", bootstrapServers), ("linger.ms", "5"), ("log_level", "3"), ("batch.size", "262144"),
                             ("queue.buffering.max.messages", "1000000"), ("batch.num.messages", "10000")] {
            rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
        }
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_mock_cluster_destroy(cluster)
            rd_kafka_destroy(owner)
            throw ValidationError("librdkafka: " + String(cString: errstr))
        }
        self.owner = owner
        self.cluster = cluster
        self.producer = producer
    }

    deinit {
        rd_kafka_destroy(producer)
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    func createTopic(_ name: String, partitions: Int32) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw ValidationError("cannot create topic \(name)") }
    }

    /// Produces every message, spread over the partitions in turn, and waits until all are delivered.
    func produce(_ topic: String, _ messages: [Data]) throws {
        guard let handle = rd_kafka_topic_new(producer, topic, nil) else { throw ValidationError("topic handle") }
        defer { rd_kafka_topic_destroy(handle) }
        var partitionCount: Int32 = 1
        var metadata: UnsafePointer<rd_kafka_metadata>?
        if rd_kafka_metadata(producer, 0, handle, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
            if metadata.pointee.topic_cnt > 0 { partitionCount = max(1, metadata.pointee.topics[0].partition_cnt) }
            rd_kafka_metadata_destroy(metadata)
        }
        for (index, message) in messages.enumerated() {
            let partition = Int32(index % Int(partitionCount))
            while true {
                let result = message.withUnsafeBytes { payload in
                    rd_kafka_produce(handle, partition, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: payload.baseAddress),
                                     payload.count, nil, 0, nil)
                }
                if result == 0 { break }
                rd_kafka_poll(producer, 10)  // queue full: let deliveries drain
            }
            if index % 1000 == 0 { rd_kafka_poll(producer, 0) }
        }
        let err = rd_kafka_flush(producer, 120_000)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ValidationError("flush: " + String(cString: rd_kafka_err2str(err)))
        }
    }
}
