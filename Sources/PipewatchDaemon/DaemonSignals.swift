import Dispatch
import Foundation

/// The daemon's signal handling, installed before anything slow. Loading a large rule set takes seconds, and a
/// SIGHUP in that time (a deployment reloading every instance at once) would end the process with the default
/// action. Until a daemon is attached, a SIGHUP is kept and becomes one rule reload as soon as the daemon runs
/// (the files may have changed after they were read); SIGTERM and SIGINT keep their default action until then,
/// since nothing has started that would need finishing.
///
/// ```swift
/// let signals = DaemonSignals()           // first thing
/// let daemon = try Daemon(configuration: …)
/// signals.attach(daemon)                  // SIGTERM/SIGINT stop it, SIGHUP reloads its rules
/// try daemon.run()
/// ```
public final class DaemonSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var daemon: Daemon?
    private var reloadPending = false
    private var sources: [DispatchSourceSignal] = []

    public init() {
        install(SIGHUP) { [weak self] in self?.hangUp() }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// From now on SIGTERM and SIGINT stop `daemon` and SIGHUP reloads its rules; a SIGHUP received before
    /// requests the reload now.
    public func attach(_ daemon: Daemon) {
        let pending = lock.withLock {
            self.daemon = daemon
            defer { reloadPending = false }
            return reloadPending
        }
        if pending {
            daemon.log("SIGHUP during start-up: the rules are reloaded once running")
            daemon.requestReload()
        }
        for signalNumber in [SIGTERM, SIGINT] { install(signalNumber) { daemon.requestStop() } }
    }

    private func hangUp() {
        let daemon = lock.withLock {
            if self.daemon == nil { reloadPending = true }
            return self.daemon
        }
        daemon?.requestReload()
    }

    private func install(_ signalNumber: Int32, _ action: @escaping @Sendable () -> Void) {
        // The default action must not run: the source alone handles the signal.
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        sources.append(source)
    }
}
