import Synchronization

/// Whether the daemon is ready to serve: `/healthz` answers 200 once `setReady()` was called, else 503 with the
/// reason. The daemon starts it not ready, and sets it after partition assignment and rule load.
public final class Readiness: Sendable {
    private let state: Mutex<String?>

    public init(notReadyBecause reason: String = "starting") {
        state = Mutex(reason)
    }

    public func setReady() { state.withLock { $0 = nil } }

    public func setNotReady(_ reason: String) { state.withLock { $0 = reason } }

    public var isReady: Bool { state.withLock { $0 == nil } }

    /// Why it is not ready, or nil when it is.
    public var reason: String? { state.withLock { $0 } }
}
