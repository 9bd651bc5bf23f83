import Foundation
import NIOCore
import PipewatchDaemon
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What one HTTP listener takes from its clients, whatever they do: a request's head and body each within their
/// timeout however slowly the bytes come, silent connections closed, a cap on open connections, accepted sockets
/// close-on-exec. Real clients over 127.0.0.1, with short limits.
@Suite struct HTTPListenerLimitsTests {
    final class Log: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A server with one-second timeouts, `/healthz` and `/slow` (a handler that takes `handlerSeconds`).
    static func startServer(
        maxConnections: Int = 16, handlerSeconds: Double = 2.5, metrics: PipewatchMetrics = PipewatchMetrics(),
        log: Log = Log()
    ) async throws -> HTTPServer {
        let server = HTTPServer(
            configuration: .init(
                host: "127.0.0.1", port: 0, name: "webhook", maxBodyBytes: 4096, headerTimeout: .seconds(1),
                bodyTimeout: .seconds(1), idleTimeout: .seconds(1), maxConnections: maxConnections),
            observer: metrics, log: log.append)
        let readiness = Readiness()
        readiness.setReady()
        server.serveMetrics(metrics, readiness: readiness)
        server.route("GET", "/slow") { _ in
            try? await Task.sleep(for: .seconds(handlerSeconds))
            return .text(200, "done")
        }
        try await server.start()
        return server
    }

    static func text(_ metrics: PipewatchMetrics) -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    @Test(.timeLimit(.minutes(2)))
    func aHeadSentOneLineAtATimeIsCutOffAtTheHeaderTimeout() async throws {
        let metrics = PipewatchMetrics()
        let server = try await Self.startServer(metrics: metrics)
        // A header line every 0.2 s: a per-read timeout of a second never fires.
        let outcome = try await SlowClients.run(.head, port: server.port, path: "/healthz", interval: 0.2, duration: 8)
        await server.shutdown()
        let closed = try #require(outcome.closedAfter, "still open after 8 s: \(outcome.received)")
        #expect(closed >= 0.9 && closed < 4, "cut after \(closed) s, the header timeout is 1 s")
        #expect(outcome.received.hasPrefix("HTTP/1.1 408 Request Timeout"), "\(outcome.received)")
        #expect(Self.text(metrics).contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="header_timeout"} 1"#))
    }

    @Test(.timeLimit(.minutes(2)))
    func aBodySentOneByteAtATimeIsCutOffAtTheBodyTimeout() async throws {
        let metrics = PipewatchMetrics()
        let server = try await Self.startServer(metrics: metrics)
        server.route("POST", "/upload") { request in .text(200, "\(request.body.count) bytes") }
        let outcome = try await SlowClients.run(.body, port: server.port, path: "/upload", interval: 0.2, duration: 8)
        await server.shutdown()
        let closed = try #require(outcome.closedAfter, "still open after 8 s: \(outcome.received)")
        #expect(closed >= 0.9 && closed < 4, "cut after \(closed) s, the body timeout is 1 s")
        #expect(outcome.received.hasPrefix("HTTP/1.1 408 Request Timeout"), "\(outcome.received)")
        #expect(Self.text(metrics).contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="body_timeout"} 1"#))
    }

    @Test(.timeLimit(.minutes(2)))
    func silentAndIdleKeepAliveConnectionsAreClosedAtTheIdleTimeout() async throws {
        let server = try await Self.startServer()
        async let silent = SlowClients.run(.silent, port: server.port, path: "/healthz", duration: 8)
        async let kept = SlowClients.run(.keepAlive, port: server.port, path: "/healthz", duration: 8)
        let (quiet, afterResponse) = try await (silent, kept)
        await server.shutdown()
        let closedQuiet = try #require(quiet.closedAfter, "a silent connection stayed open")
        #expect(closedQuiet >= 0.9 && closedQuiet < 4, "closed after \(closedQuiet) s, the idle timeout is 1 s")
        #expect(quiet.received.isEmpty, "no request, no answer")
        #expect(afterResponse.received.hasPrefix("HTTP/1.1 200 OK"), "\(afterResponse.received)")
        let closedKept = try #require(afterResponse.closedAfter, "an idle keep-alive connection stayed open")
        #expect(closedKept >= 0.9 && closedKept < 4, "closed \(closedKept) s after its response, the idle timeout is 1 s")
    }

