import CHTTPClient
import CZlib
import Foundation

/// Alerts POSTed to an HTTP collector: Splunk's HTTP Event Collector (`splunk+https://host:8088`, batches of HEC
/// envelopes, `Authorization: Splunk <token>`) or any endpoint taking JSON lines (`https://…`). A batch is
/// acknowledged on a 2xx answer; 429, 5xx and transport errors are retried, other 4xx answers are permanent.
/// Over HTTPS, `ca` is the bundle the collector's certificate must chain to (default: the system's) and `cert` and
/// `key` are a client certificate for collectors that require one. A failed handshake or verification is a
/// transport error, retried: a refused client certificate reaches libcurl as an alert or a closed connection, not
/// told apart from other breaks, and a collector's certificate can be fixed while the alerts wait.
public struct HTTPSinkConfiguration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case splunkHEC(token: String)
        case jsonLines
    }

    public var url: String
    public var kind: Kind
    public var gzip: Bool
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    public var timeoutMilliseconds: Int

    /// Splunk's default HEC path, used when the URL has none.
    public static let hecPath = "/services/collector/event"

    /// `splunk+https://host:8088[/path]?token-file=F|token-env=NAME|token=T[&gzip=true&ca=F&cert=F&key=F&timeout-ms=N]`
    /// or `https://host/path?...` (JSON lines; same options but the token).
    public init(parsing sink: String) throws {
        var rest = sink
        let isHEC = rest.hasPrefix("splunk+")
        if isHEC { rest.removeFirst("splunk+".count) }
        guard rest.hasPrefix("http://") || rest.hasPrefix("https://") else {
            throw OutputSpecificationError(sink, "an HTTP sink starts with http://, https://, splunk+http:// or splunk+https://")
        }
        var options: [String: String] = [:]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw OutputSpecificationError(sink, "'\(pair)' is not key=value") }
                options[parts[0]] = parts[1]
            }
            rest = String(rest[..<question])
        }
        let known: Set<String> = ["token", "token-file", "token-env", "gzip", "ca", "cert", "key", "timeout-ms"]
        if let unknown = options.keys.sorted().first(where: { !known.contains($0) }) {
            throw OutputSpecificationError(sink, "unknown HTTP sink option '\(unknown)' (\(known.sorted().joined(separator: ", ")))")
        }
        if isHEC {
            let afterScheme = rest.range(of: "://")!.upperBound
            if !rest[afterScheme...].contains("/") { rest += HTTPSinkConfiguration.hecPath }
            let token: String
            if let inline = options["token"] {
                token = inline
            } else if let file = options["token-file"] {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw OutputSpecificationError(sink, "cannot read the token file \(file)")
                }
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let name = options["token-env"] {
                guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                    throw OutputSpecificationError(sink, "environment variable \(name) is not set")
                }
                token = value
            } else {
                throw OutputSpecificationError(sink, "Splunk HEC needs token-file=, token-env= or token=")
            }
            kind = .splunkHEC(token: token)
        } else {
            if options["token"] != nil || options["token-file"] != nil || options["token-env"] != nil {
                throw OutputSpecificationError(sink, "tokens are for Splunk HEC (splunk+https://)")
            }
            kind = .jsonLines
        }
        url = rest
        gzip = options["gzip"] == "true"
        caFile = options["ca"]
        certificateFile = options["cert"]
        keyFile = options["key"]
        guard let timeout = Int(options["timeout-ms"] ?? "30000"), timeout > 0 else {
            throw OutputSpecificationError(sink, "timeout-ms must be a positive number of milliseconds")
        }
        timeoutMilliseconds = timeout
    }
}

public final class HTTPSink: AlertSink, @unchecked Sendable {
    public let name: String
    public let configuration: HTTPSinkConfiguration
    private var client: OpaquePointer?
    private let headers: [String]

    public init(_ configuration: HTTPSinkConfiguration) {
        self.configuration = configuration
        name = configuration.url
        var headers: [String] = []
        switch configuration.kind {
        case .splunkHEC(let token):
            headers.append("Authorization: Splunk \(token)")
            headers.append("Content-Type: application/json")
        case .jsonLines:
            headers.append("Content-Type: application/x-ndjson")
        }
        if configuration.gzip { headers.append("Content-Encoding: gzip") }
        headers.append("Expect:")  // no 100-continue round trip
        self.headers = headers
    }

    public func deliver(_ payloads: [[UInt8]]) throws(SinkFailure) {
        if client == nil {
            client = configuration.withOptions { pw_http_client_new($0) }
            guard client != nil else { throw .retryable("cannot start an HTTP client") }
        }
        // HEC takes envelopes back to back; other collectors one JSON document per line.
        var body: [UInt8] = []
        body.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 1 })
        for payload in payloads {
            body.append(contentsOf: payload)
            body.append(0x0A)
        }
        if configuration.gzip { body = HTTPSink.gzip(body) }

        var response = pw_http_response()
        let sent = withCStrings(headers) { headerPointers in
            body.withUnsafeBytes { bytes in
                pw_http_post(client, configuration.url, headerPointers, headers.count,
                             bytes.baseAddress, bytes.count, &response)
            }
        }
        defer { pw_http_free_body(&response) }
        let answer = response.body.map { String(cString: $0) } ?? ""
        guard sent == 0 else {
            let reason = withUnsafeBytes(of: response.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw .retryable("\(configuration.url): \(reason)")
        }
        switch response.status {
        case 200..<300:
            return
        case 429, 500..<600:
            throw .retryable("\(configuration.url): HTTP \(response.status) \(answer.prefix(200))")
        default:
            throw .permanent("\(configuration.url): HTTP \(response.status) \(answer.prefix(200))")
        }
    }

    public func close() {
        if let client { pw_http_client_free(client) }
        client = nil
    }

    /// One gzip member of `bytes` (zlib's deflate with a gzip wrapper).
    public static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                // The output holds deflateBound: one call finishes the stream.
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<written])
    }
}

extension HTTPSinkConfiguration {
    fileprivate func withOptions<R>(_ body: (UnsafePointer<pw_http_options>) -> R) -> R {
        func withOptional(_ text: String?, _ next: (UnsafePointer<CChar>?) -> R) -> R {
            guard let text else { return next(nil) }
            return text.withCString { next($0) }
        }
        return withOptional(caFile) { ca in
            withOptional(certificateFile) { cert in
                withOptional(keyFile) { key in
                    var options = pw_http_options(
                        ca_file: ca, cert_file: cert, key_file: key, timeout_ms: timeoutMilliseconds, insecure: 0)
                    return body(&options)
                }
            }
        }
    }
}

/// Calls `body` with a C array of C strings valid for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
