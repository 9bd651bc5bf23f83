import Foundation
import PipewatchDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's listeners under a flood: `pipewatch run` as a child process with the default limits, flooded by
/// slow clients on 127.0.0.1. Each client is bounded and stops by itself.
@Suite(.serialized) struct DaemonListenerTests {
    static let rule = repositoryRoot.appendingPathComponent(
        "rules/mlflow/webhook/mlflow_model_version_registered_from_external_source.yml")

    /// A webhook and a metrics listener on fixed loopback ports, the limits left to their defaults.
    static func configuration(_ dir: TemporaryDirectory) throws -> (path: String, webhook: Int, metrics: Int) {
        try dir.write("rules/rule.yml", try String(contentsOf: rule, encoding: .utf8))
        let webhook = Int(try Loopback.freePort())
        var metrics = Int(try Loopback.freePort())
        while metrics == webhook { metrics = Int(try Loopback.freePort()) }
        let path = try dir.write("pipewatch.yaml", """
            inputs:
              webhook:
                listen: 127.0.0.1:\(webhook)
                path: /mlflow
                secrets: [whsec-right]
            rules: {paths: [rules/], watch: false}
            outputs: ["ocsf:file:alerts.ndjson"]
            metrics: {listen: "127.0.0.1:\(metrics)"}
            """)
        return (path, webhook, metrics)
    }

    /// `pipewatch run` under `ulimit` (shell syntax, e.g. "-Sn 200").
    static func startDaemon(config: String, ulimit: String, stderr: String) throws -> ChildProcess {
        try ChildProcess("sh", [
            "-c", "ulimit \(ulimit) && exec \"$0\" run --config \"$1\"", PipewatchExecutable.url.path, config,
        ], stderr: stderr)
    }

    /// The process's CPU seconds over `seconds` of wall time.
    static func cpuSeconds(of pid: pid_t, over seconds: Double) async throws -> Double {
        let before = try #require(ChildUsage.cpuSeconds(pid))
        try await Task.sleep(for: .seconds(seconds))
        return try #require(ChildUsage.cpuSeconds(pid)) - before
    }

    /// 400 clients each sending one header line every 2 s: the default cap (256) admits 256 and closes the rest
    /// at once; the admitted ones are cut at the default header timeout (10 s); `/healthz` on the metrics listener
    /// answers throughout; the process does not spin. The soft open-file limit (200 here) is raised to cover the
    /// caps. Without the cap the flood used up the descriptors: /healthz stopped answering and the event loops
    /// spun on accept failing with EMFILE.
    @Test(.timeLimit(.minutes(3)))
    func aFloodOfSlowClientsIsCappedCutOffAndHealthzStillAnswers() async throws {
        let dir = try TemporaryDirectory()
        let (config, webhook, metrics) = try Self.configuration(dir)
        let daemon = try Self.startDaemon(config: config, ulimit: "-Sn 200", stderr: dir.path("stderr"))
        #expect(await TestClients.blocking { Loopback.waitUntilAccepting(UInt16(metrics), seconds: 60) { daemon.isRunning } },
                "\(dir.read("stderr"))")
        let limits = try #require(ChildUsage.openFileLimits(daemon.pid))
        let needed = 256 + 64 + 256  // the two listeners' caps and the reserve
        try #require((limits.hard ?? .max) >= needed, "this test needs a hard open-file limit of \(needed)")
        #expect(limits.soft == needed, "soft limit \(String(describing: limits.soft))")

