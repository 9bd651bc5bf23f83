import Foundation

/// A one-line progress report on a terminal: bytes done and rate, redrawn at most a few times a second.
final class ProgressLine {
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drawn = false

    func update(bytes: Int64) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 250_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        let megabytes = Double(bytes) / 1_000_000
        let line = String(format: "\r%.1f MB read, %.1f MB/s ", megabytes, seconds > 0 ? megabytes / seconds : 0)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
