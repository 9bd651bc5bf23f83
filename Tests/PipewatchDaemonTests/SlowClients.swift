import Foundation

/// Clients that take their time, in Python on 127.0.0.1, each bounded: they stop by themselves after `duration`
/// seconds and report what the server did as one JSON line.
enum SlowClients {
    /// What one slow client saw: when the server closed the connection (seconds after the moment its mode
    /// measures from), or nil if it was still open at the end, and what the server sent.
    struct Outcome: Decodable {
        var closedAfter: Double?
        var received: String

        enum CodingKeys: String, CodingKey {
            case closedAfter = "closed_after"
            case received
        }
    }

    enum Mode: String {
        /// Sends a request line, then one header line every `interval` and never ends the head; measured from the
        /// first byte.
        case head
        /// Sends a whole head announcing 1000 bytes of body, then one body byte every `interval`; measured from the
        /// end of the head.
        case body
        /// Connects and sends nothing; measured from the connection.
        case silent
        /// One whole GET, then nothing; measured from the end of the response.
        case keepAlive = "keepalive"
        /// One whole GET; `received` is the response.
        case request
    }

    /// Runs one client for at most `duration` seconds.
    static func run(
        _ mode: Mode, port: Int, path: String, interval: Double = 0.2, duration: Double
    ) async throws -> Outcome {
        let directory = try TemporaryDirectory()
        let script = try directory.write("client.py", oneClient)
        let output = try await TestClients.run(
            "python3", [script, mode.rawValue, String(port), path, String(interval), String(duration)],
            timeout: duration + 30)
        guard output.status == 0 else { throw TestClients.ClientError.failed("client.py: \(output.stderr)") }
        return try JSONDecoder().decode(Outcome.self, from: Data(output.stdout.utf8))
    }

    static let oneClient = #"""
        import json, socket, sys, time
        mode, port, path, interval, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        start = time.monotonic()
        received = b""

        def pump(until):
            """Reads what the server sends until `until`; True once the server closed the connection."""
            global received
            while True:
                left = until - time.monotonic()
                if left <= 0:
                    return False
                s.settimeout(left)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    return False
                except OSError:
                    return True
                if not data:
                    return True
                received += data

        def response_complete():
            head, sep, body = received.partition(b"\r\n\r\n")
            if not sep:
                return False
            length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            return len(body) >= (length[0] if length else 0)

        def trickle(piece, mark):
            while time.monotonic() - start < duration:
                if pump(time.monotonic() + interval):
                    return time.monotonic() - mark
                try:
                    s.sendall(piece)
                except OSError:
                    return time.monotonic() - mark
            return None

        closed = None
        if mode == "head":
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            closed = trickle(b"X-Slow: 1\r\n", start)
        elif mode == "body":
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".encode())
            closed = trickle(b"x", time.monotonic())
        elif mode == "silent":
            if pump(start + duration):
                closed = time.monotonic() - start
        elif mode in ("keepalive", "request"):
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            while not response_complete() and time.monotonic() - start < duration:
                if pump(time.monotonic() + 0.05):
                    break
            mark = time.monotonic()
            if mode == "keepalive" and pump(start + duration):
                closed = time.monotonic() - mark
        print(json.dumps({"closed_after": closed, "received": received.decode("latin-1")}))
        """#

    /// What a flood of slow clients saw.
    struct Flood: Decodable {
        /// Connections that failed while connecting or sending the request line.
        var failed: Int
        /// Seconds after opening at which the server closed each of the others, in order.
        var closed: [Double]
        /// Connections still open when the flood ended.
        var open: Int
    }

    /// `count` connections to `port` that each send a request line, then one header line every `interval`,
    /// for `duration` seconds; the report is written to `report` when the flood ends.
    static let flood = #"""
        import json, selectors, socket, sys, time
        port, count, interval, duration, path, report = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
        start = time.monotonic()
        selector = selectors.DefaultSelector()
        opened, failed, closed = {}, 0, []
        for _ in range(count):
            s = socket.socket()
            s.settimeout(5)
            began = time.monotonic()
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            except OSError:
                failed += 1
                s.close()
                continue
            s.setblocking(False)
            opened[s] = began
            selector.register(s, selectors.EVENT_READ)
        next_line = time.monotonic() + interval
        while opened and time.monotonic() - start < duration:
            for key, _ in selector.select(timeout=max(0, min(next_line - time.monotonic(), 0.2))):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed.append(round(time.monotonic() - opened.pop(s), 3))
                    selector.unregister(s)
                    s.close()
            if time.monotonic() >= next_line:
                next_line += interval
                for s in list(opened):
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
        with open(report, "w") as f:
            json.dump({"failed": failed, "closed": sorted(closed), "open": len(opened)}, f)
        """#

    /// Starts a flood in the background; read its report with `directory.read("flood.json")` once it exited.
    static func startFlood(
        port: Int, count: Int, interval: Double, duration: Double, path: String = "/mlflow",
        directory: TemporaryDirectory
    ) throws -> ChildProcess {
        let script = try directory.write("flood.py", flood)
        return try ChildProcess("python3", [
            script, String(port), String(count), String(interval), String(duration), path, directory.path("flood.json"),
        ], stderr: directory.path("flood.err"))
    }
}
