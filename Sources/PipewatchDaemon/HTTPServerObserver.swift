/// Why the HTTP server ended a request before its handler ran; the `reason` label of
/// `pipewatch_http_requests_cut_total`.
public enum HTTPCutReason: String, Sendable, CaseIterable {
    /// The request's head did not arrive whole within the header timeout of its first byte (408).
    case headerTimeout = "header_timeout"
    /// The body did not arrive whole within the body timeout of the head's end (408).
    case bodyTimeout = "body_timeout"
    /// The body is larger than the listener takes (413).
    case bodyTooLarge = "body_too_large"
}

/// What an HTTP listener reports about its connections (the daemon's metrics count them, labelled with the
/// listener's name).
public protocol HTTPServerObserver: Sendable {
    /// The connections open on `listener` now.
    func httpConnectionsOpen(_ count: Int, listener: String)
    /// A connection accepted while `listener` had its maximum open, and closed at once.
    func httpConnectionRefused(listener: String)
    /// A request ended by the server before its handler ran.
    func httpRequestCut(_ reason: HTTPCutReason, listener: String)
}

extension PipewatchMetrics: HTTPServerObserver {}
