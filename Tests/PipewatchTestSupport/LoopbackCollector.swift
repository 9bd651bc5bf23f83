import Foundation

/// The loopback Splunk HEC collector (Collector/hec_collector.py), started for one test and stopped after.
public final class LoopbackCollector: @unchecked Sendable {
    /// HTTPS: the collector's certificate and key, and the CA its clients' certificates must chain to (nil: no
    /// client certificate asked for).
    public struct TLS {
        public var certificate: String
        public var key: String
        public var clientCA: String?

        public init(certificate: String, key: String, clientCA: String?) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public let port: Int
    public let recordFile: String
    private let directory: TemporaryDirectory
    private let process: ChildProcess

    public init(token: String, failFirst: Int, tls: TLS? = nil) throws {
        directory = try TemporaryDirectory()
        recordFile = directory.path("received.ndjson")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Collector/hec_collector.py")
        let tlsArguments = tls.map { [$0.certificate, $0.key] + ($0.clientCA.map { [$0] } ?? []) } ?? []
        process = try ChildProcess(
            "python3", ["-u", script.path, token, String(failFirst), recordFile] + tlsArguments,
            stdout: directory.path("port"), stderr: directory.path("log"))
        // The first line it prints is the port it listens on.
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while port == nil && process.isRunning && Date() < deadline {
            let text = directory.read("port")
            if text.hasSuffix("\n") { port = Int(text.dropLast()) } else { usleep(10_000) }
        }
        guard let port else { throw CollectorError.didNotStart(directory.read("log")) }
        self.port = port
    }

    deinit { process.terminate() }

    public enum CollectorError: Error { case didNotStart(String) }

    /// What the collector logged (refused TLS handshakes, one line each).
    public var log: String { directory.read("log") }

    /// The envelopes the collector accepted, in arrival order (complete lines only: it may be writing the next).
    public func received() throws -> [[String: Any]] {
        let text = directory.read("received.ndjson")
        return try text[..<(text.lastIndex(of: "\n") ?? text.startIndex)].split(separator: "\n").map {
            guard let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw CollectorError.didNotStart("not a JSON object: \($0)")
            }
            return object
        }
    }
}
