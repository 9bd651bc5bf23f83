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

    /// An authentic delivery whose body is truncated JSON or not UTF-8 is dead-lettered (reason, delivery id, the
    /// exact bytes) before it is answered 200: refused with a 4xx it would be lost, since MLflow does not retry one.
    /// A body over the configured `max-body-bytes` is answered 413 unread (it cannot be verified without it).
    @Test(.timeLimit(.minutes(1)))
    func anAuthenticDeliveryThatIsNotJSONIsDeadLetteredThenAccepted() async throws {
        let dir = try TemporaryDirectory()
        let rule = repositoryRoot.appendingPathComponent("rules/mlflow/webhook/mlflow_model_version_registered_from_external_source.yml")
        try dir.write("rules/rule.yml", try String(contentsOf: rule, encoding: .utf8))
        let config = try dir.write("pipewatch.yaml", """
            inputs:
              webhook:
                listen: 127.0.0.1:0
                path: /mlflow
                secrets: [whsec-right]
                max-body-bytes: 4096
            rules: [rules/]
            outputs: ["ocsf:file:alerts.ndjson"]
            dead-letter: dead.ndjson
            metrics: {listen: "127.0.0.1:0"}
            """)
        let running = try RunningDaemon(configuration: config)
        #expect(running.wait(seconds: 20) { _ in running.daemon.listeningPorts.count == 2 }, "\(running.log)")
        let webhook = try #require(running.daemon.listeningPorts["webhook"])
        let metricsPort = try #require(running.daemon.listeningPorts["metrics"])

        let truncated = Array(Self.externalSourceBody.utf8.prefix(Self.externalSourceBody.utf8.count * 9 / 10))
        let notUTF8 = Array(Self.externalSourceBody.utf8.prefix(90)) + [0xFF, 0xFE, 0x22, 0x7D, 0x7D]
        let first = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", bytes: truncated, secret: "whsec-right", deliveryID: "d-truncated")
        // Answered only once the dead letter is durable: it is in the file now.
        let deadAfterFirst = dir.read("dead.ndjson")
        let second = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", bytes: notUTF8, secret: "whsec-right", deliveryID: "d-not-utf8")
        let retry = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", bytes: truncated, secret: "whsec-right", deliveryID: "d-truncated")
        let good = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: Self.externalSourceBody, secret: "whsec-right", deliveryID: "d-good")
        let padded = Self.externalSourceBody.replacingOccurrences(
            of: #""description": null"#, with: #""description": "\#(String(repeating: "x", count: 4096))""#)
        let large = try await TestClients.postDelivery(
            port: webhook, path: "/mlflow", body: padded, secret: "whsec-right", deliveryID: "d-large")
        #expect(running.wait(seconds: 5) { $0.badRecords == 2 && $0.alerts == 1 })
        let metrics = try await TestClients.curl("http://127.0.0.1:\(metricsPort)/metrics").body
        #expect(running.stop())

        #expect([first.status, second.status, retry.status, good.status, large.status] == [200, 200, 200, 200, 413] as [Int])
        #expect(first.body.hasPrefix("accepted and dead-lettered: the body is not JSON: invalid JSON at byte"), "\(first.body)")
        #expect(retry.body.contains("duplicate"), "a retry of a dead-lettered delivery is not dead-lettered twice")
        #expect(deadAfterFirst.contains("d-truncated"))
        let lines = dir.read("dead.ndjson").split(separator: "\n")
        try #require(lines.count == 2, "\(lines)")
        let letters = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(letters.map { $0["input"] as? String } == ["webhook:d-truncated", "webhook:d-not-utf8"])
        #expect(letters.allSatisfy { $0["stage"] as? String == "parse" })
        #expect((letters[0]["reason"] as? String)?.hasPrefix("the body is not JSON: invalid JSON at byte") == true)
        #expect(letters[0]["raw"] as? String == String(decoding: truncated, as: UTF8.self))
        #expect(letters[1]["reason"] as? String == "the body is not JSON: invalid JSON at byte 90: invalid UTF-8")
        #expect((letters[1]["raw_base64"] as? String).flatMap { Data(base64Encoded: $0) } == Data(notUTF8), "the exact bytes")
        #expect(metrics.contains(#"pipewatch_webhook_deliveries_total{result="dead_lettered"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"pipewatch_bad_records_total{stage="parse"} 2"#))
        #expect(metrics.contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="body_too_large"} 1"#), "\(metrics)")
        #expect(dir.read("alerts.ndjson").contains("d-good"), "the pipeline goes on with the next delivery")
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
