import Foundation
import PipewatchDaemon
import Testing

/// `/metrics`, `/healthz` and the HTTP server's own behaviour (routing, keep-alive, graceful shutdown), over
/// 127.0.0.1 with curl and Python as clients.
@Suite struct MetricsEndpointTests {
    static func startServer(
        metrics: PipewatchMetrics = PipewatchMetrics(), readiness: Readiness = Readiness()
    ) async throws -> HTTPServer {
        let server = HTTPServer(host: "127.0.0.1", port: 0)
        server.serveMetrics(metrics, readiness: readiness)
        try await server.start()
        return server
    }

    @Test func healthzIs503WithTheReasonUntilReady() async throws {
        let readiness = Readiness(notReadyBecause: "waiting for partition assignment")
        let server = try await Self.startServer(readiness: readiness)
        let url = "http://127.0.0.1:\(server.port)/healthz"
        let before = try await TestClients.curl(url)
        readiness.setReady()
        let ready = try await TestClients.curl(url)
        readiness.setNotReady("rules reloading:\nline two")
        let again = try await TestClients.curl(url)
        await server.shutdown()

        #expect(before.status == 503)
        #expect(before.body == "not ready: waiting for partition assignment\n")
        #expect(ready.status == 200)
        #expect(ready.body == "ok\n")
        #expect(again.status == 503)
        #expect(again.body == "not ready: rules reloading: line two\n")
    }

