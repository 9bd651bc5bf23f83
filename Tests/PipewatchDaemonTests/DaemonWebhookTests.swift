import Foundation
import Testing

/// `pipewatch run` with the MLflow webhook input and the metrics endpoint: signed deliveries become alerts and are
/// answered only once those are delivered; refused ones never reach the pipeline.
@Suite(.serialized) struct DaemonWebhookTests {
    static let externalSourceBody = #"{"entity": "model_version", "action": "created", "timestamp": "2026-11-21T18:12:14.888917+00:00", "data": {"name": "fraud-detection-xgb", "version": "9", "source": "https://files.example.net/pickles/model.pkl", "run_id": null, "tags": {}, "description": null}}"#
    static let trustedSourceBody = #"{"entity": "model_version", "action": "created", "timestamp": "2026-11-21T18:13:01.120455+00:00", "data": {"name": "fraud-detection-xgb", "version": "10", "source": "models:/m-ce8d44bd83484c4356183cbcba645e53", "run_id": "0cbfd04f57318b9a9f027a9df8500a79", "tags": {}, "description": null}}"#

    @Test(.timeLimit(.minutes(1)))
    func signedDeliveriesBecomeAlertsAndTheMetricsShowThem() async throws {
        let dir = try TemporaryDirectory()
        let rule = repositoryRoot.appendingPathComponent("rules/mlflow/webhook/mlflow_model_version_registered_from_external_source.yml")
        try dir.write("rules/rule.yml", try String(contentsOf: rule, encoding: .utf8))
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              webhook:
                listen: 127.0.0.1:0
                path: /mlflow
                secrets: [whsec-right]
                registry: https://mlflow.acme.example
            rules: [rules/]
            outputs: ["ocsf:file:alerts.ndjson"]
            metrics: {listen: "127.0.0.1:0"}
            """)
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 20) { _ in running.daemon.listeningPorts.count == 2 }, "\(running.log)")
        let webhook = try #require(running.daemon.listeningPorts["webhook"])
        let metricsPort = try #require(running.daemon.listeningPorts["metrics"])
        #expect(webhook != metricsPort)
        #expect(try await TestClients.curl("http://127.0.0.1:\(metricsPort)/healthz").status == 200)

        let external = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.externalSourceBody, secret: "whsec-right", deliveryID: "d-external")
        #expect(external.status == 200)
        // Answered only after the alert was written: it is in the file now.
        #expect(dir.read("alerts.ndjson").contains("d-external"), "the alert carries the delivery id")
        let trusted = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.trustedSourceBody, secret: "whsec-right", deliveryID: "d-trusted")
        #expect(trusted.status == 200)
        let tampered = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.externalSourceBody, secret: "whsec-right", deliveryID: "d-tampered",
            tamper: true)
        #expect(tampered.status == 401)
        let wrongSecret = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.externalSourceBody, secret: "whsec-wrong", deliveryID: "d-wrong")
        #expect(wrongSecret.status == 401)
        let stale = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.externalSourceBody, secret: "whsec-right", deliveryID: "d-stale",
            timestamp: Int64(Date().timeIntervalSince1970) - 3_600)
        #expect(stale.status == 401)

        #expect(running.wait(seconds: 5) { $0.events == 2 && $0.alerts == 1 })
        let metrics = try await TestClients.curl("http://127.0.0.1:\(metricsPort)/metrics").body
        #expect(metrics.contains(#"pipewatch_records_total{source="mlflow.webhook"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"pipewatch_alerts_total{rule="1a1350ce-13ef-439e-81e9-bc5b5fd759b5"} 1"#))
        #expect(metrics.contains(#"pipewatch_webhook_rejected_total"#))
        #expect(running.stop())
        let alerts = dir.read("alerts.ndjson").split(separator: "\n")
        #expect(alerts.count == 1, "only the external source fires; refused deliveries never reached the rules")
        #expect(!dir.read("alerts.ndjson").contains("d-tampered") && !dir.read("alerts.ndjson").contains("d-stale"))
    }

    /// With `state:`, a delivery is answered once a snapshot holds what it added to the detectors: within about a
    /// second, not a whole checkpoint interval; a restart resumes from that snapshot.
    @Test(.timeLimit(.minutes(1)))
    func withStateADeliveryIsAnsweredOnceASnapshotHoldsIt() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              webhook:
                listen: 127.0.0.1:0
                secrets: [whsec-right]
                registry: https://mlflow.acme.example
            rules: {paths: ["\(repositoryRoot.path)/rules"], watch: false}
            outputs: ["ocsf:file:alerts.ndjson"]
            state: {path: detectors.state, checkpoint-interval: 1h}
            """)
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 20) { _ in running.daemon.listeningPorts["webhook"] != nil }, "\(running.log)")
        let webhook = try #require(running.daemon.listeningPorts["webhook"])
        #expect(!FileManager.default.fileExists(atPath: dir.path("detectors.state")))

        let started = Date()
        let delivery = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.trustedSourceBody, secret: "whsec-right", deliveryID: "d-state")
        let took = Date().timeIntervalSince(started)
        #expect(delivery.status == 200)
        #expect(FileManager.default.fileExists(atPath: dir.path("detectors.state")), "answered only once saved")
        #expect(took < 30, "answered after \(took) s, not after the checkpoint interval")
        #expect(running.wait(seconds: 5) { $0.stateSnapshots >= 1 })
        #expect(running.stop())

        let again = try RunningDaemon(configuration: config)
        #expect(again.wait(seconds: 20) { _ in again.daemon.listeningPorts["webhook"] != nil })
        #expect(again.log.contains { $0.contains("state: restored from") }, "\(again.log)")
        #expect(again.stop())
    }
}

/// A daemon reading archived files gives the alerts replay gives for them (rules and detectors alike).
@Suite struct DaemonFilesTests {
    static func findingUIDs(_ text: String) throws -> [String] {
        try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require((object["finding_info"] as? [String: Any])?["uid"] as? String)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFilesOnlyRunEndsWithTheAlertsOfReplay() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("pipewatch.yaml", """
            inputs: {files: ["\(repositoryRoot.path)/samples"]}
            rules: {paths: ["\(repositoryRoot.path)/rules"], watch: false}
            outputs: ["ocsf:file:alerts.ndjson"]
            dead-letter: dead.ndjson
            """)
        let running = try RunningDaemon(configuration: config)
        #expect(running.stop(seconds: 60), "a files-only run ends by itself")
        #expect(running.error == nil)

        // Both declare the sources the files carry, so both see the planted MLflow fast deployment.
        let replay = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/"])
        let expected = try Self.findingUIDs(replay.stdout)
        #expect(expected.count >= 41)
        #expect(try Self.findingUIDs(dir.read("alerts.ndjson")).sorted() == expected.sorted())
        #expect(dir.read("dead.ndjson").split(separator: "\n").count == replay.stderr.components(separatedBy: "dead-letter: ").count - 1,
                "the broken sample records are dead-lettered by both")
    }
}
