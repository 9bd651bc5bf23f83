import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process the tests start and stop themselves (a receiver, a collector, a `pipewatch run` daemon), on
/// posix_spawn and waitpid: tests need SIGKILL, SIGTERM and a reliable wait, which Foundation's `Process` does
/// not give on Linux (its `waitUntilExit` after `terminate` can hang).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?
    private var peakMemory: Int?

    public enum SpawnError: Error, CustomStringConvertible {
        case failed(String, Int32)
        public var description: String {
            switch self {
            case .failed(let path, let code): return "cannot start \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`; stdout and stderr go to the given
    /// files (appended) or are inherited, stdin reads /dev/null.
    public init(
        _ executable: String, _ arguments: [String], directory: String? = nil,
        stdout: String? = nil, stderr: String? = nil, environment: [String: String] = [:]
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644) }
        if let stderr { posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644) }

        // The spawning thread may be a dispatch worker with signals blocked; the child must start with none blocked
        // and default dispositions, or it would ignore the SIGTERM a test sends.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        // posix_spawn_file_actions_addchdir_np is not visible to Swift: coreutils' `env -C` changes directory.
        let command = directory.map { ["env", "-C", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var child = pid_t()
        let result = posix_spawnp(&child, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError.failed(executable, result) }
        pid = child
    }

    deinit { _ = terminate(timeout: 5) }

    /// Whether the child has not exited yet (reaps it if it has).
    public var isRunning: Bool { poll(block: false) == nil }

    /// Sends `signal` to the child if it is still running.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the child to exit; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 { poll(block: true) ?? -1 }

    /// Waits at most `seconds`; nil if the child is still running then.
    public func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let status = poll(block: false) { return status }
            usleep(10_000)
        }
        return poll(block: false)
    }

    /// SIGTERM, then SIGKILL if the child has not exited within `timeout` seconds.
    @discardableResult
    public func terminate(timeout: Double = 10) -> Int32 {
        send(SIGTERM)
        if let status = wait(seconds: timeout) { return status }
        send(SIGKILL)
        return wait()
    }

    /// The child's peak resident memory in bytes (its maximum RSS), once it has exited.
    public var peakMemoryBytes: Int? {
        lock.lock()
        defer { lock.unlock() }
        return peakMemory
    }

    private func poll(block: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        var usage = rusage()
        var result: pid_t
        repeat { result = wait4(pid, &status, block ? 0 : WNOHANG, &usage) } while result == -1 && errno == EINTR
        guard result == pid else { return nil }
        peakMemory = usage.ru_maxrss * 1024  // kilobytes on Linux
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return exitStatus
    }
}
