import Crypto
import Foundation
import PipewatchEvents
import PipewatchJSON
import Synchronization

/// Receives MLflow webhook deliveries (MLflow 3.3+) and hands each authentic one to the pipeline as one record.
///
/// Verification is MLflow's own scheme (`mlflow/webhooks/delivery.py`): `X-MLflow-Signature` is
/// `v1,` + base64(HMAC-SHA256(secret, "{X-MLflow-Delivery-Id}.{X-MLflow-Timestamp}.{raw body}")), checked over
/// the body bytes exactly as received, in constant time, against every accepted secret (so a secret can be
/// rotated: accept old and new, switch MLflow, drop the old).
///
/// | request | answer | handed over |
/// |---|---|---|
/// | signature, delivery id or timestamp header missing or malformed | 400 (as MLflow's own secure test receiver) | no |
/// | no accepted secret gives the signature | 401 | no |
/// | authentic, timestamp outside the replay window | 401 | no |
/// | authentic, delivery id accepted before (an MLflow retry) | 200 | no (once is enough) |
/// | authentic, `accept` returned | 200 | yes: the record, or the body to dead-letter |
/// | authentic, `accept` threw | 503, so MLflow retries with the same id | not taken |
///
/// The record is the body with `"_delivery": {"id", "timestamp", "remote_addr", "registry"}` spliced in before
/// its closing brace, the shape of samples/mlflow/*.ndjson that the MLflow normalizer reads; the body itself is
/// not re-serialized. `remote_addr` is the TCP peer (a proxy in front would be the peer).
///
/// An authentic, fresh delivery whose body is not one JSON object (truncated, invalid UTF-8, an array, or an
/// object that already has `_delivery`) is handed over as `.undecodable`, the body as received with the reason,
/// for the pipeline to dead-letter: refusing it would lose it, since MLflow does not retry a 4xx.
public final class MLflowWebhookReceiver: Sendable {
    public struct Configuration: Sendable {
        /// Every secret a delivery may be signed with; at least one.
        public var secrets: [String]
        /// How far X-MLflow-Timestamp may be from this host's clock, either way. MLflow signs once per send and
        /// retries with the same timestamp for about a minute, so keep it well above that.
        public var replayWindowSeconds: Int64
        /// The registry's URL, written to `_delivery.registry` (the event's cloud.account); nil leaves it out.
        public var registry: String?
        /// How many accepted delivery ids are remembered to answer MLflow's retries without a second hand-over.
        public var rememberedDeliveries: Int

        public init(
            secrets: [String], replayWindowSeconds: Int64 = 300, registry: String? = nil,
            rememberedDeliveries: Int = 10_000
        ) {
            self.secrets = secrets
            self.replayWindowSeconds = replayWindowSeconds
            self.registry = registry
            self.rememberedDeliveries = rememberedDeliveries
        }
    }

    public enum ConfigurationError: Error, CustomStringConvertible {
        case noSecret

        public var description: String {
            "the MLflow webhook receiver needs at least one non-empty secret (unsigned deliveries are refused)"
        }
    }

    /// What an authentic delivery hands the pipeline.
    public enum Payload: Sendable, Equatable {
        /// One record (a JSON object, no line break): the body with `_delivery` spliced in.
        case record([UInt8])
        /// A body that is not one JSON object, exactly as received, and why: to be dead-lettered.
        case undecodable(body: [UInt8], reason: String)
    }

    /// Takes one delivery's payload and its id; returns once the pipeline has accepted it (processed it, or
    /// dead-lettered it durably). Throwing makes the receiver answer 503, so MLflow sends it again.
    public typealias Accept = @Sendable (_ payload: Payload, _ deliveryID: String) async throws -> Void

    public let configuration: Configuration
    private let secrets: [[UInt8]]
    private let metrics: (any WebhookObserver)?
    private let accept: Accept
    private let clock: @Sendable () -> Int64
    private let ledger: DeliveryLedger

    /// Header names as MLflow spells them (mlflow/webhooks/constants.py); HTTPFields compares them case-insensitively.
    static let signatureHeader = "X-MLflow-Signature"
    static let deliveryIDHeader = "X-MLflow-Delivery-Id"
    static let timestampHeader = "X-MLflow-Timestamp"

    /// - Parameter clock: seconds since 1970 now; tests can move it.
    public init(
        _ configuration: Configuration, metrics: (any WebhookObserver)? = nil,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        accept: @escaping Accept
    ) throws {
        let secrets = configuration.secrets.filter { !$0.isEmpty }
        guard !secrets.isEmpty else { throw ConfigurationError.noSecret }
        self.configuration = configuration
        self.secrets = secrets.map { Array($0.utf8) }
        self.metrics = metrics
        self.clock = clock
        self.accept = accept
        ledger = DeliveryLedger(capacity: max(1, configuration.rememberedDeliveries))
    }

