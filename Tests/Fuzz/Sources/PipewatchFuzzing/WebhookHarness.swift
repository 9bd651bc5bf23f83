import Crypto
import Foundation
import PipewatchInputs
import PipewatchJSON
import Synchronization

/// Harness 3: one MLflow webhook request (headers and body) through the receiver's verification and decoding,
/// called directly as the HTTP server calls it, without sockets.
///
/// Input: a flags byte (bit 0 signs the request with the receiver's secret, else the signature header is an input
/// piece; bit 1 sends a fresh timestamp, else an input piece; bits 2–4 leave out or re-case the three MLflow headers;
/// bit 5 makes the pipeline refuse the first hand-over, as a full queue does; bit 6 adds a remote address), then
/// pieces: delivery id, timestamp, signature, remote address, up to three extra headers (name, value), and the
/// body (the rest).
///
/// Checked: the answer is one the receiver documents; a well-formed, authentic, fresh request is handed over exactly
/// once (its retry answered as a duplicate, or handed over after a refused first attempt); a handed-over record is
/// strictly valid JSON with the delivery spliced in; a body that is a JSON object is never dead-lettered as
/// undecodable (unless it already has `_delivery`); an undecodable body is handed over byte for byte.
public enum WebhookHarness {
    static let secret = "fuzz-webhook-secret"
    static let now: Int64 = 1_793_612_418

    final class Handovers: Sendable {
        let payloads = Mutex<[(MLflowWebhookReceiver.Payload, String)]>([])
        let refuseNext = Atomic<Bool>(false)
    }

    public static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let deliveryID = input.text()
        var timestamp = input.text()
        if flags & 0x02 != 0 { timestamp = String(now - 17) }
        var signature = input.text()
        let remote = input.text()
        var extra: [(String, String)] = []
        for _ in 0..<Int(input.byte() % 4) { extra.append((input.text(), input.text())) }
        let body = input.rest()
        if flags & 0x01 != 0 { signature = sign(deliveryID: deliveryID, timestamp: timestamp, body: body) }

        var headers = HTTPFields([("Content-Type", "application/json")] + extra)
        let names = ["X-MLflow-Delivery-Id", "X-MLflow-Timestamp", "X-MLflow-Signature"]
        for (index, (name, value)) in zip(names, [deliveryID, timestamp, signature]).enumerated() {
            switch flags >> (2 + index) & 1 {
            case 0: headers.add(name, value)
            default: if flags & 0x80 != 0 { headers.add(name.lowercased(), value) }
            }
        }
        let request = HTTPRequest(
            method: "POST", path: "/webhooks/mlflow", headers: headers, body: body,
            remoteAddress: flags & 0x40 != 0 ? remote : nil)

        let handovers = Handovers()
        handovers.refuseNext.store(flags & 0x20 != 0, ordering: .relaxed)
        let receiver: MLflowWebhookReceiver
        do {
            receiver = try MLflowWebhookReceiver(
                .init(secrets: ["old-secret", secret], registry: "https://mlflow.example"), clock: { now }
            ) { payload, id in
                if handovers.refuseNext.exchange(false, ordering: .relaxed) { throw CancellationError() }
                handovers.payloads.withLock { $0.append((payload, id)) }
            }
        } catch {
            fatalError("receiver: \(error)")
        }

        let first = answer(receiver, request)
        let second = answer(receiver, request)
        for response in [first, second] {
            invariant([200, 400, 401, 503].contains(response.status), "answered \(response.status)")
        }
        let payloads = handovers.payloads.withLock { $0 }
        invariant(payloads.count <= 1, "one delivery handed over \(payloads.count) times")

        let headersPresent = headers[names[0]] != nil && headers[names[1]] != nil && headers[names[2]] != nil
        let wellFormed = headersPresent && headers[names[0]] == deliveryID && headers[names[1]] == timestamp
            && (1...200).contains(deliveryID.utf8.count) && (1...18).contains(timestamp.utf8.count)
            && timestamp.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && headers[names[2]] == signature
        if wellFormed && flags & 0x03 == 0x03 {
            invariant(payloads.count == 1, "an authentic fresh delivery was not handed over (answers \(first.status), \(second.status))")
            invariant(second.status == 200, "the retry was answered \(second.status)")
        }
        guard let (payload, id) = payloads.first else { return }
        invariant(id == deliveryID, "handed over as \(id), sent as \(deliveryID)")
        switch payload {
        case .record(let record):
            if let problem = StrictJSON.problem(record) {
                invariant(false, "record: \(problem): \(String(decoding: record.prefix(400), as: UTF8.self))")
            }
            invariant(record.first == UInt8(ascii: "{") && record.last == UInt8(ascii: "}"), "record is not an object")
            invariant(record.contains(subsequence: Array(#""_delivery": {"id": "#.utf8)), "record without _delivery")
        case .undecodable(let undecodable, let reason):
            invariant(undecodable == body, "an undecodable body was not handed over as received")
            invariant(!reason.isEmpty, "undecodable without a reason")
            let trimmed = body.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            // Deeper than the parser's documented bound is refused like any body that is not JSON.
            if StrictJSON.problem(body, maxDepth: JSONParser.maxDepth) == nil, trimmed.first == UInt8(ascii: "{"), !body.contains(subsequence: Array("_delivery".utf8)) {
                invariant(false, "a JSON object body was dead-lettered: \(reason)")
            }
        }
    }

    /// MLflow's signature: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
    static func sign(deliveryID: String, timestamp: String, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        mac.update(data: Array("\(deliveryID).\(timestamp).".utf8))
        mac.update(data: body)
        return "v1," + Data(mac.finalize()).base64EncodedString()
    }

    /// The receiver's answer, waited for on this thread (libFuzzer calls the harness synchronously).
    static func answer(_ receiver: MLflowWebhookReceiver, _ request: HTTPRequest) -> HTTPResponse {
        let done = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        Task {
            let response = await receiver.handle(request)
            box.response.withLock { $0 = response }
            done.signal()
        }
        done.wait()
        return box.response.withLock { $0! }
    }

    final class ResponseBox: Sendable {
        let response = Mutex<HTTPResponse?>(nil)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return subsequence.isEmpty }
        for start in 0...(count - subsequence.count) where self[start] == subsequence[0] {
            if self[start..<(start + subsequence.count)].elementsEqual(subsequence) { return true }
        }
        return false
    }
}
