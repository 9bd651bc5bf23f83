import Foundation
import Testing

/// deploy/: a real Prometheus (Debian's `prometheus`) scrapes a running daemon and evaluates the alerting rules,
/// and every query of the Grafana dashboard and of the rules returns data; `promtool` checks and unit-tests the
/// rules; `systemd-analyze` verifies the service unit, whose sandbox the daemon is run under where this machine can.
@Suite(.serialized) struct OperationsKitTests {
    static let deploy = PipewatchExecutable.repositoryRoot.appendingPathComponent("deploy")
    static let dashboard = deploy.appendingPathComponent("grafana/pipewatch.json")
    static let alertRules = deploy.appendingPathComponent("prometheus/pipewatch-alerts.yml")
    static let unit = deploy.appendingPathComponent("systemd/pipewatch.service")

    /// Runs a command to its end; its status and output (stdout and stderr together).
    static func run(_ executable: String, _ arguments: [String], directory: String? = nil, seconds: Double = 120) throws -> (status: Int32, output: String) {
        let dir = try TemporaryDirectory()
        let child = try ChildProcess(executable, arguments, directory: directory, stdout: dir.path("out"), stderr: dir.path("out"))
        let status = child.wait(seconds: seconds) ?? child.terminate(timeout: 2)
        return (status, dir.read("out"))
    }

