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
/// Whatever clients do, it stays bounded: at most `maxConnections` open (more are closed as soon as accepted),
/// a request's head and body must each arrive whole within their timeouts (however slowly the bytes trickle in),
/// and a silent connection is closed after the idle timeout. Accepted sockets are close-on-exec. Each server has
/// its own event loop and cap, so a flood on one listener does not reach another.
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
        /// The listener's name in log lines and in the `listener` label of the metrics.
        public var name: String
        /// Larger bodies are answered 413 without being read to their end, and the connection is closed.
        public var maxBodyBytes: Int
        /// A request's head must arrive whole within this long of its first byte, else 408 and the connection is
        /// closed: however slowly its bytes come, a request cannot hold a connection longer.
        public var headerTimeout: TimeAmount
        /// A request's body must arrive whole within this long of the end of its head, else 408 and closed.
        public var bodyTimeout: TimeAmount
        /// A connection without traffic either way for this long is closed (between keep-alive requests, or a
        /// client gone silent), unless its request's handler is running.
        public var idleTimeout: TimeAmount
        /// Connections open at once; one accepted beyond them is closed at once (counted and logged). Keeps a
        /// flood of connections from using up the process's file descriptors.
        public var maxConnections: Int
        /// How long `shutdown()` lets in-flight requests finish before it closes their connections.
        public var shutdownGracePeriod: TimeAmount

        public init(
            host: String = "127.0.0.1", port: Int = 0, name: String = "http", maxBodyBytes: Int = 1 << 20,
            headerTimeout: TimeAmount = .seconds(10), bodyTimeout: TimeAmount = .seconds(30),
            idleTimeout: TimeAmount = .seconds(60), maxConnections: Int = 256,
            shutdownGracePeriod: TimeAmount = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.name = name
            self.maxBodyBytes = maxBodyBytes
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
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
    private let observer: (any HTTPServerObserver)?
    private let log: @Sendable (String) -> Void

    private struct State {
        var routes: [String: [String: Handler]] = [:]  // path → method → handler
        var group: MultiThreadedEventLoopGroup?
        var listener: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
        var handlerTasks: [Int: Task<Void, Never>] = [:]
        var nextTask = 0
        var stopping = false
        /// Connections refused since the last log line about it, and when that line was written.
        var refusedUnlogged = 0
        var refusalLogged: ContinuousClock.Instant?
        var closeOnExecFailureLogged = false
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - observer: told of open, refused and cut connections (the daemon's metrics).
    ///   - log: lines for the operator (the connection cap reached).
    public init(
        configuration: Configuration = Configuration(), observer: (any HTTPServerObserver)? = nil,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.observer = observer
        self.log = log
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
            .serverChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let name = configuration.name, log = self.log
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler { log("\(name) listener: \($0)") })
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                // A failed initializer makes NIO close the connection before it is registered.
                guard admit(channel) else { return channel.eventLoop.makeFailedFuture(ConnectionRefused()) }
                if !AcceptedSocket.markCloseOnExec(channel) { closeOnExecFailed() }
                return channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    let name = configuration.name, observer = self.observer
                    let deadlines = RequestDeadlineHandler(
                        headerTimeout: configuration.headerTimeout, bodyTimeout: configuration.bodyTimeout,
                        onTimeout: { observer?.httpRequestCut($0, listener: name) })
                    try operations.addHandler(deadlines)
                    try operations.addHandler(IdleStateHandler(allTimeout: configuration.idleTimeout))
                    try operations.configureHTTPServerPipeline(withErrorHandling: true)
                    try operations.addHandler(HTTPConnectionHandler(server: self, deadlines: deadlines))
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
        // No connection can be added from here on (admit() refuses them while stopping).
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

    // MARK: - Connections

    private struct ConnectionRefused: Error {}

    /// Counts a new connection in, or refuses it: while stopping, or when `maxConnections` are open. A refusal is
    /// counted, and logged at most every 10 seconds (a flood must not flood the log too).
    private func admit(_ channel: Channel) -> Bool {
        enum Admission { case admitted(open: Int), refused(line: String?), stopping }
        let id = ObjectIdentifier(channel)
        let now = ContinuousClock.now
        let admission = state.withLock { state -> Admission in
            if state.stopping { return .stopping }
            guard state.connections.count >= configuration.maxConnections else {
                state.connections[id] = channel
                return .admitted(open: state.connections.count)
            }
            state.refusedUnlogged += 1
            if let last = state.refusalLogged, now - last < .seconds(10) { return .refused(line: nil) }
            let listener = "\(configuration.name) listener \(configuration.host):\(port(state))"
            let line = state.refusalLogged == nil
                ? "\(listener): \(state.connections.count) connections open, the most it takes (max-connections): "
                    + "new connections are closed at once until some close"
                : "\(listener): \(state.refusedUnlogged) more connection(s) closed at once since the last such line "
                    + "(max-connections \(configuration.maxConnections))"
            state.refusedUnlogged = 0
            state.refusalLogged = now
            return .refused(line: line)
        }
        switch admission {
        case .stopping:
            return false
        case .refused(let line):
            observer?.httpConnectionRefused(listener: configuration.name)
            if let line { log(line) }
            return false
        case .admitted(let open):
            observer?.httpConnectionsOpen(open, listener: configuration.name)
            channel.closeFuture.whenComplete { [self] _ in
                let open = state.withLock { state in
                    state.connections.removeValue(forKey: id)
                    return state.connections.count
                }
                observer?.httpConnectionsOpen(open, listener: configuration.name)
            }
            return true
        }
    }

    private func port(_ state: State) -> Int { state.listener?.localAddress?.port ?? configuration.port }

    private func closeOnExecFailed() {
        let first = state.withLock { state in
            defer { state.closeOnExecFailureLogged = true }
            return !state.closeOnExecFailureLogged
        }
        if first { log("\(configuration.name) listener: cannot mark accepted connections close-on-exec; processes spawned meanwhile inherit them") }
    }

    // MARK: - Used by the connection handler

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

    fileprivate func requestCut(_ reason: HTTPCutReason) {
        observer?.httpRequestCut(reason, listener: configuration.name)
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
    /// Told when a head and a whole request have arrived, and when the connection waits for the next request.
    private let deadlines: RequestDeadlineHandler
    private var state = State.idle

    init(server: HTTPServer, deadlines: RequestDeadlineHandler) {
        self.server = server
        self.maxBodyBytes = server.configuration.maxBodyBytes
        self.deadlines = deadlines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                // Refuse before reading: a client that sent `Expect: 100-continue` then never sends the body.
                refuseTooLarge(context: context, head: head)
                return
            }
            deadlines.headReceived()
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
                deadlines.requestReceived()
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
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
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
        deadlines.requestReceived()
        server.requestCut(.bodyTooLarge)
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
        deadlines.waitForNextRequest()
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
