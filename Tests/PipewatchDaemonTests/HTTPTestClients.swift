import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchPipeline
import Synchronization

/// Real HTTP clients for the server tests (curl, and Python's urllib for signed MLflow deliveries), run as child
/// processes. They are waited for on a thread of their own: blocking a cooperative-pool thread in waitpid could
/// starve the very handlers the request is waiting for.
enum TestClients {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` to its end (killed after `timeout` seconds).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 60
    ) async throws -> Output {
        let directory = try TemporaryDirectory()
        let out = directory.path("stdout"), err = directory.path("stderr")
        let child = try ChildProcess(executable, arguments, stdout: out, stderr: err, environment: environment)
        let status = await blocking { child.wait(seconds: timeout) ?? child.terminate(timeout: 2) }
        return Output(status: status, stdout: directory.read("stdout"), stderr: directory.read("stderr"))
    }

    /// Runs blocking work (waitpid, connect polling) on a thread of its own, off the cooperative pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    /// One request with curl; the status code and the body.
    static func curl(_ url: String, _ options: [String] = []) async throws -> (status: Int, body: String) {
        let directory = try TemporaryDirectory()
        let bodyFile = directory.path("body")
        let output = try await run("curl", ["-sS", "-o", bodyFile, "-w", "%{http_code}"] + options + [url], timeout: 30)
        guard output.status == 0, let status = Int(output.stdout) else {
            throw ClientError.failed("curl \(url): exit \(output.status): \(output.stderr)")
        }
        return (status, directory.read("body"))
    }

    enum ClientError: Error { case failed(String) }

    /// Posts `body` the way MLflow does (mlflow/webhooks/delivery.py), signed by Python's hmac/hashlib/base64,
    /// independently of the Swift verifier. `timestamp` nil means now; `tamper` changes one body byte after signing;
    /// `signed: false` sends no signature header.
    static func postDelivery(
        port: Int, path: String = "/webhooks/mlflow", body: String, secret: String, deliveryID: String,
        timestamp: Int64? = nil, tamper: Bool = false, signed: Bool = true
    ) async throws -> (status: Int, body: String) {
        try await postDelivery(
            port: port, path: path, bytes: Array(body.utf8), secret: secret, deliveryID: deliveryID,
            timestamp: timestamp, tamper: tamper, signed: signed)
    }

    /// The same with a body of any bytes (invalid UTF-8 included).
    static func postDelivery(
        port: Int, path: String = "/webhooks/mlflow", bytes: [UInt8], secret: String, deliveryID: String,
        timestamp: Int64? = nil, tamper: Bool = false, signed: Bool = true
    ) async throws -> (status: Int, body: String) {
        let directory = try TemporaryDirectory()
        let script = try directory.write("post.py", deliveryScript)
        let bodyFile = try directory.write("body.json", bytes)
        let output = try await run("python3", [
            script, "http://127.0.0.1:\(port)\(path)", secret, deliveryID, timestamp.map(String.init) ?? "now",
            bodyFile, tamper ? "tamper" : "-", signed ? "signed" : "unsigned",
        ], timeout: 30)
        let lines = output.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard output.status == 0, let first = lines.first, let status = Int(first) else {
            throw ClientError.failed("post.py: exit \(output.status): \(output.stdout) \(output.stderr)")
        }
        return (status, lines.count > 1 ? String(lines[1]) : "")
    }

    /// Prints the status code, then the response body.
    static let deliveryScript = #"""
        import base64, hashlib, hmac, sys, time, urllib.error, urllib.request
        url, secret, delivery_id, timestamp, body_file, tamper, signed = sys.argv[1:8]
        payload = open(body_file, "rb").read()
        if timestamp == "now":
            timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-MLflow-Delivery-Id": delivery_id,
                   "X-MLflow-Timestamp": timestamp}
        if signed == "signed":
            content = f"{delivery_id}.{timestamp}.".encode("utf-8") + payload
            digest = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
            headers["X-MLflow-Signature"] = "v1," + base64.b64encode(digest).decode()
        if tamper == "tamper":
            payload = payload.replace(b"fraud", b"fraue", 1)
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        print(status)
        print(text.decode("utf-8", "replace"), end="")
        """#
}

/// What the receiver handed over, in order.
final class AcceptedRecords: Sendable {
    private let payloads = Mutex<[(payload: MLflowWebhookReceiver.Payload, id: String)]>([])

    func append(_ payload: MLflowWebhookReceiver.Payload, _ id: String) { payloads.withLock { $0.append((payload, id)) } }

    /// The records handed over (not the bodies to dead-letter).
    var all: [(record: [UInt8], id: String)] {
        payloads.withLock { $0 }.compactMap { if case .record(let record) = $0.payload { (record, $0.id) } else { nil } }
    }

    /// The bodies handed over to be dead-lettered, with the reason.
    var undecodable: [(body: [UInt8], reason: String, id: String)] {
        payloads.withLock { $0 }.compactMap {
            if case .undecodable(let body, let reason) = $0.payload { (body, reason, $0.id) } else { nil }
        }
    }

    /// Every delivery id handed over, records and bodies to dead-letter alike.
    var ids: [String] { payloads.withLock { $0 }.map(\.id) }

    /// Waits until at least `count` deliveries arrived; false after `seconds`.
    func wait(for count: Int, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while payloads.withLock({ $0.count }) < count {
            if Date() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }
}

/// Normalized fields of one record, read the way `pipewatch normalize` reads a file: framing, the parser and the
/// MLflow normalizer through EventDecoder.
struct NormalizedFields {
    var source: String
    var time: String?
    var fields: [EventField: String]
    var failures: [String]

    static func of(_ record: [UInt8]) throws -> [NormalizedFields] {
        let directory = try TemporaryDirectory()
        let path = try directory.write("deliveries.ndjson", record + [0x0A])
        let reader = RecordReader()
        let decoder = EventDecoder()
        var result: [NormalizedFields] = []
        _ = reader.read(path) { chunk in
            decoder.decode(chunk)
            let failures = decoder.failures.map { "\($0.stage.rawValue): \($0.reason)" }
            if !failures.isEmpty { result.append(NormalizedFields(source: "-", time: nil, fields: [:], failures: failures)) }
            decoder.forEachView { _, view in
                var fields: [EventField: String] = [:]
                for field in EventField.allCases { fields[field] = view.string(field) }
                result.append(NormalizedFields(source: view.source.name, time: view.timeText, fields: fields, failures: []))
            }
        }
        return result
    }
}

/// A flag shared between a test and the handlers it installs.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set(_ on: Bool = true) { value.withLock { $0 = on } }
}
