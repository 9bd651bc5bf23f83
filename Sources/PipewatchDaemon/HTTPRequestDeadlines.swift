import NIOCore

/// Bounds the time a client takes to send a request, whatever the pace of its bytes: the head must arrive whole
/// within `headerTimeout` of its first byte, the body within `bodyTimeout` of the head's end. A per-read timeout
/// cannot do this: a client sending one header line every few seconds keeps it from ever firing, and a few
/// hundred such clients hold the process's descriptors for good. On expiry the client gets 408 and the
/// connection is closed.
///
/// It sits first in the pipeline, where it sees a request's first byte before the HTTP decoder; the connection
/// handler tells it when the head and the whole request have arrived, and when it waits for the next request.
/// Between requests and while a handler runs it sets no deadline (the idle timeout and the handler bound those).
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// No byte of the next request yet.
        case waiting
        case head
        case body
        /// The request is complete: its handler runs, or its answer is being written.
        case handling
    }

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let onTimeout: (HTTPCutReason) -> Void
    private var phase = Phase.waiting
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, onTimeout: @escaping (HTTPCutReason) -> Void) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .waiting = phase, unwrapInboundIn(data).readableBytes > 0 {
            phase = .head
            arm(headerTimeout, .headerTimeout)
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    // MARK: Told by the connection handler (on the same event loop)

    /// The head is decoded: the body's deadline starts.
    func headReceived() {
        phase = .body
        arm(bodyTimeout, .bodyTimeout)
    }

    /// The request is complete (or refused): no deadline while it is handled and answered.
    func requestReceived() {
        phase = .handling
        cancel()
    }

    /// The answer is written and the connection stays open: the next request's first byte starts its deadline.
    func waitForNextRequest() {
        phase = .waiting
        cancel()
    }

    // MARK: -

    private func arm(_ timeout: TimeAmount, _ reason: HTTPCutReason) {
        cancel()
        guard let context else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            expire(reason)
        }
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }

    private func expire(_ reason: HTTPCutReason) {
        guard let context, context.channel.isActive else { return }
        phase = .handling
        onTimeout(reason)
        // Written below the HTTP encoder: no response of this connection is in progress (a deadline runs only
        // while a request is being received). The close does not wait for the client to read it.
        let answer = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
        context.close(promise: nil)
    }
}
