import Foundation
import PipewatchTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// the browser reads commands on fd 3 and writes answers and events on fd 4, one JSON message per NUL), so a test
/// sees every request a page makes (`Network.requestWillBeSent`), every console message and exception, and the DOM.
final class HeadlessChromium {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What loading one page came to.
    struct PageLoad {
        /// Every URL the page requested, the document itself included.
        var requests: [String]
        /// Console errors, uncaught exceptions and the browser's own error entries (a refused load, a CSP violation).
        var errors: [String]
        /// The DOM after the load, as HTML.
        var dom: String
    }

    static let executable = "chromium"
    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private var pending: [UInt8] = []
    private var nextID = 0
    private var events: [[String: Any]] = []
    let profile: TemporaryDirectory

    init() throws {
        profile = try TemporaryDirectory()
        // Pipes moved above fd 10 and made close-on-exec: the child gets them as 3 and 4 through dup2, nothing else.
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else {
            throw Failure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        func high(_ fd: Int32) -> Int32 {
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
            close(fd)
            return moved
        }
        let (childIn, parentOut) = (high(toBrowser[0]), high(toBrowser[1]))
        let (parentIn, childOut) = (high(fromBrowser[0]), high(fromBrowser[1]))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, profile.path("stdout.log"), O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, profile.path("stderr.log"), O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        let arguments = [
            Self.executable, "--headless=new", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe",
            "--user-data-dir=\(profile.path("profile"))", "--enable-logging=stderr", "--v=0", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-default-apps", "--disable-dev-shm-usage", "about:blank",
        ]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child = pid_t()
        let result = posix_spawnp(&child, Self.executable, &actions, nil, argv, envp)
        close(childIn)
        close(childOut)
        guard result == 0 else {
            close(parentOut)
            close(parentIn)
            throw Failure(description: "cannot start \(Self.executable): \(String(cString: strerror(result)))")
        }
        pid = child
        commands = parentOut
        answers = parentIn
    }

    deinit {
        close(commands)
        close(answers)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Whether `chromium` is installed (the Makefile's test dependencies install it).
    static var isInstalled: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(executable)")
        }
    }

    /// Sends a command and returns its result, keeping the events that arrive meanwhile.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: Double = 60) throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "writing to the browser: \(String(cString: strerror(errno)))") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, let next = try receive(timeout: remaining) else {
                throw Failure(description: "no answer to \(method) within \(timeout) s; browser log:\n\(log.suffix(4000))")
            }
            if next["id"] as? Int == id {
                if let error = next["error"] { throw Failure(description: "\(method): \(error)") }
                return next["result"] as? [String: Any] ?? [:]
            }
            if next["method"] != nil { events.append(next) }
        }
    }

    /// Loads `url` in a new tab and waits for its load event and then `settle` seconds for late requests.
    func load(_ url: String, settle: Double = 1) throws -> PageLoad {
        let target = try send("Target.createTarget", ["url": "about:blank"])["targetId"] as? String ?? ""
        let session = try send("Target.attachToTarget", ["targetId": target, "flatten": true])["sessionId"] as? String ?? ""
        for domain in ["Network", "Log", "Runtime", "Page"] { try send("\(domain).enable", session: session) }
        events.removeAll()
        try send("Page.navigate", ["url": url], session: session)
        let deadline = Date().addingTimeInterval(60)
        while !events.contains(where: { $0["method"] as? String == "Page.loadEventFired" && $0["sessionId"] as? String == session }) {
            guard deadline.timeIntervalSinceNow > 0 else { throw Failure(description: "\(url) did not finish loading") }
            if let next = try receive(timeout: deadline.timeIntervalSinceNow), next["method"] != nil { events.append(next) }
        }
        let settled = Date().addingTimeInterval(settle)
        while settled.timeIntervalSinceNow > 0 {
            if let next = try receive(timeout: settled.timeIntervalSinceNow), next["method"] != nil { events.append(next) }
        }
        let evaluated = try send(
            "Runtime.evaluate", ["expression": "document.documentElement.outerHTML", "returnByValue": true], session: session)
        let dom = (evaluated["result"] as? [String: Any])?["value"] as? String ?? ""
        var requests: [String] = []
        var errors: [String] = []
        for event in events where event["sessionId"] as? String == session {
            let params = event["params"] as? [String: Any] ?? [:]
            switch event["method"] as? String {
            case "Network.requestWillBeSent":
                requests.append((params["request"] as? [String: Any])?["url"] as? String ?? "?")
            case "Network.webSocketCreated":
                requests.append(params["url"] as? String ?? "?")
            case "Runtime.consoleAPICalled" where ["error", "assert"].contains(params["type"] as? String ?? ""):
                errors.append("console: \(params["args"] ?? "")")
            case "Runtime.exceptionThrown":
                errors.append("exception: \(params["exceptionDetails"] ?? "")")
            case "Log.entryAdded":
                let entry = params["entry"] as? [String: Any] ?? [:]
                if entry["level"] as? String == "error" { errors.append("log: \(entry["text"] ?? "") \(entry["url"] ?? "")") }
            default:
                break
            }
        }
        try send("Target.closeTarget", ["targetId": target])
        return PageLoad(requests: requests, errors: errors, dom: dom)
    }

    /// The browser's own log (stderr, with `--enable-logging=stderr`).
    var log: String { profile.read("stderr.log") }

    /// The next message, or nil when none came within `timeout` seconds.
    private func receive(timeout: Double) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeSubrange(...end)
                return try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var poller = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "the browser closed its pipe; log:\n\(log.suffix(4000))") }
            pending += chunk[..<n]
        }
    }
}