    /// Answers one delivery (see the table above).
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard let signature = request.headers[Self.signatureHeader],
              let deliveryID = request.headers[Self.deliveryIDHeader],
              let timestampText = request.headers[Self.timestampHeader]
        else {
            return reject(.missingHeader, 400, "missing \(Self.signatureHeader), \(Self.deliveryIDHeader) or \(Self.timestampHeader) header")
        }
        // MLflow sends a UUID and str(int(time.time())); the bounds keep the remembered ids small.
        guard (1...200).contains(deliveryID.utf8.count) else {
            return reject(.missingHeader, 400, "malformed \(Self.deliveryIDHeader) header")
        }
        guard (1...18).contains(timestampText.utf8.count), timestampText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let timestamp = Int64(timestampText)
        else {
            return reject(.missingHeader, 400, "malformed \(Self.timestampHeader) header (Unix seconds expected)")
        }
        guard verify(signature: signature, deliveryID: deliveryID, timestamp: timestampText, body: request.body) else {
            return reject(.badSignature, 401, "invalid signature")
        }
        // Checked after the signature, so a stale-timestamp count means an authentic but replayed or late delivery.
        guard abs(clock() - timestamp) <= configuration.replayWindowSeconds else {
            return reject(.staleTimestamp, 401, "timestamp outside the accepted window of \(configuration.replayWindowSeconds) s")
        }
        let payload: Payload
        switch Self.record(
            body: request.body, deliveryID: deliveryID, timestamp: timestampText,
            remoteAddress: request.remoteAddress, registry: configuration.registry)
        {
        case .success(let record): payload = .record(record)
        case .failure(let problem): payload = .undecodable(body: request.body, reason: problem.reason)
        }

        while true {
            switch await ledger.claim(deliveryID) {
            case .alreadyAccepted:
                metrics?.webhookAccepted(duplicate: true)
                return .text(200, "duplicate delivery, already accepted")
            case .retry:
                continue  // the attempt this one waited for failed: this one tries now
            case .owner:
                do {
                    try await accept(payload, deliveryID)
                } catch {
                    ledger.finish(deliveryID, accepted: false)
                    return reject(.pipelineUnavailable, 503, "pipeline did not accept the delivery, retry later")
                }
                ledger.finish(deliveryID, accepted: true)
                if case .undecodable(_, let reason) = payload {
                    metrics?.webhookDeadLettered()
                    return .text(200, "accepted and dead-lettered: \(reason)")
                }
                metrics?.webhookAccepted(duplicate: false)
                return .text(200, "accepted")
            }
        }
    }

    private func reject(_ reason: WebhookRejection, _ status: Int, _ message: String) -> HTTPResponse {
        metrics?.webhookRejected(reason)
        return .text(status, message)
    }

    /// Whether `signature` is `v1,<base64 MAC>` for one of the secrets. MAC comparison is constant-time
    /// (swift-crypto's `==` against bytes), and every secret is tried, so timing tells nothing about which matched.
    private func verify(signature: String, deliveryID: String, timestamp: String, body: [UInt8]) -> Bool {
        guard signature.hasPrefix("v1,"), let given = Data(base64Encoded: String(signature.dropFirst(3))),
              given.count == SHA256.byteCount
        else { return false }
        var matched = false
        for secret in secrets {
            var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
            mac.update(data: Array(deliveryID.utf8))
            mac.update(data: [UInt8(ascii: ".")])
            mac.update(data: Array(timestamp.utf8))
            mac.update(data: [UInt8(ascii: ".")])
            mac.update(data: body)
            if mac.finalize() == given { matched = true }
        }
        return matched
    }

    /// Why a body cannot become a record.
    struct BodyProblem: Error {
        var reason: String
    }

    /// The body with `_delivery` spliced in before its closing brace; a problem when the body is not one JSON
    /// object or already has a `_delivery` member (it would be ambiguous which one the normalizer reads).
    static func record(
        body: [UInt8], deliveryID: String, timestamp: String, remoteAddress: String?, registry: String?
    ) -> Result<[UInt8], BodyProblem> {
        guard !body.isEmpty else { return .failure(BodyProblem(reason: "the body is empty")) }
        let tape = JSONTape(capacity: 64)
        return body.withUnsafeBufferPointer { bytes -> Result<[UInt8], BodyProblem> in
            let base = bytes.baseAddress!
            let root: UInt32
            do { root = try JSONParser.parse(base, from: 0, to: bytes.count, into: tape) } catch {
                return .failure(BodyProblem(reason: "the body is not JSON: \(error)"))
            }
            let document = JSONDocument(bytes: base, nodes: tape.nodes)
            let node = document[root]
            guard node.kind == .object else {
                let what = [JSONKind.array: "an array", .string: "a string", .number: "a number"][node.kind]
                return .failure(BodyProblem(reason: "the body is \(what ?? "\(node.kind)"), not a JSON object"))
            }
            guard document.member(root, "_delivery") == nil else {
                return .failure(BodyProblem(reason: "the body already has a _delivery member"))
            }
            let open = Int(node.start), close = Int(node.end) - 1  // the braces

            // Python's json.dumps separators, like the body around it and the sample files.
            var writer = JSONWriter(capacity: 256)
            writer.fragment(Array((document.childCount(root) == 0 ? #""_delivery": {"# : #", "_delivery": {"#).utf8), endsValue: false)
            var first = true
            func member(_ name: String, _ value: String?) {
                guard let value else { return }
                writer.fragment(Array(((first ? "\"" : ", \"") + name + "\": ").utf8), endsValue: false)
                var utf8 = Array(value.utf8)
                utf8.withUnsafeMutableBufferPointer { writer.appendQuoted(UnsafeBufferPointer($0)) }
                first = false
            }
            member("id", deliveryID)
            member("timestamp", timestamp)
            member("remote_addr", remoteAddress)
            member("registry", registry)
            writer.fragment([UInt8(ascii: "}")], endsValue: true)

            let delivery = writer.bytes
            var record = [UInt8]()
            record.reserveCapacity(close - open + delivery.count + 1)
            record.append(contentsOf: bytes[open..<close])
            record.append(contentsOf: delivery)
            record.append(UInt8(ascii: "}"))
            return .success(record)
        }
    }
}
