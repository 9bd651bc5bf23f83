import Foundation
import PipewatchDaemon
import PipewatchEvents
import PipewatchInputs
import Testing

/// The MLflow webhook receiver on the real HTTP server (127.0.0.1, ephemeral port), driven by real clients whose
/// signatures are computed by Python's hmac, not by the code under test.
@Suite struct WebhookReceiverTests {
    static let secret = "whsec-7f3a9c"
    /// A delivery exactly as MLflow 3.x serializes it (json.dumps default separators, key order of delivery.py).
    static let body = #"{"entity": "model_version", "action": "created", "timestamp": "2026-11-21T18:12:14.888917+00:00", "data": {"name": "fraud-detection-xgb", "version": "7", "source": "models:/m-04de4b396758a3edd8164990523ff569", "run_id": "3b9a7c3f2614014b31e4c6b52f48e045", "tags": {"git_sha": "9a4f0c2e71b8"}, "description": null}}"#

    /// A running server with a receiver; `accept` records what it is handed, or fails while `failing` is set.
    final class Harness: Sendable {
        let server: HTTPServer
        let receiver: MLflowWebhookReceiver
        let metrics = PipewatchMetrics()
        let accepted = AcceptedRecords()
        let failing = Flag()
        let acceptDelay: Duration

        init(
            secrets: [String] = [WebhookReceiverTests.secret], maxBodyBytes: Int = 1 << 20,
            acceptDelay: Duration = .zero, clock: (@Sendable () -> Int64)? = nil
        ) async throws {
            server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes))
            self.acceptDelay = acceptDelay
            let accepted = self.accepted, failing = self.failing
            let configuration = MLflowWebhookReceiver.Configuration(
                secrets: secrets, registry: "https://mlflow.acme.example")
            let accept: MLflowWebhookReceiver.Accept = { payload, id in
                if acceptDelay > .zero { try await Task.sleep(for: acceptDelay) }
                if failing.isSet { throw CancellationError() }
                accepted.append(payload, id)
            }
            if let clock {
                receiver = try MLflowWebhookReceiver(configuration, metrics: metrics, clock: clock, accept: accept)
            } else {
                receiver = try MLflowWebhookReceiver(configuration, metrics: metrics, accept: accept)
            }
            receiver.install(on: server)
            try await server.start()
        }

        var port: Int { server.port }

        func post(
            body: String = WebhookReceiverTests.body, secret: String = WebhookReceiverTests.secret,
            id: String = UUID().uuidString.lowercased(), timestamp: Int64? = nil, tamper: Bool = false,
            signed: Bool = true
        ) async throws -> (status: Int, body: String) {
            try await post(bytes: Array(body.utf8), secret: secret, id: id, timestamp: timestamp, tamper: tamper, signed: signed)
        }

        func post(
            bytes: [UInt8], secret: String = WebhookReceiverTests.secret, id: String = UUID().uuidString.lowercased(),
            timestamp: Int64? = nil, tamper: Bool = false, signed: Bool = true
        ) async throws -> (status: Int, body: String) {
            try await TestClients.postDelivery(
                port: port, bytes: bytes, secret: secret, deliveryID: id, timestamp: timestamp, tamper: tamper,
                signed: signed)
        }

        var metricsText: String { String(decoding: metrics.exposition(), as: UTF8.self) }
    }

    @Test func signedDeliveryIsAcceptedAndNormalizesWithTheDeliveryIDAsRequestID() async throws {
        let harness = try await Harness()
        let id = "9797d354-6461-45d8-b6ec-ca41fd856fd7"
        let now = Int64(Date().timeIntervalSince1970)
        let answer = try await harness.post(id: id, timestamp: now)
        await harness.server.shutdown()

        #expect(answer.status == 200, "\(answer.body)")
        let handed = harness.accepted.all
        try #require(handed.count == 1)
        #expect(handed[0].id == id)
        // The body is kept byte for byte; `_delivery` goes in before its closing brace.
        let text = String(decoding: handed[0].record, as: UTF8.self)
        #expect(text == String(Self.body.dropLast()) + #", "_delivery": {"id": "\#(id)", "timestamp": "\#(now)", "remote_addr": "127.0.0.1", "registry": "https://mlflow.acme.example"}}"#)

        let events = try NormalizedFields.of(handed[0].record)
        try #require(events.count == 1)
        let event = events[0]
        #expect(event.failures.isEmpty, "\(event.failures)")
        #expect(event.source == "mlflow.webhook")
        #expect(event.fields[.apiRequestID] == id)
        #expect(event.fields[.uid] == id)
        #expect(event.fields[.apiOperation] == "model_version.created")
        #expect(event.fields[.mlName] == "fraud-detection-xgb")
        #expect(event.fields[.mlVersion] == "7")
        #expect(event.fields[.srcIP] == "127.0.0.1")
        #expect(event.fields[.cloudAccount] == "https://mlflow.acme.example")
        #expect(event.time == "2026-11-21T18:12:14.888Z")
        #expect(harness.metricsText.contains(#"pipewatch_webhook_deliveries_total{result="accepted"} 1"#))
    }

    @Test func deliveryIDIsJSONEscapedInTheRecord() async throws {
        let harness = try await Harness()
        let id = #"odd"id\with\quotes"#
        let answer = try await harness.post(id: id)
        await harness.server.shutdown()

        #expect(answer.status == 200, "\(answer.body)")
        let handed = try #require(harness.accepted.all.first)
        #expect(handed.id == id)
        let events = try NormalizedFields.of(handed.record)
        #expect(events.first?.failures == [])
        #expect(events.first?.fields[.apiRequestID] == id)
    }

    enum Forgery: String, CaseIterable { case tamperedBody, wrongSecret, staleTimestamp, futureTimestamp }

    @Test(arguments: Forgery.allCases)
    func forgedOrReplayedDeliveriesAreRefusedWith401AndNotHandedOver(_ forgery: Forgery) async throws {
        let harness = try await Harness()
        let now = Int64(Date().timeIntervalSince1970)
        let answer: (status: Int, body: String)
        switch forgery {
        case .tamperedBody: answer = try await harness.post(tamper: true)
        case .wrongSecret: answer = try await harness.post(secret: "whsec-guessed")
        case .staleTimestamp: answer = try await harness.post(timestamp: now - 301)
        case .futureTimestamp: answer = try await harness.post(timestamp: now + 900)
        }
        // The same delivery, authentic and fresh, still goes through: the refusal was about the forgery.
        let genuine = try await harness.post()
        await harness.server.shutdown()

        #expect(answer.status == 401, "\(answer.body)")
        #expect(genuine.status == 200)
        #expect(harness.accepted.all.count == 1)
        let reason = forgery == .tamperedBody || forgery == .wrongSecret ? "bad_signature" : "stale_timestamp"
        #expect(harness.metricsText.contains(#"pipewatch_webhook_rejected_total{reason="\#(reason)"} 1"#), "\(harness.metricsText)")
    }

    @Test func replayWindowIsConfigurableAndMeasuredFromTheReceiversClock() async throws {
        // The receiver's clock is an hour ahead: a delivery stamped "now" by the sender is stale to it.
        let harness = try await Harness(clock: { Int64(Date().timeIntervalSince1970) + 3600 })
        let now = Int64(Date().timeIntervalSince1970)
        let fresh = try await harness.post(timestamp: now)
        let shifted = try await harness.post(timestamp: now + 3600 - 250)  // inside the window, with time to spare
        await harness.server.shutdown()
        #expect(fresh.status == 401)
        #expect(shifted.status == 200)
        #expect(harness.accepted.all.count == 1)
    }

    @Test func missingSignatureIs400AndMissingIDOrTimestampToo() async throws {
        let harness = try await Harness()
        let unsigned = try await harness.post(signed: false)
        // Without a delivery id or timestamp header: curl with only a signature.
        let noID = try await TestClients.curl(
            "http://127.0.0.1:\(harness.port)/webhooks/mlflow",
            ["-X", "POST", "-H", "X-MLflow-Signature: v1,AAAA", "-H", "X-MLflow-Timestamp: 1", "--data-binary", Self.body])
        let badTimestamp = try await harness.post(timestamp: -5)
        await harness.server.shutdown()
        #expect(unsigned.status == 400)
        #expect(unsigned.body.contains("missing"))
        #expect(noID.status == 400)
        #expect(badTimestamp.status == 400)
        #expect(harness.accepted.all.isEmpty)
        #expect(harness.metricsText.contains(#"pipewatch_webhook_rejected_total{reason="missing_header"} 3"#))
    }

    @Test func secretsRotate() async throws {
        let harness = try await Harness(secrets: ["whsec-old", "whsec-new"])
        let old = try await harness.post(secret: "whsec-old")
        let new = try await harness.post(secret: "whsec-new")
        let other = try await harness.post(secret: "whsec-other")
        await harness.server.shutdown()
        #expect([old.status, new.status, other.status] == [200, 200, 401] as [Int])
        #expect(harness.accepted.all.count == 2)
    }

    /// An authentic, fresh delivery whose body cannot become a record is not refused: MLflow does not retry a 4xx,
    /// so it would be lost. It is handed over to be dead-lettered, byte for byte with the reason, and answered 200.
    @Test func authenticBodyThatIsNotOneJSONObjectIsHandedOverToBeDeadLettered() async throws {
        let harness = try await Harness()
        let truncated = Array(Self.body.utf8.dropLast(2))  // without its closing braces
        let invalidUTF8 = Array(#"{"entity": "model_version", "action": "created", "data": {"name": "fraud-"#.utf8)
            + [0xC3, 0x28, 0xFF] + Array(#""}}"#.utf8)
        let cases: [(body: [UInt8], reason: String)] = [
            (truncated, "the body is not JSON: invalid JSON at byte \(truncated.count): unexpected end of record"),
            (invalidUTF8, "the body is not JSON: invalid JSON at byte 73: invalid UTF-8"),
            (Array("[1, 2]".utf8), "the body is an array, not a JSON object"),
            (Array(#""fraud""#.utf8), "the body is a string, not a JSON object"),
            (Array(#"{"entity": "fraud"} trailing"#.utf8), "the body is not JSON: invalid JSON at byte 20: unexpected characters after the JSON value"),
            ([], "the body is empty"),
            (Array(#"{"a": 1, "_delivery": {"id": "x"}}"#.utf8), "the body already has a _delivery member"),
        ]
        var answers: [(status: Int, body: String)] = []
        for (index, item) in cases.enumerated() {
            answers.append(try await harness.post(bytes: item.body, id: "bad-\(index)"))
        }
        let retry = try await harness.post(bytes: truncated, id: "bad-0")
        let empty = try await harness.post(body: "  {}  ")
        await harness.server.shutdown()

        #expect(answers.map(\.status) == Array(repeating: 200, count: cases.count))
        #expect(answers[0].body.hasPrefix("accepted and dead-lettered: the body is not JSON"), "\(answers[0].body)")
        let handed = harness.accepted.undecodable
        try #require(handed.count == cases.count)
        for (index, item) in cases.enumerated() {
            #expect(handed[index].id == "bad-\(index)")
            #expect(handed[index].body == item.body, "the body as received, not a decoded copy")
            #expect(handed[index].reason == item.reason)
        }
        #expect(retry.status == 200 && retry.body.contains("duplicate"), "a retry of a dead-lettered delivery is not handed over again")
        #expect(harness.metricsText.contains(#"pipewatch_webhook_deliveries_total{result="dead_lettered"} \#(cases.count)"#), "\(harness.metricsText)")
        #expect(!harness.metricsText.contains("pipewatch_webhook_rejected_total"))
        // An empty object is still an object: the record is just the delivery (the normalizer refuses it later).
        #expect(empty.status == 200)
        #expect(harness.accepted.all.map { String(decoding: $0.record, as: UTF8.self).hasPrefix(#"{"_delivery": {"id": ""#) } == [true])
    }

    /// A forged delivery with a body that is not JSON is refused like any forgery, and nothing is dead-lettered.
    @Test func forgedBodyThatIsNotJSONIsRefusedNotDeadLettered() async throws {
        let harness = try await Harness()
        let answer = try await harness.post(bytes: Array(#"{"entity": "fraud"#.utf8), secret: "whsec-guessed")
        await harness.server.shutdown()
        #expect(answer.status == 401)
        #expect(harness.accepted.ids.isEmpty)
    }

    @Test func duplicateDeliveryIsAnswered200AndHandedOverOnce() async throws {
        let harness = try await Harness()
        let id = UUID().uuidString.lowercased()
        let first = try await harness.post(id: id)
        let retry = try await harness.post(id: id)
        await harness.server.shutdown()
        #expect(first.status == 200)
        #expect(retry.status == 200)
        #expect(retry.body.contains("duplicate"))
        #expect(harness.accepted.ids == [id])
        #expect(harness.metricsText.contains(#"pipewatch_webhook_deliveries_total{result="duplicate"} 1"#))
    }

    @Test func retryArrivingDuringTheFirstHandOverWaitsForItsOutcome() async throws {
        let harness = try await Harness(acceptDelay: .milliseconds(1500))
        let id = UUID().uuidString.lowercased()
        async let first = harness.post(id: id)
        try await Task.sleep(for: .milliseconds(500))
        async let second = harness.post(id: id)
        let statuses = try await [first.status, second.status]
        await harness.server.shutdown()
        #expect(statuses == [200, 200])
        #expect(harness.accepted.ids == [id])
    }

    @Test func pipelineFailureIs503AndTheRetryIsHandedOver() async throws {
        let harness = try await Harness()
        let id = UUID().uuidString.lowercased()
        harness.failing.set()
        let refused = try await harness.post(id: id)
        harness.failing.set(false)
        let retry = try await harness.post(id: id)
        await harness.server.shutdown()
        #expect(refused.status == 503)
        #expect(retry.status == 200)
        #expect(harness.accepted.ids == [id])
        #expect(harness.metricsText.contains(#"pipewatch_webhook_rejected_total{reason="pipeline_unavailable"} 1"#))
    }

    @Test func bodyOverTheLimitIs413AndNotHandedOver() async throws {
        let limit = 2048
        let harness = try await Harness(maxBodyBytes: limit)
        // A delivery padded with a description to exactly the limit passes; one byte more does not.
        func padded(_ size: Int) -> String {
            let head = #"{"entity": "registered_model", "action": "created", "timestamp": "2026-11-21T18:12:14.888917+00:00", "data": {"name": "fraud", "description": ""#
            let tail = #""}}"#
            return head + String(repeating: "x", count: size - head.utf8.count - tail.utf8.count) + tail
        }
        let atLimit = try await harness.post(body: padded(limit))
        let over = try await harness.post(body: padded(limit + 1))
        // Declared too large up front (curl sends Expect: 100-continue for big bodies): refused before the body.
        let directory = try TemporaryDirectory()
        let hugeFile = try directory.write("huge", String(repeating: "y", count: 1 << 20))
        let huge = try await TestClients.curl(
            "http://127.0.0.1:\(harness.port)/webhooks/mlflow",
            ["-X", "POST", "-H", "Expect: 100-continue", "--data-binary", "@" + hugeFile])
        await harness.server.shutdown()
        #expect(atLimit.status == 200)
        #expect(over.status == 413)
        #expect(huge.status == 413)
        #expect(harness.accepted.all.count == 1)
    }

    @Test func receiverNeedsASecret() {
        #expect(throws: MLflowWebhookReceiver.ConfigurationError.self) {
            _ = try MLflowWebhookReceiver(.init(secrets: ["", ""])) { _, _ in }
        }
    }
}
