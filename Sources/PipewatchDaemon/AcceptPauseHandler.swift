import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops a listener accepting for a moment when accept fails for want of resources (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM). NIO's own AcceptBackoffHandler delays the next read but leaves the listening socket registered for
/// readability, so epoll reports the waiting connection again at once and the event loop spins on a failing
/// accept (measured: tens of thousands of failed accept4 calls a second, most of a core per listener). Turning
/// auto-read off takes the socket out of epoll until the pause ends. The connection cap keeps a listener from
/// getting there; this is for descriptors used up elsewhere.
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = Channel

    private let pause: TimeAmount
    private let log: (String) -> Void
    private var resume: Scheduled<Void>?
    private var lastLogged: NIODeadline?
    private var unlogged = 0

    init(pause: TimeAmount = .milliseconds(100), log: @escaping (String) -> Void) {
        self.pause = pause
        self.log = log
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) {
            pauseAccepting(context: context, error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }

    private func pauseAccepting(context: ChannelHandlerContext, _ error: IOError) {
        unlogged += 1
        let now = NIODeadline.now()
        if lastLogged.map({ now - $0 >= .seconds(10) }) ?? true {
            let reason = String(cString: strerror(error.errnoCode))
            log("cannot accept connections: \(reason) (errno \(error.errnoCode)); accepting paused for "
                + "\(pause.nanoseconds / 1_000_000) ms, \(unlogged) time(s) since the last such line")
            lastLogged = now
            unlogged = 0
        }
        guard resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(ChannelOptions.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
            resume = nil
            try? options.setOption(ChannelOptions.autoRead, value: true)
        }
    }
}