        let flood = try SlowClients.startFlood(port: webhook, count: 400, interval: 2, duration: 30, directory: dir)  // ends when all are closed
        // Every client connected: the cap is reached.
        let full = #"pipewatch_http_connections{listener="webhook"} 256.0"#
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains(full) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(250))
            text = (try? await TestClients.curl("http://127.0.0.1:\(metrics)/metrics", ["-m", "2"]).body) ?? ""
        }
        let cpu = try await Self.cpuSeconds(of: daemon.pid, over: 3)
        let health = try? await TestClients.curl("http://127.0.0.1:\(metrics)/healthz", ["-m", "5"])
        let floodStatus = await TestClients.blocking { flood.wait(seconds: 60) ?? flood.terminate(timeout: 2) }
        let after = (try? await TestClients.curl("http://127.0.0.1:\(metrics)/metrics", ["-m", "5"]).body) ?? ""
        let exit = await TestClients.blocking { daemon.terminate(timeout: 30) }
        let log = dir.read("stderr")

        #expect(text.contains(full), "\(text)")
        #expect(cpu < 0.2, "the daemon used \(cpu) s of CPU in 3 s of flood")
        #expect(health?.status == 200 && health?.body == "ok\n", "\(String(describing: health))")
        #expect(floodStatus == 0, "\(dir.read("flood.err"))")
        let report = try JSONDecoder().decode(SlowClients.Flood.self, from: Data(dir.read("flood.json").utf8))
        let refused = report.failed + report.closed.filter { $0 < 5 }.count
        let cut = report.closed.filter { $0 >= 5 }
        #expect(refused == 144, "closed at once beyond the cap: \(report)")
        #expect(cut.count == 256 && cut.allSatisfy { $0 >= 9.5 && $0 < 25 }, "cut at the 10 s header timeout (later on a loaded machine, never before): \(cut)")
        #expect(report.open == 0)
        #expect(after.contains(#"pipewatch_http_connections_refused_total{listener="webhook"} 144"#), "\(after)")
        #expect(after.contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="header_timeout"} 256"#))
        #expect(after.contains(#"pipewatch_http_connections{listener="webhook"} 0.0"#))
        #expect(log.contains("webhook listener 127.0.0.1:\(webhook): 256 connections open, the most it takes (max-connections)"), "\(log)")
        #expect(log.contains("raised the open-file limit from 200 to \(needed)"))
        #expect(exit == 0)
    }

    /// Descriptors used up anyway (a hard limit below the caps, warned about at start): accept fails with EMFILE,
    /// and the listeners pause instead of spinning on it.
    @Test(.timeLimit(.minutes(3)))
    func outOfDescriptorsTheListenersPauseInsteadOfSpinning() async throws {
        let dir = try TemporaryDirectory()
        let (config, webhook, metrics) = try Self.configuration(dir)
        let daemon = try Self.startDaemon(config: config, ulimit: "-n 100", stderr: dir.path("stderr"))
        #expect(await TestClients.blocking { Loopback.waitUntilAccepting(UInt16(metrics), seconds: 60) { daemon.isRunning } },
                "\(dir.read("stderr"))")
        let flood = try SlowClients.startFlood(port: webhook, count: 150, interval: 2, duration: 8, directory: dir)
        // The flood is in: the process is at its limit.
        let deadline = Date().addingTimeInterval(20)
        while (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.pid)/fd").count) ?? 0 < 98,
              Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.pid)/fd").count) ?? 0
        let cpu = try await Self.cpuSeconds(of: daemon.pid, over: 3)
        _ = await TestClients.blocking { flood.wait(seconds: 60) ?? flood.terminate(timeout: 2) }
        let exit = await TestClients.blocking { daemon.terminate(timeout: 30) }
        let log = dir.read("stderr")

        #expect(descriptors >= 98, "descriptors open: \(descriptors)")
        #expect(cpu < 0.2, "the daemon used \(cpu) s of CPU in 3 s at its descriptor limit")
        #expect(log.contains("the open-file limit (100) is below the listeners' max-connections"), "\(log)")
        #expect(log.contains("webhook listener: cannot accept connections: Too many open files (errno 24); accepting paused for 100 ms"), "\(log)")
        #expect(exit == 0)
    }
}

/// The listeners' limits in the configuration file.
@Suite struct ListenerConfigurationTests {
    static let base = """
        inputs:
          webhook:
            listen: 127.0.0.1:8080
            secrets: [whsec]
        METRICS
        rules: [rules/]
        """

    static func load(_ yaml: String) throws -> DaemonConfiguration {
        let dir = try TemporaryDirectory()
        return try DaemonConfiguration.load(path: try dir.write("pipewatch.yaml", yaml))
    }

    static func problems(_ yaml: String) throws -> [String] {
        do {
            _ = try load(yaml)
            return []
        } catch let error as DaemonConfigurationError {
            return error.problems
        }
    }

