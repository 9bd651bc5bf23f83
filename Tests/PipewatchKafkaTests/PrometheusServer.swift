import Foundation
import Testing

/// A real Prometheus server (Debian's `prometheus`) for one test: on a free 127.0.0.1 port, its storage in a
/// temporary directory, scraping one target every second as job `pipewatch` (the job name deploy/README.md gives)
/// and evaluating `rules` every second. Queried over its HTTP API with curl.
final class PrometheusServer {
    struct StartError: Error, CustomStringConvertible { var description: String }

    let port: UInt16
    private let dir: TemporaryDirectory
    private let process: ChildProcess

    init(scraping target: Int, rules: String) throws {
        dir = try TemporaryDirectory()
        port = try Loopback.freePort()
        let config = try dir.write("prometheus.yml", """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: ["\(rules)"]
            scrape_configs:
              - job_name: pipewatch
                static_configs: [{targets: ["127.0.0.1:\(target)"]}]
            """)
        process = try ChildProcess("prometheus", [
            "--config.file=\(config)", "--storage.tsdb.path=\(dir.path("data"))",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], stdout: dir.path("log"), stderr: dir.path("log"))
        guard Loopback.waitUntilAccepting(port, seconds: 30, while: { process.isRunning }) else {
            process.terminate(timeout: 5)
            throw StartError(description: "prometheus did not start: \(dir.read("log"))")
        }
    }

    var log: String { dir.read("log") }

    func stop() { process.terminate(timeout: 10) }

    /// GET /api/v1/`path` with form parameters; its `data`.
    private func api(_ path: String, _ parameters: [(String, String)] = []) throws -> Any {
        let out = try TemporaryDirectory()
        let curl = try ChildProcess(
            "curl", ["-sS", "-G", "-o", out.path("body"), "http://127.0.0.1:\(port)/api/v1/\(path)"]
                + parameters.flatMap { ["--data-urlencode", "\($0.0)=\($0.1)"] },
            stderr: out.path("err"))
        guard curl.wait(seconds: 30) == 0,
            let answer = try JSONSerialization.jsonObject(with: Data(out.read("body").utf8)) as? [String: Any],
            answer["status"] as? String == "success", let data = answer["data"]
        else { throw StartError(description: "\(path) \(parameters): \(out.read("body")) \(out.read("err"))") }
        return data
    }

    struct Sample: CustomStringConvertible {
        var labels: [String: String]
        var value: Double
        var description: String { "\(labels) \(value)" }
    }

    /// An instant query's samples (an error, such as a syntax error, throws).
    func query(_ expression: String) throws -> [Sample] {
        let data = try #require(try api("query", [("query", expression)]) as? [String: Any])
        let result = data["result"] as? [[String: Any]] ?? []
        return result.map { item in
            let value = (item["value"] as? [Any])?.last as? String
            return Sample(labels: item["metric"] as? [String: String] ?? [:], value: value.flatMap(Double.init) ?? .nan)
        }
    }

    /// Polls `condition` every 500 ms for at most `seconds`. An error before the deadline (Prometheus still
    /// starting, its API not answering JSON yet) counts as not yet; at the deadline it is thrown.
    func waitFor(seconds: Double, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return true }
            usleep(500_000)
        }
        return try condition()
    }

    struct Rule {
        var name: String
        var query: String
        var health: String
        var lastError: String
        var evaluated: Bool
    }

    /// The alerting rules as Prometheus loaded them: each with its expression as Prometheus prints it.
    func rules() throws -> [Rule] {
        let data = try #require(try api("rules", [("type", "alert")]) as? [String: Any])
        return (data["groups"] as? [[String: Any]] ?? []).flatMap { $0["rules"] as? [[String: Any]] ?? [] }.map { rule in
            Rule(name: rule["name"] as? String ?? "", query: rule["query"] as? String ?? "",
                 health: rule["health"] as? String ?? "", lastError: rule["lastError"] as? String ?? "",
                 evaluated: (rule["lastEvaluation"] as? String).map { !$0.hasPrefix("0001-") } ?? false)
        }
    }

    /// The rules once every one of them has been evaluated; nil if not within `seconds`.
    func waitForRules(seconds: Double) throws -> [Rule]? {
        var rules: [Rule] = []
        let done = try waitFor(seconds: seconds) {
            rules = try self.rules()
            return !rules.isEmpty && rules.allSatisfy(\.evaluated)
        }
        return done ? rules : nil
    }

    struct Alert: CustomStringConvertible {
        var name: String
        var state: String
        var labels: [String: String]
        var description: String { "\(name) \(state) \(labels)" }
    }

    /// Alerts pending (within their `for:`) or firing.
    func activeAlerts() throws -> [Alert] {
        let data = try #require(try api("alerts") as? [String: Any])
        return (data["alerts"] as? [[String: Any]] ?? []).map { alert in
            let labels = alert["labels"] as? [String: String] ?? [:]
            return Alert(name: labels["alertname"] ?? "", state: alert["state"] as? String ?? "", labels: labels)
        }
    }
}
