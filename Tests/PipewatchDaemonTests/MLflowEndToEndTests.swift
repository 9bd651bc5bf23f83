import Foundation
import PipewatchInputs
import PipewatchDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real MLflow tracking server (sqlite backend) sends real signed webhook deliveries to the receiver on
/// 127.0.0.1. MLflow is installed by `make test` (the `mlflow` target) into .build/mlflow-venv;
/// PIPEWATCH_MLFLOW_VENV names another virtualenv.
@Suite struct MLflowEndToEndTests {
    static var venv: String {
        ProcessInfo.processInfo.environment["PIPEWATCH_MLFLOW_VENV"]
            ?? repositoryRoot.appendingPathComponent(".build/mlflow-venv").path
    }

    /// Runs with the MLflow client: two webhooks (the right secret and a wrong one), MLflow's own test delivery
    /// on each, then real registry changes that fire four events.
    static let clientScript = #"""
        import sys
        from mlflow import MlflowClient
        uri, receiver, secret = sys.argv[1:4]
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        good = client.create_webhook(
            name="pipewatch", url=receiver, secret=secret,
            events=["registered_model.created", "model_version.created", "model_version_tag.set",
                    "model_version_alias.created"])
        bad = client.create_webhook(
            name="pipewatch-wrong-secret", url=receiver, secret="not-the-secret", events=["registered_model.created"])
        print("good-test", client.test_webhook(good.webhook_id).response_status, flush=True)
        print("bad-test", client.test_webhook(bad.webhook_id).response_status, flush=True)
        client.create_registered_model("fraud-detection-xgb", tags={"team": "risk-ml"}, description="fraud model")
        version = client.create_model_version(
            "fraud-detection-xgb", source="s3://models/fraud/7", tags={"git_sha": "9a4f0c2e71b8"})
        client.set_model_version_tag("fraud-detection-xgb", version.version, "validation_status", "passed")
        client.set_registered_model_alias("fraud-detection-xgb", "champion", version.version)
        print("done", flush=True)
        """#

    @Test(.timeLimit(.minutes(5)))
    func realMLflowDeliveriesAreVerifiedAndHandedOver() async throws {
        let mlflow = Self.venv + "/bin/mlflow"
        try #require(
            FileManager.default.isExecutableFile(atPath: mlflow),
            "MLflow is not installed at \(Self.venv): run `make mlflow` (part of `make test`)")
        let started = Date()
        let secret = "whsec-" + UUID().uuidString
        let metrics = PipewatchMetrics()
        let accepted = AcceptedRecords()
        let server = HTTPServer(host: "127.0.0.1", port: 0)
        let receiver = try MLflowWebhookReceiver(.init(secrets: [secret]), metrics: metrics) { payload, id in
            accepted.append(payload, id)
        }
        receiver.install(on: server)
        try await server.start()

        let directory = try TemporaryDirectory()
        let port = try Loopback.freePort()
        // Webhook secrets are stored encrypted with this key (a Fernet key: 32 random bytes, URL-safe base64).
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        // setsid: the server and the job runners it starts form one process group, stopped together below.
        let tracking = try ChildProcess(
            "setsid", [mlflow, "server", "--backend-store-uri", "sqlite:///\(directory.path("mlflow.db"))",
                       "--host", "127.0.0.1", "--port", String(port), "--workers", "1"],
            directory: directory.url.path, stdout: directory.path("server.log"), stderr: directory.path("server.log"),
            environment: [
                "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true", "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http",
                "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": key,
            ])
        do {
            try await exercise(
                tracking: tracking, port: port, server: server, secret: secret, metrics: metrics, accepted: accepted,
                directory: directory, started: started)
        } catch {
            await server.shutdown()
            await TestClients.blocking { Self.stopGroup(tracking) }
            throw error
        }
        await TestClients.blocking { Self.stopGroup(tracking) }
    }

    private func exercise(
        tracking: ChildProcess, port: UInt16, server: HTTPServer, secret: String, metrics: PipewatchMetrics,
        accepted: AcceptedRecords, directory: TemporaryDirectory, started: Date
    ) async throws {
        let up = await TestClients.blocking { Loopback.waitUntilAccepting(port, seconds: 180, while: { tracking.isRunning }) }
        try #require(up, "mlflow server did not start: \(directory.read("server.log").suffix(2000))")
        let serverReady = Date()

        let script = try directory.write("client.py", Self.clientScript)
        let client = try await TestClients.run(
            Self.venv + "/bin/python", [script, "http://127.0.0.1:\(port)", "http://127.0.0.1:\(server.port)/webhooks/mlflow", secret],
            timeout: 180)
        #expect(client.status == 0, "\(client.stderr.suffix(3000))")
        let lines = client.stdout.split(separator: "\n").map(String.init)
        // MLflow's own view of the answers: 200 for the right secret, 401 for the wrong one.
        #expect(lines == ["good-test 200", "bad-test 401", "done"])

        // Deliveries of real events are asynchronous (a thread pool in the tracking server).
        let arrived = await accepted.wait(for: 5, seconds: 60)
        let deadline = Date().addingTimeInterval(30)
        while !metricsText(metrics).contains(#"pipewatch_webhook_rejected_total{reason="bad_signature"} 2"#), Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.shutdown()
        print("MLflow end-to-end: server up in \(Int(serverReady.timeIntervalSince(started))) s, whole test \(Int(Date().timeIntervalSince(started))) s")

        #expect(arrived, "handed over: \(accepted.ids.count)")
        // The wrong-secret webhook's test delivery and its real registered_model.created were both refused.
        #expect(metricsText(metrics).contains(#"pipewatch_webhook_rejected_total{reason="bad_signature"} 2"#), "\(metricsText(metrics))")
        let handed = accepted.all
        #expect(handed.count == 5)
        #expect(Set(handed.map(\.id)).count == handed.count, "delivery ids repeat")

        var seen: [String] = []
        for (record, id) in handed {
            let events = try NormalizedFields.of(record)
            try #require(events.count == 1)
            let event = events[0]
            #expect(event.failures.isEmpty, "\(event.failures)")
            #expect(event.source == "mlflow.webhook")
            #expect(event.fields[.apiRequestID] == id)
            #expect(event.fields[.srcIP] == "127.0.0.1")
            let operation = event.fields[.apiOperation] ?? "?"
            let name = event.fields[.mlName] ?? "?"
            seen.append([operation, name, event.fields[.mlVersion], event.fields[.mlAlias], event.fields[.mlTagValue]]
                .map { $0 ?? "-" }.joined(separator: " "))
        }
        // MLflow's test delivery carries its example payload (a registered model named example_model).
        let real = seen.filter { !$0.contains("example") }
        #expect(seen.count - real.count == 1, "\(seen)")
        #expect(Set(real) == [
            "registered_model.created fraud-detection-xgb - - -",
            "model_version.created fraud-detection-xgb 1 - -",
            "model_version_tag.set fraud-detection-xgb 1 - passed",
            "model_version_alias.created fraud-detection-xgb 1 champion -",
        ], "\(seen)")
    }

    private func metricsText(_ metrics: PipewatchMetrics) -> String {
        String(decoding: metrics.exposition(), as: UTF8.self)
    }

    /// SIGTERM to the whole group (server, uvicorn worker, job runners), SIGKILL if it lingers.
    static func stopGroup(_ child: ChildProcess) {
        kill(-child.pid, SIGTERM)
        if child.wait(seconds: 15) == nil { kill(-child.pid, SIGKILL) }
        // Members that outlived the leader are still in the group: make sure none is left.
        kill(-child.pid, SIGKILL)
        child.wait()
    }
}