    @Test func defaultsAreDocumented() throws {
        let configuration = try Self.load(Self.base.replacingOccurrences(of: "METRICS", with: #"metrics: {listen: "127.0.0.1:9108"}"#))
        let webhook = try #require(configuration.webhook).limits
        #expect(webhook == .init(maxConnections: 256, headerTimeout: 10, bodyTimeout: 30, idleTimeout: 60, maxBodyBytes: 1_048_576))
        #expect(configuration.metricsLimits == .init(maxConnections: 64, headerTimeout: 10, bodyTimeout: 10, idleTimeout: 60, maxBodyBytes: 65_536))
    }

    @Test func eachListenerTakesItsOwnLimits() throws {
        let configuration = try Self.load("""
            inputs:
              webhook:
                listen: 127.0.0.1:8080
                secrets: [whsec]
                max-connections: 1000
                header-timeout: 5s
                body-timeout: 1m
                connection-idle-timeout: 500ms
                max-body-bytes: 4194304
            metrics: {listen: "127.0.0.1:9108", max-connections: 8, connection-idle-timeout: 10s}
            rules: [rules/]
            """)
        #expect(configuration.webhook?.limits == .init(maxConnections: 1000, headerTimeout: 5, bodyTimeout: 60, idleTimeout: 0.5, maxBodyBytes: 4_194_304))
        #expect(configuration.metricsLimits == .init(maxConnections: 8, headerTimeout: 10, bodyTimeout: 10, idleTimeout: 10, maxBodyBytes: 65_536))
    }

    @Test func badLimitsAreRefusedWithTheirLine() throws {
        let problems = try Self.problems("""
            inputs:
              webhook:
                listen: 127.0.0.1:8080
                secrets: [whsec]
                max-connections: 0
                header-timeout: 0s
                max-body-bytes: lots
                idle-timeout: 1m
            metrics: {listen: "127.0.0.1:9108", body-timeout: soon}
            rules: [rules/]
            """)
        for fragment in [
            ":5: max-connections must be a whole number in 1…1000000", ":6: header-timeout must be longer than 0",
            ":7: max-body-bytes must be a whole number in 1024…1073741824", ":9: body-timeout must be a duration",
            // A listener's is connection-idle-timeout: the top-level idle-timeout is about sources.
            ":8: unknown key 'idle-timeout' (expected body-timeout, connection-idle-timeout,",
        ] {
            #expect(problems.contains { $0.contains(fragment) }, "\(fragment) in \(problems)")
        }
    }

    @Test func metricsAndWebhookMustNotShareAListener() throws {
        let problems = try Self.problems(Self.base.replacingOccurrences(of: "METRICS", with: #"metrics: {listen: "127.0.0.1:8080"}"#))
        #expect(problems.count == 1)
        #expect(problems.first?.hasSuffix(":5: metrics.listen must differ from webhook.listen: /healthz and /metrics have a listener of their own, so that a flood of webhook connections cannot starve them") == true, "\(problems)")
    }
}

/// The daemon's configuration file is read as rule files are: bounded in size, UTF-8, aliases limited.
@Suite struct ConfigurationFileLimitTests {
    func problems(_ data: Data) throws -> [String] {
        let dir = try TemporaryDirectory()
        let path = dir.path("pipewatch.yaml")
        try data.write(to: URL(fileURLWithPath: path))
        do {
            _ = try DaemonConfiguration.load(path: path)
            return []
        } catch let error as DaemonConfigurationError {
            return error.problems.map { $0.replacingOccurrences(of: path, with: "pipewatch.yaml") }
        }
    }

    @Test func aFileLargerThanTheYAMLLimitIsRefusedUnread() throws {
        // A valid configuration followed by a 2 MiB comment.
        let yaml = ListenerConfigurationTests.base.replacingOccurrences(of: "METRICS", with: "")
            + "\n#" + String(repeating: "x", count: 2 << 20) + "\n"
        #expect(try problems(Data(yaml.utf8)) == ["pipewatch.yaml: larger than 1048576 bytes, the limit for a YAML file"])
    }

    @Test func invalidUTF8IsRefusedWithItsLineAndColumn() throws {
        var data = Data("inputs:\n  webhook:\n    listen: 127.0.0.1:8080\n    secrets: [wh".utf8)
        data.append(contentsOf: [0xFF, 0xFE])
        data.append(contentsOf: Array("sec]\nrules: [rules/]\n".utf8))
        #expect(try problems(data) == ["pipewatch.yaml:4: not UTF-8 text: invalid byte 0xFF at column 17"])
    }

    @Test func anAliasBombIsRefusedAtItsLine() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 { lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]") }
        let found = try problems(Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("pipewatch.yaml:") == true && found.first?.contains("250000") == true, "\(found)")
    }

    @Test func aMissingFileSaysSo() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("absent.yaml")
        #expect(throws: DaemonConfigurationError.self) { try DaemonConfiguration.load(path: path) }
        do { _ = try DaemonConfiguration.load(path: path) } catch let error as DaemonConfigurationError {
            #expect(error.problems == ["\(path): cannot read file"])
        }
    }
}