    static func installed(_ command: String) -> Bool {
        ["/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(command)") }
    }

    // MARK: Prometheus

    @Test(.timeLimit(.minutes(5)))
    func prometheusScrapingADaemonHasDataForEveryQueryOfTheDashboardAndTheAlertRules() throws {
        try #require(Self.installed("prometheus"), "Debian's prometheus is not installed: run `make deps`")
        let kafka = try MockKafka()
        try kafka.createTopic("ops", partitions: 2)
        try kafka.produce("ops", TimedCloudTrail.records(0..<400) + ["{not json"])
        let dir = try TemporaryDirectory()
        try dir.write("rules/rules.yml", trainingBurstRules)
        // Nothing listens on this port: the second output fails, is retried and dead-lettered.
        let deadPort = try Loopback.freePort()
        let secret = "whsec-\(UUID().uuidString)"
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              kafka:
                brokers: \(kafka.bootstrapServers)
                group: pw-ops
                topics: [ops]
                properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500", topic.metadata.refresh.interval.ms: "1000", log_level: "3"}
              webhook:
                listen: 127.0.0.1:0
                path: /mlflow
                secrets: [\(secret)]
            rules: {paths: [rules/], watch: false}
            outputs: ["ocsf:file:alerts.ndjson", "ecs:http://127.0.0.1:\(deadPort)/alerts?timeout-ms=500"]
            dead-letter: dead.ndjson
            alert-dead-letter: alerts.dead.ndjson
            metrics: {listen: "127.0.0.1:0"}
            delivery: {max-attempts: 2, initial-delay: 10ms, max-delay: 20ms}
            commit-interval: 200ms
            allowed-lateness: 1m
            state: {path: detectors.state, checkpoint-interval: 300ms}
            """)
        let daemon = try RunningDaemon(configuration: config)
        defer { #expect(daemon.stop(), "\(daemon.log)") }
        #expect(daemon.wait(seconds: 60) { $0.records == 401 && $0.stateSnapshots > 0 && !$0.committed.isEmpty }, "\(daemon.log)")
        let metricsPort = try #require(daemon.daemon.listeningPorts["metrics"])
        let webhookPort = try #require(daemon.daemon.listeningPorts["webhook"])
        try Self.deliverWebhooks(port: webhookPort, secret: secret)

        let prometheus = try PrometheusServer(scraping: metricsPort, rules: Self.alertRules.path)
        defer { prometheus.stop() }
        // More records while Prometheus watches, so that it sees the failing output fail (and the commits move).
        #expect(try prometheus.waitFor(seconds: 30) { try !prometheus.query(#"up{job="pipewatch"} == 1"#).isEmpty }, "\(prometheus.log)")
        try kafka.produce("ops", TimedCloudTrail.records(400..<600))
        #expect(daemon.wait(seconds: 60) { $0.records == 401 + 1 + 200 }, "the webhook delivery is a record too: \(daemon.log)")
        // Eight scrapes, so that every rate() and deriv() has samples, and every rule evaluated.
        #expect(try prometheus.waitFor(seconds: 60) {
            try prometheus.query(#"count_over_time(up{job="pipewatch"}[1m]) >= 8"#).count == 1
        }, "\(prometheus.log)")
        let rules = try #require(try prometheus.waitForRules(seconds: 30), "\(prometheus.log)")

        // The dashboard: a datasource variable that every panel uses, and data for every query.
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 25, "\(queries)")
        for query in queries {
            #expect(try !prometheus.query(query).isEmpty, "no data for the dashboard's \(query)")
        }

        // The alerting rules: each evaluated without error, and every expression they compare returns data.
        #expect(rules.map(\.name).sorted() == [
            "PipewatchAlertsDeadLettered", "PipewatchCommitsStalled", "PipewatchConsumerLagGrowing",
            "PipewatchDeadLettersRising", "PipewatchDown", "PipewatchNotReady", "PipewatchSinkFailing",
            "PipewatchSourceSilent", "PipewatchStateSnapshotsFailing",
        ])
        for rule in rules {
            #expect(rule.health == "ok", "\(rule.name): \(rule.lastError)")
            let parts = PromQL.valueQueries(rule.query)
            #expect(!parts.isEmpty && parts.allSatisfy { !$0.contains(">") && !$0.contains("==") }, "\(rule.query) → \(parts)")
            for part in parts {
                #expect(try !prometheus.query(part).isEmpty, "\(rule.name): no data for \(part)")
            }
        }
        // What this daemon really is in: an output failing and dead-lettering (both alerts pending or firing for
        // the ECS sink); up and ready, with no consumer falling behind.
        let active = try prometheus.activeAlerts()
        #expect(active.contains { $0.name == "PipewatchSinkFailing" && $0.labels["sink"]?.hasPrefix("http") == true }, "\(active)")
        #expect(active.contains { $0.name == "PipewatchAlertsDeadLettered" && $0.labels["sink"]?.hasPrefix("http") == true }, "\(active)")
        for quiet in ["PipewatchDown", "PipewatchNotReady", "PipewatchStateSnapshotsFailing", "PipewatchConsumerLagGrowing"] {
            #expect(!active.contains { $0.name == quiet }, "\(quiet) is active: \(active)")
        }

        // Silence grows: CloudTrail sends nothing more, and its seconds since the last event rise scrape by scrape.
        let silence = #"pipewatch_seconds_since_last_event{source="aws.cloudtrail"}"#
        let before = try #require(try prometheus.query(silence).first?.value)
        Thread.sleep(forTimeInterval: 3)
        let after = try #require(try prometheus.query(silence).first?.value)
        #expect(after >= before + 2, "\(before) → \(after)")
    }

    /// An unsigned delivery (refused: missing_header) and one signed as MLflow signs (accepted), signed here by
    /// openssl.
    static func deliverWebhooks(port: Int, secret: String) throws {
        let body = #"{"entity": "registered_model", "action": "created", "timestamp": "2026-11-03T10:00:00Z", "data": {"name": "fraud-detection"}}"#
        let url = "http://127.0.0.1:\(port)/mlflow"
        let unsigned = try run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "--data-binary", body, url])
        #expect(unsigned.output == "400", "\(unsigned)")
        let script = #"""
            timestamp=$(date +%s)
            signature=$(printf '%s' "ops-1.$timestamp.$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64)
            curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-MLflow-Delivery-Id: ops-1' \
                -H "X-MLflow-Timestamp: $timestamp" -H "X-MLflow-Signature: v1,$signature" --data-binary "$BODY" "$URL"
            """#
        let dir = try TemporaryDirectory()
        let signed = try ChildProcess("bash", ["-c", script], stdout: dir.path("out"), stderr: dir.path("err"),
                                      environment: ["BODY": body, "SECRET": secret, "URL": url])
        #expect(signed.wait(seconds: 30) == 0, "\(dir.read("err"))")
        #expect(dir.read("out") == "200", "\(dir.read("out")) \(dir.read("err"))")
    }

    /// Every panel query of the dashboard, and the selector of every query variable (`label_values(SELECTOR,
    /// label)`), with the variables replaced as Grafana does for "All" and the interval variables by a few seconds.
    /// Checks that the datasource is a variable every panel and target uses.
    static func dashboardQueries() throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dashboard)) as? [String: Any])
        let variables = try #require((object["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        #expect(variables.contains { $0["type"] as? String == "datasource" && $0["query"] as? String == "prometheus" && $0["name"] as? String == "datasource" })
        var substitutions: [(String, String)] = [("$__rate_interval", "20s"), ("$__range", "1m"), ("$__interval", "5s")]
        var queries: [String] = []
        for variable in variables where variable["type"] as? String == "query" {
            let name = try #require(variable["name"] as? String)
            substitutions.append(("$" + name, try #require(variable["allValue"] as? String, "\(name) needs an allValue")))
            let definition = try #require(variable["definition"] as? String)
            let selector = try #require(definition.firstMatch(of: /^label_values\((.+), *\w+\)$/)?.output.1, "\(definition)")
            queries.append(String(selector))
        }
        func panels(_ list: [[String: Any]]) -> [[String: Any]] {
            list.flatMap { [$0] + panels($0["panels"] as? [[String: Any]] ?? []) }
        }
        for panel in panels(try #require(object["panels"] as? [[String: Any]])) where panel["type"] as? String != "row" {
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(panel["title"] ?? "")")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(panel["title"] ?? "") has no query")
            for target in targets {
                #expect((target["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}")
                queries.append(try #require(target["expr"] as? String))
            }
        }
        // Longest names first, so that $__range is not taken for $__rate_interval.
        return queries.map { query in
            substitutions.sorted { $0.0.count > $1.0.count }.reduce(query) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
        }
    }

    // MARK: promtool

    @Test func promtoolChecksTheAlertRulesAndTheirUnitTestsPass() throws {
        try #require(Self.installed("promtool"), "Debian's prometheus (promtool) is not installed: run `make deps`")
        let check = try Self.run("promtool", ["check", "rules", Self.alertRules.path])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("SUCCESS: 9 rules found"), "\(check.output)")
        let tests = try Self.run("promtool", ["test", "rules", "pipewatch-alerts.test.yml"], directory: Self.alertRules.deletingLastPathComponent().path)
        #expect(tests.status == 0, "\(tests.output)")
        #expect(tests.output.contains("SUCCESS"), "\(tests.output)")
    }

    // MARK: systemd

    /// `systemd-analyze verify` in a root of its own: this machine's unit directory (for the targets the unit
    /// names), the unit where it is installed, and an executable at the paths its commands name (verify checks that
    /// they are executable, not what they do). Every warning counts as a failure: verify exits 0 on an unknown
    /// setting or a value it cannot parse, and only says so.
    static func verify(_ unitText: String) throws -> (status: Int32, output: String) {
        let root = try TemporaryDirectory()
        try root.write("etc/systemd/system/pipewatch.service", unitText)
        for command in ["usr/local/bin/pipewatch", "bin/kill"] {
            let path = try root.write(command, "#!/bin/sh\n")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        try FileManager.default.createDirectory(atPath: root.path("lib/systemd"), withIntermediateDirectories: true)
        // A copy keeps the units' relative links inside the root; a link to the directory would loop.
        let copy = try run("cp", ["-a", "/lib/systemd/system", root.path("lib/systemd/system")])
        #expect(copy.status == 0, "\(copy.output)")
        return try run("systemd-analyze", ["verify", "--root=\(root.url.path)", "/etc/systemd/system/pipewatch.service"])
    }

    @Test func systemdAnalyzeVerifiesTheUnit() throws {
        try #require(
            Self.installed("systemd-analyze") && FileManager.default.fileExists(atPath: "/lib/systemd/system/multi-user.target"),
            "systemd-analyze cannot run here: Debian's systemd is not installed (run `make deps`)")
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let verdict = try Self.verify(text)
        #expect(verdict.status == 0 && verdict.output.isEmpty, "\(verdict.output)")
        // The check sees what is wrong: an unknown setting, a bad value, a missing executable.
        for broken in [
            text.replacingOccurrences(of: "RestartSec=5s", with: "RestartSec=5s\nRestartSecs=5s"),
            text.replacingOccurrences(of: "ProtectSystem=strict", with: "ProtectSystem=strictest"),
            text.replacingOccurrences(of: "/usr/local/bin/pipewatch", with: "/opt/pipewatch/bin/pipewatch"),
        ] {
            #expect(broken != text)
            let refused = try Self.verify(broken)
            #expect(refused.status != 0 || !refused.output.isEmpty, "accepted: \(broken)")
        }

        // The hardening the unit promises, as systemd itself rates it (offline, from the file).
        let security = try Self.run("systemd-analyze", ["security", "--offline=true", Self.unit.path])
        let level = try #require(security.output.firstMatch(of: /Overall exposure level for pipewatch.service: (\d+\.\d)/)?.output.1, "\(security.output)")
        #expect(Double(level)! <= 2.0, "\(security.output)")
        for setting in ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=pipewatch", "PrivateTmp=yes", "NoNewPrivileges=yes",
                        "CapabilityBoundingSet=\n", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID", "TimeoutStopSec="] {
            #expect(text.contains(setting), "\(setting)")
        }
    }

    /// MemoryDenyWriteExecute=yes would kill a process that maps memory writable and executable (a JIT). The
    /// kernel's own switch for it (prctl PR_SET_MDWE, Linux 6.3) applied to `pipewatch run` and `replay`: they run
    /// as without it.
    @Test(.timeLimit(.minutes(2)))
    func thePipewatchDaemonRunsWithoutWritableExecutableMemory() throws {
        let wrapper = #"""
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
                sys.exit("prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
            os.execv(sys.argv[1], sys.argv[1:])
            """#
        let dir = try TemporaryDirectory()
        let script = try dir.write("mdwe.py", wrapper)
        let probe = try Self.run("python3", [script, "/bin/true"])
        try #require(probe.status == 0, "this kernel cannot refuse writable executable memory (PR_SET_MDWE needs Linux 6.3): \(probe.output)")
        let root = PipewatchExecutable.repositoryRoot.path
        let config = try dir.write("pipewatch.yaml", """
            inputs: {files: [\(root)/samples/]}
            rules: {paths: [\(root)/rules/]}
            outputs: ["ocsf:file:alerts.ndjson"]
            dead-letter: dead.ndjson
            metrics: {listen: "127.0.0.1:0"}
            """)
        let daemon = try Self.run("python3", [script, PipewatchExecutable.url.path, "run", "--config", config])
        #expect(daemon.status == 0, "\(daemon.output)")
        let plain = try Self.run(PipewatchExecutable.url.path, ["replay", "\(root)/samples/", "--rules", "\(root)/rules/"])
        let alerts = dir.read("alerts.ndjson").split(separator: "\n").count
        #expect(alerts > 30 && plain.output.split(separator: "\n").filter { $0.hasPrefix("{") }.count == alerts,
                "\(alerts) alerts under MDWE; \(daemon.output)")
    }
}

/// The parts of a PromQL alert expression that must return data on a healthy daemon: each operand of a top-level
/// `and`/`or`/`unless`, without its comparison to a number (whether it crosses the threshold is the alert's
/// business; whether the series exist is the test's).
enum PromQL {
    static func valueQueries(_ expression: String) -> [String] {
        split(expression, atWords: ["and", "or", "unless"]).map { operand in
            guard let (left, right) = splitAtLastComparison(operand),
                Double(right.replacingOccurrences(of: "bool", with: "").trimmingCharacters(in: .whitespaces)) != nil
            else { return operand }
            return left
        }
    }

    /// Positions outside parentheses, brackets, braces and quotes.
    private static func topLevel(_ text: [Character]) -> [Bool] {
        var depth = 0, quote: Character? = nil
        return text.map { c in
            if let open = quote {
                if c == open { quote = nil }
                return false
            }
            switch c {
            case "\"", "'", "`": quote = c; return false
            case "(", "[", "{": depth += 1; return false
            case ")", "]", "}": depth -= 1; return false
            default: return depth == 0
            }
        }
    }

    private static func split(_ expression: String, atWords words: Set<String>) -> [String] {
        let text = Array(expression), outside = topLevel(text)
        var parts: [String] = [], start = 0, i = 0
        while i < text.count {
            if outside[i], i == 0 || text[i - 1] == " " {
                let word = String(text[i...].prefix { $0.isLetter })
                if words.contains(word.lowercased()), i + word.count < text.count, text[i + word.count] == " " {
                    parts.append(String(text[start..<i]).trimmingCharacters(in: .whitespaces))
                    i += word.count
                    start = i
                    continue
                }
            }
            i += 1
        }
        parts.append(String(text[start...]).trimmingCharacters(in: .whitespaces))
        return parts
    }

    private static func splitAtLastComparison(_ expression: String) -> (String, String)? {
        let text = Array(expression), outside = topLevel(text)
        for i in stride(from: text.count - 1, through: 0, by: -1) where outside[i] && "<>=".contains(text[i]) {
            var start = i
            if start > 0, "<>=!".contains(text[start - 1]) { start -= 1 }
            let op = String(text[start...i])
            guard [">", "<", ">=", "<=", "==", "!="].contains(op) else { continue }
            return (String(text[..<start]).trimmingCharacters(in: .whitespaces),
                    String(text[(i + 1)...]).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