    /// The timeouts bound the client, not the server: a handler slower than all of them still answers.
    @Test(.timeLimit(.minutes(2)))
    func aHandlerSlowerThanEveryTimeoutStillAnswers() async throws {
        let server = try await Self.startServer(handlerSeconds: 2.5)
        let outcome = try await SlowClients.run(.request, port: server.port, path: "/slow", duration: 10)
        await server.shutdown()
        #expect(outcome.received.hasPrefix("HTTP/1.1 200 OK"), "\(outcome.received)")
        #expect(outcome.received.hasSuffix("done\n"))
    }

    /// Beyond the cap, connections are closed as soon as accepted, counted and logged once; those admitted go on
    /// being served, and when they close new ones are admitted again.
    @Test(.timeLimit(.minutes(2)))
    func connectionsBeyondTheCapAreClosedAtOnceCountedAndLogged() async throws {
        let metrics = PipewatchMetrics()
        let log = Log()
        let server = try await Self.startServer(maxConnections: 3, metrics: metrics, log: log)
        let port = server.port
        let directory = try TemporaryDirectory()
        // Eight slow heads: three are admitted (and cut by the one-second header timeout), five refused.
        let flood = try SlowClients.startFlood(
            port: server.port, count: 8, interval: 0.2, duration: 6, path: "/healthz", directory: directory)
        var openDuringFlood = ""
        let deadline = Date().addingTimeInterval(10)
        while !openDuringFlood.contains(#"pipewatch_http_connections{listener="webhook"} 3.0"#) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            openDuringFlood = Self.text(metrics)
        }
        let status = await TestClients.blocking { flood.wait(seconds: 30) ?? flood.terminate(timeout: 2) }
        let report = try JSONDecoder().decode(SlowClients.Flood.self, from: Data(directory.read("flood.json").utf8))
        // The cap is free again: a new request is served.
        let after = try await TestClients.curl("http://127.0.0.1:\(server.port)/healthz")
        await server.shutdown()

        #expect(status == 0, "\(directory.read("flood.err"))")
        #expect(openDuringFlood.contains(#"pipewatch_http_connections{listener="webhook"} 3.0"#), "\(openDuringFlood)")
        let refused = report.failed + report.closed.filter { $0 < 0.8 }.count
        let cut = report.closed.filter { $0 >= 0.8 }
        #expect(refused == 5, "\(report)")
        #expect(cut.count == 3 && cut.allSatisfy { $0 < 4 }, "the admitted ones are cut at the header timeout: \(report)")
        #expect(report.open == 0)
        #expect(after.status == 200)
        let text = Self.text(metrics)
        #expect(text.contains(#"pipewatch_http_connections_refused_total{listener="webhook"} 5"#), "\(text)")
        #expect(text.contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="header_timeout"} 3"#))
        let lines = log.all.filter { $0.contains("max-connections") }
        #expect(lines.count == 1, "one line for the burst, not one per connection: \(log.all)")
        #expect(lines == ["webhook listener 127.0.0.1:\(port): 3 connections open, the most it takes (max-connections): new connections are closed at once until some close"])
    }

