import ArgumentParser
import Foundation
import PipewatchJSON
import PipewatchOutput

/// `pipewatch-bench generate`: writes a deterministic synthetic corpus.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic synthetic audit-log corpus.",
        discussion: """
            The same seed and options always produce the same bytes. ndjson writes one record per line; \
            cloudtrail-file writes one S3 delivery file body, {"Records":[...]} on a single line (CloudTrail only). \
            mixed interleaves about 70% CloudTrail records and 30% Kubernetes audit events.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case cloudtrail, kubernetes, mixed
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case ndjson
        case cloudtrailFile = "cloudtrail-file"
    }

    @Option(help: "Record kind: cloudtrail, kubernetes or mixed.")
    var kind: Kind = .cloudtrail

    @Option(help: "Number of records to write.")
    var records: Int

    @Option(help: "Seed of the random stream.")
    var seed: UInt64 = 1

    @Option(help: "Distinct principals (AWS identities and Kubernetes users).")
    var principals: Int = 200

    @Option(help: "Distinct caller IP addresses (default: twice --principals).")
    var ips: Int?

    @Option(help: "Distinct S3 buckets (default: --principals / 10, at least 4).")
    var buckets: Int?

    @Option(help: "Framing: ndjson or cloudtrail-file.")
    var format: Format = .ndjson

    @Option(name: [.short, .long], help: "Output file, or - for standard output.")
    var output: String

    func validate() throws {
        guard records >= 0 else { throw ValidationError("--records must not be negative") }
        guard principals > 0 else { throw ValidationError("--principals must be positive") }
        if let ips, ips <= 0 { throw ValidationError("--ips must be positive") }
        if let buckets, buckets <= 0 { throw ValidationError("--buckets must be positive") }
        if format == .cloudtrailFile && kind != .cloudtrail {
            throw ValidationError("--format cloudtrail-file requires --kind cloudtrail")
        }
    }

    func run() throws {
        let chunkSize = 4 << 20
        let sink = try OutputSink(path: output)
        defer { sink.closeFile() }

        var generator = CorpusGenerator(seed: seed, principalCount: principals, ipCount: ips, bucketCount: buckets)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkSize + (256 << 10))
        var bytesWritten = 0
        var writeTime = Duration.zero
        let clock = ContinuousClock()
        let started = clock.now

        func flush() throws {
            let before = clock.now
            try sink.writeAll(buffer)
            writeTime += clock.now - before
            bytesWritten += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }

        switch format {
        case .ndjson:
            for _ in 0..<records {
                switch kind {
                case .cloudtrail: generator.appendCloudTrailRecord(to: &buffer)
                case .kubernetes: generator.appendKubernetesAuditRecord(to: &buffer)
                case .mixed: generator.appendMixedRecord(to: &buffer)
                }
                buffer.append(0x0A)
                if buffer.count >= chunkSize { try flush() }
            }
        case .cloudtrailFile:
            buffer.append(contentsOf: #"{"Records":["#.utf8)
            for i in 0..<records {
                if i > 0 { buffer.append(0x2C) }
                generator.appendCloudTrailRecord(to: &buffer)
                if buffer.count >= chunkSize { try flush() }
            }
            buffer.append(contentsOf: "]}".utf8)
        }
        try flush()

        let elapsed = clock.now - started
        let seconds = elapsed.seconds
        let generateSeconds = (elapsed - writeTime).seconds
        let megabytes = Double(bytesWritten) / 1_000_000
        var report = "generate: kind=\(kind.rawValue) format=\(format.rawValue) seed=\(seed) principals=\(principals)\n"
        report += "records=\(records)"
        if kind == .mixed {
            report += " (cloudtrail=\(generator.cloudTrailRecords) kubernetes=\(generator.kubernetesRecords))"
        }
        report += " bytes=\(bytesWritten)"
        report += " avg=\(records > 0 ? String(format: "%.1f", Double(bytesWritten) / Double(records)) : "0") B/record"
        report += " seconds=\(String(format: "%.3f", seconds))"
        report += " (\(String(format: "%.1f", seconds > 0 ? megabytes / seconds : 0)) MB/s overall,"
        report += " \(String(format: "%.1f", generateSeconds > 0 ? megabytes / generateSeconds : 0)) MB/s generating)\n"
        FileHandle.standardError.write(Data(report.utf8))
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// A file descriptor written with write(2), so large chunks go out without copies.
private struct OutputSink {
    let fd: Int32
    let owned: Bool
    let path: String

    init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = 1
            owned = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            owned = true
            guard fd >= 0 else {
                throw OutputError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            guard var base = raw.baseAddress else { return }
            var remaining = raw.count
            while remaining > 0 {
                let n = write(fd, base, remaining)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError(message: "write to \(path == "-" ? "standard output" : path) failed: \(String(cString: strerror(errno)))")
                }
                remaining -= n
                base += n
            }
        }
    }

    func closeFile() {
        if owned { _ = close(fd) }
    }
}

private struct OutputError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
