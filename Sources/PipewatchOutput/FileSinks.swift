import Foundation

/// Alerts to stdout, one per line. Acknowledged once written to the descriptor.
public final class StandardOutputSink: AlertSink, @unchecked Sendable {
    public let name = "stdout"

    public init() {}

    public func deliver(_ payloads: [[UInt8]]) throws(SinkFailure) {
        try writeAll(1, lines(payloads), name: name)
    }

    public func close() {}
}

/// Alerts appended to a file, one per line, with size-based rotation (`path` → `path.1` … `path.N`) and a sync
/// policy: with `syncEveryBatch` (the default) a batch is acknowledged only after fsync; without it, after the
/// write (faster, but a machine crash can lose what the kernel had not written yet).
public final class FileSink: AlertSink, @unchecked Sendable {
    public let name: String
    public let path: String
    public let maxBytes: Int64?
    public let keep: Int
    public let syncEveryBatch: Bool
    private var fd: Int32 = -1
    private var size: Int64 = 0

    public init(path: String, maxBytes: Int64? = nil, keep: Int = 5, syncEveryBatch: Bool = true) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = max(1, keep)
        self.syncEveryBatch = syncEveryBatch
        name = "file:\(path)"
    }

    public func deliver(_ payloads: [[UInt8]]) throws(SinkFailure) {
        let bytes = lines(payloads)
        if fd < 0 { try openFile() }
        if let maxBytes, size > 0, size + Int64(bytes.count) > maxBytes { try rotate() }
        try writeAll(fd, bytes, name: name)
        size += Int64(bytes.count)
        if syncEveryBatch && fsync(fd) != 0 {
            throw .retryable("fsync \(path): \(String(cString: strerror(errno)))")
        }
    }

    public func close() {
        if fd >= 0 {
            fsync(fd)
            Foundation.close(fd)
            fd = -1
        }
    }

    private func openFile() throws(SinkFailure) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = "open \(path): \(String(cString: strerror(errno)))"
            // A path that can never be a file is permanent; a missing directory, a full disk or a permission can be
            // fixed while we wait, so those are retried rather than dropped.
            if errno == EISDIR || errno == ENAMETOOLONG || errno == EINVAL { throw .permanent(reason) }
            throw .retryable(reason)
        }
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// path.N-1 → path.N, …, path → path.1, then a new path.
    private func rotate() throws(SinkFailure) {
        close()
        let manager = FileManager.default
        try? manager.removeItem(atPath: "\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) where manager.fileExists(atPath: "\(path).\(index)") {
            try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
        }
        if rename(path, "\(path).1") != 0 && errno != ENOENT {
            throw .retryable("rotate \(path): \(String(cString: strerror(errno)))")
        }
        try openFile()
    }
}

/// Payloads joined with newlines (each alert one line).
func lines(_ payloads: [[UInt8]]) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 1 })
    for payload in payloads {
        bytes.append(contentsOf: payload)
        bytes.append(0x0A)
    }
    return bytes
}

/// Writes every byte or throws a retryable failure.
func writeAll(_ fd: Int32, _ bytes: [UInt8], name: String) throws(SinkFailure) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .retryable("write \(name): \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}