    @Test func aBodyOverTheConfiguredLimitIs413AndCounted() async throws {
        let metrics = PipewatchMetrics()
        let server = try await Self.startServer(metrics: metrics)
        server.route("POST", "/upload") { request in .text(200, "\(request.body.count) bytes") }
        let directory = try TemporaryDirectory()
        let atLimit = try directory.write("at", String(repeating: "a", count: 4096))
        let over = try directory.write("over", String(repeating: "a", count: 4097))
        let url = "http://127.0.0.1:\(server.port)/upload"
        let fits = try await TestClients.curl(url, ["--data-binary", "@" + atLimit])
        let refused = try await TestClients.curl(url, ["--data-binary", "@" + over])
        await server.shutdown()
        #expect(fits.status == 200 && fits.body == "4096 bytes\n")
        #expect(refused.status == 413)
        #expect(Self.text(metrics).contains(#"pipewatch_http_requests_cut_total{listener="webhook",reason="body_too_large"} 1"#))
    }

    /// A request head is held up to 80 KiB (request line and header fields together, SwiftNIO's decoder limit):
    /// a larger one, however fast it comes, is answered 400 and its connection closed, so heads in memory stay
    /// within `max-connections` × 80 KiB.
    @Test func aHeadOverEightyKiBIs400() async throws {
        let server = try await Self.startServer()
        let directory = try TemporaryDirectory()
        let fits = try directory.write("fits", "X-Padding: " + String(repeating: "a", count: 60 << 10) + "\n")
        let over = try directory.write("over", "X-Padding: " + String(repeating: "a", count: 100 << 10) + "\n")
        let url = "http://127.0.0.1:\(server.port)/healthz"
        let small = try await TestClients.curl(url, ["-H", "@" + fits])
        let large = try await TestClients.curl(url, ["-H", "@" + over])
        let after = try await TestClients.curl(url)
        await server.shutdown()
        #expect(small.status == 200)
        #expect(large.status == 400)
        #expect(after.status == 200 && after.body == "ok\n")
    }

    /// Accepted connections are close-on-exec: a process spawned while one is open does not inherit it (and so
    /// cannot keep it open after the server closed it).
    @Test(.timeLimit(.minutes(2)))
    func acceptedSocketsAreCloseOnExec() async throws {
        let server = try await Self.startServer()
        let directory = try TemporaryDirectory()
        // Two clients in another process keep their connections open (a head that never ends) for a few seconds.
        let flood = try SlowClients.startFlood(
            port: server.port, count: 2, interval: 0.2, duration: 3, path: "/healthz", directory: directory)
        var accepted: [CInt] = []
        let deadline = Date().addingTimeInterval(10)
        while accepted.count < 2 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            accepted = Self.acceptedSockets(port: server.port)
        }
        let flags = accepted.map { fcntl($0, F_GETFD) }
        let inodes = Set(accepted.compactMap { Self.link("/proc/self/fd/\($0)") })
        let child = try ChildProcess("sleep", ["2"])
        let inherited = Self.openDescriptors(of: child.pid).compactMap { Self.link("/proc/\(child.pid)/fd/\($0)") }
        _ = await TestClients.blocking { child.wait() + flood.wait() }
        await server.shutdown()

        #expect(accepted.count == 2, "the server's side of both connections, found in /proc/self/fd")
        #expect(flags.allSatisfy { $0 >= 0 && $0 & FD_CLOEXEC != 0 }, "F_GETFD flags: \(flags)")
        #expect(inodes.count == 2 && inodes.allSatisfy { $0.hasPrefix("socket:[") })
        #expect(Set(inherited).isDisjoint(with: inodes), "the child holds \(inherited)")
    }

    /// Descriptors of this process that are TCP connections accepted on `port` (bound to it, with a peer).
    static func acceptedSockets(port: Int) -> [CInt] {
        openDescriptors(of: getpid()).filter { fd in
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard bound == 0, address.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: address.sin_port)) == port
            else { return false }
            var peer = sockaddr_in()
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            } == 0
        }
    }

    static func openDescriptors(of pid: pid_t) -> [CInt] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return entries.compactMap { CInt($0) }
    }

    static func link(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }
}
