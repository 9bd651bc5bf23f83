import Foundation
import PipewatchOutput

/// One output: a format and a sink, written `FORMAT:SINK` on the command line and in the configuration file.
///
///     ocsf:stdout
///     cef:file:/var/log/pipewatch/alerts.cef?max-bytes=104857600&keep=5&fsync=batch
///     hec:splunk+https://splunk.example:8088?token-env=HEC_TOKEN&gzip=true&ca=/etc/pipewatch/ca.pem
///     ecs:https://collector.example/ingest?ca=/etc/pipewatch/ca.pem&cert=client.pem&key=client.key
///     cef:syslog+tls://siem.example:6514?ca=/etc/pipewatch/ca.pem&facility=local4
///     ocsf:kafka://broker1:9092,broker2:9092/pipewatch-alerts?compression.type=zstd
///
/// Each sink's options are documented on its configuration type (`HTTPSinkConfiguration`, `SyslogConfiguration`,
/// `KafkaSinkConfiguration`) and in README.md.
public struct OutputSpecification: Sendable {
    public enum Destination: Sendable {
        case stdout
        /// `max-bytes` rotates the file when it would grow past that size (`path.1` … `path.<keep>`); `fsync=batch`
        /// (the default) acknowledges a batch only once it is on disk, `fsync=none` once written.
        case file(path: String, maxBytes: Int64?, keep: Int, syncEveryBatch: Bool)
        case http(HTTPSinkConfiguration)
        case syslog(SyslogConfiguration)
        case kafka(KafkaSinkConfiguration)
    }

    public var format: AlertFormat
    public var destination: Destination

    public init(format: AlertFormat, destination: Destination) {
        self.format = format
        self.destination = destination
    }

    public init(parsing text: String) throws {
        let formatEnd = text.firstIndex(of: ":") ?? text.endIndex
        guard let format = AlertFormat(rawValue: String(text[..<formatEnd])) else {
            throw OutputSpecificationError(text, "unknown format '\(text[..<formatEnd])'; expected one of "
                + AlertFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.format = format
        let sink = formatEnd < text.endIndex ? String(text[text.index(after: formatEnd)...]) : ""
        if sink == "stdout" || sink.isEmpty {
            destination = .stdout
        } else if sink.hasPrefix("file:") {
            destination = try Self.file(String(sink.dropFirst("file:".count)), text)
        } else if sink.hasPrefix("http://") || sink.hasPrefix("https://") || sink.hasPrefix("splunk+http") {
            destination = .http(try HTTPSinkConfiguration(parsing: sink))
        } else if sink.hasPrefix("syslog+") {
            destination = .syslog(try SyslogConfiguration(parsing: sink))
        } else if sink.hasPrefix("kafka://") {
            do {
                destination = .kafka(try KafkaSinkConfiguration(parsing: sink))
            } catch {
                throw OutputSpecificationError(text, "\(error)")
            }
        } else {
            throw OutputSpecificationError(text, "unknown sink '\(sink)'; expected stdout, file:PATH, "
                + "splunk+https://…, https://…, syslog+udp|tcp|tls://… or kafka://…")
        }
    }

    private static func file(_ pathAndQuery: String, _ text: String) throws -> Destination {
        var path = pathAndQuery
        var maxBytes: Int64?
        var keep = 5
        var sync = true
        if let question = path.firstIndex(of: "?") {
            let query = path[path.index(after: question)...]
            path = String(path[..<question])
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw OutputSpecificationError(text, "'\(pair)' is not key=value") }
                switch parts[0] {
                case "max-bytes":
                    guard let value = Int64(parts[1]), value > 0 else {
                        throw OutputSpecificationError(text, "max-bytes must be a positive number of bytes")
                    }
                    maxBytes = value
                case "keep":
                    guard let value = Int(parts[1]), value > 0 else {
                        throw OutputSpecificationError(text, "keep must be a positive number of files")
                    }
                    keep = value
                case "fsync":
                    guard parts[1] == "batch" || parts[1] == "none" else {
                        throw OutputSpecificationError(text, "fsync must be batch or none")
                    }
                    sync = parts[1] == "batch"
                default:
                    throw OutputSpecificationError(text, "unknown file option '\(parts[0])' (max-bytes, keep, fsync)")
                }
            }
        }
        guard !path.isEmpty else { throw OutputSpecificationError(text, "file: needs a path") }
        return .file(path: path, maxBytes: maxBytes, keep: keep, syncEveryBatch: sync)
    }

    /// Opens the sink this output names.
    public func makeSink() throws -> AlertSink {
        switch destination {
        case .stdout:
            return StandardOutputSink()
        case .file(let path, let maxBytes, let keep, let sync):
            return FileSink(path: path, maxBytes: maxBytes, keep: keep, syncEveryBatch: sync)
        case .http(let configuration):
            return HTTPSink(configuration)
        case .syslog(let configuration):
            return try SyslogSink(configuration: configuration)
        case .kafka(let configuration):
            return try KafkaSink(configuration)
        }
    }
}