    @Test func metricsShowWhatTheDaemonRecordedWithLabels() async throws {
        let metrics = PipewatchMetrics()
        // What a daemon reports over two batches.
        metrics.recordsRead(1000, source: "aws.cloudtrail")
        metrics.recordsRead(500, source: "aws.cloudtrail")
        metrics.recordsRead(7, source: "mlflow.webhook")
        metrics.recordsRead(1000, topic: "cloudtrail", partition: 3)
        metrics.badRecords(2, stage: "parse")
        metrics.alerts(byRule: ["aws-iam-access-key-created": 2, #"odd "rule" \ id"#: 1])
        metrics.alerts(1, rule: "aws-iam-access-key-created")
        metrics.sinkQueueDepth(12, sink: "splunk")
        metrics.sinkQueueDepth(4, sink: "splunk")
        metrics.sinkDelivered(sink: "splunk", latency: .milliseconds(30))
        metrics.sinkDelivered(sink: "splunk", latency: .seconds(2))
        metrics.sinkFailures(3, sink: "splunk")
        metrics.consumerLag(42, topic: "cloudtrail", partition: 3)
        metrics.committedOffset(123_456_789, topic: "cloudtrail", partition: 3)
        metrics.webhookAccepted(duplicate: false)
        metrics.webhookRejected(.badSignature)

        let server = try await Self.startServer(metrics: metrics)
        let directory = try TemporaryDirectory()
        let answer = try await TestClients.curl(
            "http://127.0.0.1:\(server.port)/metrics", ["-D", directory.path("headers")])
        await server.shutdown()

        #expect(answer.status == 200)
        #expect(directory.read("headers").lowercased().contains("content-type: text/plain; version=0.0.4"))
        let lines = Set(answer.body.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE pipewatch_records_total counter",
            #"pipewatch_records_total{source="aws.cloudtrail"} 1500"#,
            #"pipewatch_records_total{source="mlflow.webhook"} 7"#,
            #"pipewatch_kafka_records_total{topic="cloudtrail",partition="3"} 1000"#,
            #"pipewatch_bad_records_total{stage="parse"} 2"#,
            #"pipewatch_alerts_total{rule="aws-iam-access-key-created"} 3"#,
            #"pipewatch_alerts_total{rule="odd \"rule\" \\ id"} 1"#,
            "# TYPE pipewatch_sink_queue_depth gauge",
            #"pipewatch_sink_queue_depth{sink="splunk"} 4.0"#,
            "# TYPE pipewatch_sink_delivery_seconds histogram",
            #"pipewatch_sink_delivery_seconds_bucket{sink="splunk",le="0.025"} 0"#,
            #"pipewatch_sink_delivery_seconds_bucket{sink="splunk",le="0.05"} 1"#,
            #"pipewatch_sink_delivery_seconds_bucket{sink="splunk",le="2.5"} 2"#,
            #"pipewatch_sink_delivery_seconds_count{sink="splunk"} 2"#,
            #"pipewatch_sink_delivery_seconds_sum{sink="splunk"} 2.03"#,
            #"pipewatch_sink_failures_total{sink="splunk"} 3"#,
            #"pipewatch_kafka_consumer_lag{topic="cloudtrail",partition="3"} 42.0"#,
            #"pipewatch_kafka_committed_offset{topic="cloudtrail",partition="3"} 123456789.0"#,
            #"pipewatch_webhook_deliveries_total{result="accepted"} 1"#,
            #"pipewatch_webhook_rejected_total{reason="bad_signature"} 1"#,
        ] {
            #expect(lines.contains(expected), "missing: \(expected)\n\(answer.body)")
        }
    }

    /// What deploy/'s dashboard and alerts read besides the counters above.
    @Test func operationsMetricsStartAtZeroAndSilenceGrowsBetweenScrapes() async throws {
        let metrics = PipewatchMetrics()
        metrics.declare(sinks: ["splunk"], badRecordStages: ["parse"], webhook: true, detectors: true, stateSnapshots: true)
        metrics.eventsArrived(source: "gcp.audit")
        metrics.sinkDeadLettered(total: 2, sink: "splunk")
        metrics.sinkDeadLettered(total: 2, sink: "splunk")  // the same running total: nothing new
        metrics.sinkDeadLettered(total: 5, sink: "splunk")
        metrics.stateSaveFailed()
        metrics.detectorState(bytes: 4096, groups: 12, bufferedRecords: 3)
        let readiness = Readiness(notReadyBecause: "joining the consumer group")
        let server = try await Self.startServer(metrics: metrics, readiness: readiness)
        let url = "http://127.0.0.1:\(server.port)/metrics"
        let first = try await TestClients.curl(url).body
        try await Task.sleep(for: .milliseconds(1100))
        readiness.setReady()
        let second = try await TestClients.curl(url).body
        await server.shutdown()

        let lines = Set(first.split(separator: "\n").map(String.init))
        for expected in [
            #"pipewatch_sink_failures_total{sink="splunk"} 0"#,
            #"pipewatch_bad_records_total{stage="parse"} 0"#,
            #"pipewatch_webhook_deliveries_total{result="duplicate"} 0"#,
            #"pipewatch_webhook_rejected_total{reason="stale_timestamp"} 0"#,
            "pipewatch_state_snapshots_total 0",
            "pipewatch_late_records_total 0",
            "pipewatch_state_snapshot_failures_total 1",
            #"pipewatch_sink_dead_lettered_batches_total{sink="splunk"} 5"#,
            "pipewatch_detector_state_bytes 4096.0",
            "pipewatch_detector_groups 12.0",
            "pipewatch_detector_buffered_records 3.0",
            "pipewatch_ready 0.0",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)\n\(first)")
        }
        #expect(second.contains("pipewatch_ready 1.0"))
        func silence(_ text: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(#"pipewatch_seconds_since_last_event{source="gcp.audit"} "#) }
                .flatMap { Double($0.split(separator: " ").last!) }
        }
        let before = try #require(silence(first)), after = try #require(silence(second))
        #expect(before < 1 && after >= before + 1, "\(before) → \(after): computed at each scrape")
    }

    @Test func eachInstanceHasItsOwnRegistry() {
        let a = PipewatchMetrics(), b = PipewatchMetrics()
        a.recordsRead(5, source: "k8s.audit")
        let textA = String(decoding: a.exposition(), as: UTF8.self)
        let textB = String(decoding: b.exposition(), as: UTF8.self)
        #expect(textA.contains(#"pipewatch_records_total{source="k8s.audit"} 5"#))
        #expect(!textB.contains("pipewatch_records_total"))
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        let server = try await Self.startServer()
        let base = "http://127.0.0.1:\(server.port)"
        let missing = try await TestClients.curl(base + "/nothing")
        let directory = try TemporaryDirectory()
        let wrongMethod = try await TestClients.curl(base + "/metrics", ["-X", "POST", "-D", directory.path("headers")])
        let withQuery = try await TestClients.curl(base + "/healthz?verbose=1")
        await server.shutdown()
        #expect(missing.status == 404)
        #expect(wrongMethod.status == 405)
        #expect(directory.read("headers").lowercased().contains("allow: get"))
        #expect(withQuery.status == 503)  // the query does not take part in routing
    }

    @Test func connectionsAreKeptAlive() async throws {
        let server = try await Self.startServer()
        let url = "http://127.0.0.1:\(server.port)/metrics"
        // One curl, three transfers: only the first opens a connection.
        let output = try await TestClients.run(
            "curl", ["-sS", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\n", url, url, url])
        await server.shutdown()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.split(separator: "\n") == ["1", "0", "0"])
    }

    @Test func shutdownFinishesTheRequestInProgressThenStopsListening() async throws {
        let server = HTTPServer(host: "127.0.0.1", port: 0)
        let entered = Flag()
        let finished = Flag()
        server.route("GET", "/slow") { _ in
            entered.set()
            try? await Task.sleep(for: .milliseconds(1500))
            finished.set()
            return .text(200, "done")
        }
        try await server.start()
        let port = server.port
        async let answer = TestClients.curl("http://127.0.0.1:\(port)/slow")
        while !entered.isSet { try await Task.sleep(for: .milliseconds(20)) }
        await server.shutdown()
        #expect(finished.isSet, "shutdown returned before the handler finished")
        let (status, body) = try await answer
        #expect(status == 200)
        #expect(body == "done\n")
        #expect(!Loopback.accepts(UInt16(port)))
    }

    @Test func shutdownClosesIdleKeepAliveConnectionsAtOnce() async throws {
        let server = try await Self.startServer()
        let directory = try TemporaryDirectory()
        // A client that keeps its connection open after one request and reports when the server closes it.
        let script = try directory.write("idle.py", """
            import http.client, sys
            connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            print(response.status, flush=True)
            print("closed" if connection.sock.recv(1) == b"" else "data", flush=True)
            """)
        let child = try ChildProcess("python3", [script, String(server.port)], stdout: directory.path("out"))
        let deadline = Date().addingTimeInterval(30)
        while !directory.read("out").contains("503"), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let started = Date()
        await server.shutdown()
        let took = Date().timeIntervalSince(started)
        let status = await TestClients.blocking { child.wait(seconds: 30) ?? child.terminate(timeout: 2) }
        #expect(status == 0)
        #expect(directory.read("out") == "503\nclosed\n")
        #expect(took < 5, "shutdown waited \(took) s for an idle connection (grace period is 10 s)")
    }
}
