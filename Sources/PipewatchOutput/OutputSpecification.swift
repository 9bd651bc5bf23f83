import Foundation

/// One `--output FORMAT:SINK` of the command line:
///
///     ocsf:stdout
///     cef:file:/var/log/pipewatch/alerts.cef?max-bytes=104857600&keep=5&fsync=batch
///
/// `max-bytes` rotates the file when it would grow past that size (`path.1` … `path.<keep>`); `fsync=batch` (the
/// default) acknowledges a batch only once it is on disk, `fsync=none` once written.
public struct OutputSpecification: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case stdout
        case file(path: String, maxBytes: Int64?, keep: Int, syncEveryBatch: Bool)
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
        let rest = formatEnd < text.endIndex ? String(text[text.index(after: formatEnd)...]) : ""
        if rest == "stdout" || rest.isEmpty {
            destination = .stdout
            return
        }
        guard rest.hasPrefix("file:") else {
            throw OutputSpecificationError(text, "unknown sink '\(rest)'; expected stdout or file:PATH")
        }
        var path = String(rest.dropFirst("file:".count))
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
        destination = .file(path: path, maxBytes: maxBytes, keep: keep, syncEveryBatch: sync)
    }

    public func makeSink() -> AlertSink {
        switch destination {
        case .stdout:
            return StandardOutputSink()
        case .file(let path, let maxBytes, let keep, let sync):
            return FileSink(path: path, maxBytes: maxBytes, keep: keep, syncEveryBatch: sync)
        }
    }
}

public struct OutputSpecificationError: Error, CustomStringConvertible {
    public var description: String

    init(_ text: String, _ reason: String) { description = "--output \(text): \(reason)" }
}
