import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PipewatchInputs
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server on SwiftNIO with one event-loop thread: routes by method and exact path to async
/// handlers, collects each body up to a limit (413 beyond it), keeps connections alive, and shuts down
/// gracefully. It serves the MLflow webhook receiver, `/metrics` and `/healthz`; nothing on it is a hot path.
///
/// ```swift
/// let server = HTTPServer(configuration: .init(host: "0.0.0.0", port: 8080))
/// server.route("GET", "/ping") { _ in .text(200, "pong") }
/// try await server.start()   // server.port is the bound port (useful with port 0)
/// …
/// await server.shutdown()
/// ```
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    public struct Configuration: Sendable {
        public var host: String
        /// 0 asks the kernel for a free port; `HTTPServer.port` tells which.
        public var port: Int
        /// Larger bodies are answered 413 without being read to their end, and the connection is closed.
        public var maxBodyBytes: Int
        /// A connection with no request in progress is closed after this long without input.
        public var idleTimeout: TimeAmount
        /// How long `shutdown()` lets in-flight requests finish before it closes their connections.
        public var shutdownGracePeriod: TimeAmount

        public init(
            host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 1 << 20,
            idleTimeout: TimeAmount = .seconds(60), shutdownGracePeriod: TimeAmount = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeout = idleTimeout
            self.shutdownGracePeriod = shutdownGracePeriod
        }
    }

    public enum ServerError: Error, CustomStringConvertible {
        /// `start()` was called before, or after `shutdown()`: a server runs once.
        case alreadyStarted
        case bindFailed(host: String, port: Int, reason: String)

        public var description: String {
            switch self {
            case .alreadyStarted: return "the HTTP server was already started"
            case .bindFailed(let host, let port, let reason): return "cannot listen on \(host):\(port): \(reason)"
            }
        }
    }

    public let configuration: Configuration

    private struct State {
        var routes: [String: [String: Handler]] = [:]  // path → method → handler
        var group: MultiThreadedEventLoopGroup?
        var listener: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
        var handlerTasks: [Int: Task<Void, Never>] = [:]
        var nextTask = 0
        var stopping = false
    }

    private let state = Mutex(State())

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public convenience init(host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 1 << 20) {
        self.init(configuration: Configuration(host: host, port: port, maxBodyBytes: maxBodyBytes))
    }

    /// Serves `method` (e.g. "GET") on the exact `path`, replacing an earlier route for both. Routes may be added
    /// before or after `start()`.
    public func route(_ method: String, _ path: String, _ handler: @escaping Handler) {
        state.withLock { $0.routes[path, default: [:]][method.uppercased()] = handler }
    }

    /// The bound port once started, else 0.
    public var port: Int {
        state.withLock { $0.listener?.localAddress?.port } ?? 0
    }

    /// Binds and starts accepting connections.
    public func start() async throws {
        let group = try state.withLock { state -> MultiThreadedEventLoopGroup in
            guard state.group == nil, !state.stopping else { throw ServerError.alreadyStarted }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            state.group = group
            return group
        }
        let configuration = self.configuration
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try operations.configureHTTPServerPipeline(withErrorHandling: true)
                    try operations.addHandler(HTTPConnectionHandler(server: self, maxBodyBytes: configuration.maxBodyBytes))
                    self.track(channel)
                }
            }
        do {
            let socket = try Self.listeningSocket(host: configuration.host, port: configuration.port)
            let listener: Channel
            do {
                listener = try await bootstrap.withBoundSocket(socket).get()
            } catch {
                close(socket)
                throw error
            }
            state.withLock { $0.listener = listener }
        } catch {
            state.withLock { $0.group = nil }
            try? await group.shutdownGracefully()
            throw ServerError.bindFailed(host: configuration.host, port: configuration.port, reason: "\(error)")
        }
    }

    /// Stops accepting, lets requests in progress finish (their connections close after the response; idle ones
    /// close at once), waits for running handlers, then stops the event loop. Connections still open after the
    /// grace period are closed. A second call returns at once.
    public func shutdown() async {
        let (listener, group) = state.withLock { state -> (Channel?, MultiThreadedEventLoopGroup?) in
            guard !state.stopping else { return (nil, nil) }
            state.stopping = true
            return (state.listener, state.group)
        }
        guard let group else { return }
        try? await listener?.close()
        // No connection can be added from here on (track() refuses them while stopping).
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections {
            // HTTPServerPipelineHandler closes an idle connection now and a busy one after its response's end.
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = group.next().scheduleTask(in: configuration.shutdownGracePeriod) {
            for connection in connections { connection.close(promise: nil) }
        }
        for connection in connections { try? await connection.closeFuture.get() }
        deadline.cancel()
        // A handler whose client went away is still running: let it finish, it may be handing a record over.
        while let task = state.withLock({ $0.handlerTasks.values.first }) { await task.value }
        state.withLock { $0.listener = nil }
        try? await group.shutdownGracefully()
    }

    /// A bound socket that child processes do not inherit. NIO creates its own without close-on-exec: any process
    /// spawned meanwhile (a test's client, a helper the daemon runs) would keep a copy that goes on accepting
    /// connections after shutdown. (Accepted connections are still NIO's, without the flag.)
    private static func listeningSocket(host: String, port: Int) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        #if canImport(Glibc)
        let fd = socket(address.protocolFamily, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(address.protocolFamily, SOCK_STREAM, 0)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        #endif
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var on: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<CInt>.size))
        let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw IOError(errnoCode: code, reason: "bind")
        }
        return fd
    }

    // MARK: - Used by the connection handler

    private func track(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        let refused = state.withLock { state -> Bool in
            if state.stopping { return true }
            state.connections[id] = channel
            return false
        }
        if refused {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    fileprivate enum Route {
        case handler(Handler)
        case notFound
        case methodNotAllowed(allowed: [String])
    }

    fileprivate func route(for method: String, path: String) -> Route {
        state.withLock { state in
            guard let methods = state.routes[path] else { return .notFound }
            if let handler = methods[method] { return .handler(handler) }
            return .methodNotAllowed(allowed: methods.keys.sorted())
        }
    }

    /// Runs `handler` in a task the server can wait for at shutdown, and completes `promise` with its answer.
    fileprivate func run(_ handler: @escaping Handler, _ request: HTTPRequest, _ promise: EventLoopPromise<HTTPResponse>) {
        state.withLock { state in
            let id = state.nextTask
            state.nextTask += 1
            state.handlerTasks[id] = Task(executorPreference: DedicatedExecutor.shared) { [self] in
                promise.succeed(await handler(request))
                _ = self.state.withLock { $0.handlerTasks.removeValue(forKey: id) }
            }
        }
    }
}

/// One connection: assembles requests, enforces the body limit, dispatches to the route and writes the answer.
/// HTTPServerPipelineHandler (before it) holds back pipelined requests until the previous response has ended.
private final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body went over the limit; the 413 is sent and the rest of the request is dropped.
        case discarding
        /// The handler is running or its response is being written.
        case responding
    }

    private let server: HTTPServer
    private let maxBodyBytes: Int
    private var state = State.idle

    init(server: HTTPServer, maxBodyBytes: Int) {
        self.server = server
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                // Refuse before reading: a client that sent `Expect: 100-continue` then never sends the body.
                refuseTooLarge(context: context, head: head)
                return
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case .body(var chunk):
            guard case .receiving(let head, var body) = state else { return }
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                refuseTooLarge(context: context, head: head)
                return
            }
            state = .responding  // lets `body` be appended to without a copy
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case .end:
            switch state {
            case .receiving(let head, let body):
                state = .responding
                dispatch(context: context, head: head, body: body)
            case .discarding:
                break  // the connection is being closed
            case .idle, .responding:
                break
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Silence closes an idle connection or one stuck inside a request, never one whose handler is running.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if case .responding = state {} else {
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead) {
        state = .discarding
        let response = HTTPResponse.text(413, "request body larger than \(maxBodyBytes) bytes")
        write(context: context, head: head, response: response, keepAlive: false)
    }

    private func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer) {
        let (path, query) = split(head.uri)
        let method = head.method.rawValue
        switch server.route(for: method, path: path) {
        case .notFound:
            finish(context: context, head: head, response: .text(404, "no such path: \(path)"))
        case .methodNotAllowed(let allowed):
            var response = HTTPResponse.text(405, "method \(method) not allowed on \(path)")
            response.headers.add("Allow", allowed.joined(separator: ", "))
            finish(context: context, head: head, response: response)
        case .handler(let handler):
            var fields = HTTPFields()
            for (name, value) in head.headers { fields.add(name, value) }
            let request = HTTPRequest(
                method: method, path: path, query: query, headers: fields, body: Array(body.readableBytesView),
                remoteAddress: context.channel.remoteAddress?.ipAddress)
            let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
            server.run(handler, request, promise)
            // The promise completes on this channel's event loop, so the handler and context may be used here.
            promise.futureResult.assumeIsolated().whenSuccess { response in
                self.finish(context: context, head: head, response: response)
            }
        }
    }

    private func finish(context: ChannelHandlerContext, head: HTTPRequestHead, response: HTTPResponse) {
        state = .idle
        write(context: context, head: head, response: response, keepAlive: head.isKeepAlive)
    }

    private func write(context: ChannelHandlerContext, head: HTTPRequestHead, response: HTTPResponse, keepAlive: Bool) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version.major == 1 && head.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func split(_ uri: String) -> (String, String?) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}

/// Threads of our own for the server's handler tasks and the daemon's calls into async code. The cooperative pool
/// is as wide as the machine has cores and any thread blocked in synchronous work holds a slot of it; requests must
/// be answered whatever else the process is doing, so their tasks prefer these threads.
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = DedicatedExecutor(threads: 2, name: "pipewatch-http")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int, name: String) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.serve() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
