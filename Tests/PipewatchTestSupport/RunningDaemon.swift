import Foundation
import PipewatchDaemon

/// A `Daemon` running on its own thread, with its log kept.
public final class RunningDaemon: @unchecked Sendable {
    public let daemon: Daemon
    private let lock = NSLock()
    private var lines: [String] = []
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    public init(configuration path: String) throws {
        daemon = try Daemon(configuration: try DaemonConfiguration.load(path: path))
        daemon.log = { [weak self] line in self?.lock.withLock { self?.lines.append(line) } }
        let thread = Thread { [self] in
            do { try daemon.run() } catch { lock.withLock { failure = error } }
            finished.signal()
        }
        thread.start()
    }

    public var log: [String] { lock.withLock { lines } }
    public var error: Error? { lock.withLock { failure } }

    /// Asks it to stop and waits until `run` returned.
    public func stop(seconds: Double = 60) -> Bool {
        daemon.requestStop()
        return finished.wait(timeout: .now() + seconds) == .success
    }

    /// Polls `condition` every 20 ms for at most `seconds`.
    @discardableResult
    public func wait(seconds: Double, until condition: (Daemon.Statistics) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(daemon.currentStatistics) { return true }
            usleep(20_000)
        }
        return condition(daemon.currentStatistics)
    }
}
