import CCacheHints
import Foundation

/// Writes a file atomically: a temporary file in the same directory, flushed to disk, then renamed over the target
/// (and the directory flushed), so a crash leaves either the old snapshot or the new one, never a torn one.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SnapshotError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw SnapshotError("cannot write \(temporary): \(String(cString: strerror(error)))")
        }
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw SnapshotError("cannot rename \(temporary) to \(path): \(String(cString: strerror(error)))")
        }
        // The directory's entry is flushed too. (Not NSString.deletingLastPathComponent: it traps on a
        // one-character relative path.)
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
