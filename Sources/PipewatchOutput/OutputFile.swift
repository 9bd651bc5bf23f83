import Foundation

/// A buffered writer to a file descriptor (stdout, stderr or a file opened for appending). Writes go out when the
/// buffer fills, on `flush`, and at `close`.
public final class OutputFile: @unchecked Sendable {
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let limit: Int

    public static func standardOutput() -> OutputFile { OutputFile(fd: 1, name: "stdout") }
    public static func standardError() -> OutputFile { OutputFile(fd: 2, name: "stderr", limit: 0) }

    init(fd: Int32, name: String, limit: Int = 1 << 20) {
        self.fd = fd
        self.name = name
        ownsDescriptor = false
        self.limit = limit
        buffer.reserveCapacity(limit)
    }

    /// Opens `path` for appending (creating it), or stdout for "-".
    public init(path: String, limit: Int = 1 << 20) throws {
        name = path
        self.limit = limit
        if path == "-" {
            fd = 1
            ownsDescriptor = false
        } else {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw OutputError(path: path, message: "cannot open for writing: \(String(cString: strerror(errno)))")
            }
            fd = descriptor
            ownsDescriptor = true
        }
        buffer.reserveCapacity(limit)
    }

    deinit {
        try? flush()
        if ownsDescriptor { close(fd) }
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { try flush() }
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    public func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                buffer.removeAll(keepingCapacity: true)
                throw OutputError(path: name, message: "write failed: \(message)")
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and asks the kernel to put the bytes on disk. Only a regular file has a disk to reach: a character
    /// device (`/dev/null`), a pipe or a socket takes the bytes as they are written, and fsync refuses them.
    public func sync() throws {
        try flush()
        if ownsDescriptor && isRegularFile && fsync(fd) != 0 {
            throw OutputError(path: name, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }
}

extension OutputFile {
    private var isRegularFile: Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

public struct OutputError: Error, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
